"""`darkreach run` stopped from outside: SIGTERM ends it within seconds with nothing new started; a run whose
process was killed (-9) is marked failed by the next command instead of showing as running forever."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import REPO, toml_text
from test_cli import darkreach, env_for, explain

# Blocks of several seconds of tests each (~120 survivors of ~12,000 bits), so that the signal lands mid-block.
SLOW = {"name": "slow", "form": "kbn", "k": 3, "b": 2, "c": 1, "n_min": 12000, "n_max": 13999,
        "block_size": 1000, "sieve_depth": 100000}


def start_run(home: Path, tmp_path: Path) -> subprocess.Popen:
    campaign = tmp_path / "slow.toml"
    campaign.write_text(toml_text(SLOW))
    return subprocess.Popen([sys.executable, "-m", "darkreach_pipeline.cli", "run", str(campaign), "--workers", "1"],
                            env=env_for(home), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def wait_until_testing(home: Path, proc: subprocess.Popen, tests: int = 2, timeout: float = 240) -> None:
    """Until the first block has finished `tests` tests (its progress file says so)."""
    progress = home / "progress" / "slow__000000.json"
    deadline = time.time() + timeout
    while True:
        assert proc.poll() is None, "darkreach run ended early:\n" + proc.communicate()[1][-3000:]
        assert time.time() < deadline, "the first block never reached its tests"
        try:
            state = json.loads(progress.read_text())
            if state["stage"] == "test" and state["done"] >= tests:
                return
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            pass
        time.sleep(0.1)


def runs_of(home: Path) -> list:
    from dagster import DagsterInstance

    instance = DagsterInstance.from_config(str(home / "dagster"))
    try:
        return instance.get_runs()
    finally:
        instance.dispose()


def test_sigterm_checkpoints_and_exits_within_5_s_starting_nothing_new(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    proc = start_run(home, tmp_path)
    wait_until_testing(home, proc)
    proc.send_signal(signal.SIGTERM)
    start = time.monotonic()
    out, err = proc.communicate(timeout=60)
    took = time.monotonic() - start
    assert proc.returncode != 0, out + err[-3000:]
    assert "interrupted: running blocks saved checkpoints and no new block was started" in err
    assert took < 5, f"exit {took:.1f} s after SIGTERM"
    assert (home / "checkpoints" / "slow__000000.ckpt").is_file()
    runs = runs_of(home)
    assert len(runs) == 1, [r.tags for r in runs]  # block 1 was never started
    assert runs[0].status.value == "FAILURE"


def test_a_killed_run_shows_as_failed_not_running(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    proc = start_run(home, tmp_path)
    wait_until_testing(home, proc)
    os.killpg(proc.pid, signal.SIGKILL)  # the command and its worker, as an OOM killer or kill -9 -PGID would
    proc.communicate(timeout=60)
    assert [r.status.value for r in runs_of(home)] == ["STARTED"]  # what the killed run left behind
    status = darkreach(home, "status", "slow")
    assert status.returncode == 0, explain(status)
    assert "0 running" in status.stdout and "1 failed" in status.stdout, status.stdout
    assert "  running     slow/000000" not in status.stdout  # no frozen "running ... ETA" line
    assert [r.status.value for r in runs_of(home)] == ["FAILURE"]
