"""Once for real under a running daemon: a dropped campaign file is registered and run, and the
verification sensor then checks every block of the (new, untrusted) worker: by a double-check run, or by a
proof-check run that verifies the block's Pietrzak proofs (never inside the sensor's tick)."""

import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import stop_group, toml_text

ROOT = Path(__file__).resolve().parents[2]
# two blocks, named so that block 0 is in the 1-in-10 sample (double-checked whatever its proofs) and block 1,
# whose numbers above 2^64 carry proofs, is not (its proofs are checked in a proof_check_job run)
TINY = {"name": "tiny6", "form": "kbn", "k": 3, "b": 2, "c": -1, "n_min": 1, "n_max": 90, "block_size": 45,
        "sieve_depth": 1000}
WRAP = "import os,signal,sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])"


def test_sensors_register_run_and_double_check_under_the_daemon(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / "campaigns").mkdir(parents=True)
    monkeypatch.setenv("DARKREACH_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    for name in ("DARKREACH_DATA", "DARKREACH_REGISTRY_URL", "DARKREACH_CHECKPOINTS"):
        monkeypatch.delenv(name, raising=False)
    from dagster import AssetKey, DagsterInstance

    from darkreach_pipeline import settings
    from darkreach_pipeline.stores.reliability import open_reliability_store
    from resources.instance_config import ensure_dagster_home

    ensure_dagster_home()
    # The instance's SQLite storages are created here, before the daemon starts: Dagster creates the run and
    # schedule tables without a guard against a second process, so two processes opening a new home at once both
    # see no tables and the loser's CREATE TABLE fails ("table ... already exists"), killing the daemon at start-up
    # (or this test, whichever loses).
    instance = DagsterInstance.get()
    env = dict(os.environ)
    (home / "campaigns" / "tiny.toml").write_text(toml_text(TINY))
    log = tmp_path / "daemon.log"
    with log.open("w") as out:
        daemon = subprocess.Popen(
            [sys.executable, "-c", WRAP, str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w",
             str(ROOT / "workspace.yaml")],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        keys = {"tiny6/000000", "tiny6/000001"}
        deadline = time.time() + 420
        while True:
            certified = instance.get_materialized_partitions(AssetKey("certificates"))
            # each block double-checked, or accepted by its verified Pietrzak proofs (recorded as a validation)
            checked = instance.get_materialized_partitions(AssetKey("double_checks"))
            checked |= open_reliability_store(settings.registry_url()).checked_blocks()
            finished = all(r.is_finished for r in instance.get_runs())
            if keys <= certified and keys <= checked and finished:
                break
            assert daemon.poll() is None, f"the daemon died:\n{log.read_text()[-3000:]}"
            assert time.time() < deadline, f"not done in time: certified {certified}, double-checked {checked}"
            time.sleep(1)
        runs = instance.get_runs()
        assert {r.tags.get("dagster/sensor_name") for r in runs} >= {"campaign_files_sensor", "verification_sensor"}
        checks = {r.job_name: r.tags.get("dagster/partition") for r in runs if r.job_name.endswith("check_job")}
        assert checks == {"double_check_job": "tiny6/000000", "proof_check_job": "tiny6/000001"}
        proof_run = next(r for r in runs if r.job_name == "proof_check_job")
        assert proof_run.tags.get("darkreach/campaign") == "tiny6"  # limited by the run coordinator like blocks
        assert all(r.status.value == "SUCCESS" for r in runs), [(r.job_name, r.status) for r in runs]
    finally:
        stop_group(daemon)
