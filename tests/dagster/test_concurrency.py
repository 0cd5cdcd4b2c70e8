"""Two commands at once on one DARKREACH_HOME: set-up under a lock, blocks claimed, temp files per writer."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
from conftest import PROTH, REPO, toml_text
from test_cli import env_for

from resources.run_tags import blocks_of_run

TRIES = 10

# Sets up the instance and the registry in each of the homes given, in step with a second copy of itself:
# before each home both processes check in and wait for each other, so every home is a real race.
RACER = """
import os, sys, time
from pathlib import Path
from darkreach_pipeline import cli
for home in map(Path, sys.argv[1:]):
    (home / f"ready.{os.getpid()}").touch()
    while len(list(home.glob("ready.*"))) < 2:
        time.sleep(0.001)
    os.environ["DARKREACH_HOME"] = str(home)
    os.environ.pop("DAGSTER_HOME", None)
    cli._instance().dispose()
print("set up", len(sys.argv) - 1, "homes")
"""


def test_first_commands_racing_on_new_homes_never_break_the_instance(tmp_path):
    from dagster import DagsterInstance

    homes = [tmp_path / f"home{i}" for i in range(TRIES)]
    for home in homes:
        home.mkdir()
    env = env_for(tmp_path)
    racers = [subprocess.Popen([sys.executable, "-c", RACER, *map(str, homes)], env=env, cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for racer in racers:
        out, err = racer.communicate(timeout=300)
        assert racer.returncode == 0, f"exit {racer.returncode}\n{out}\n{err[-3000:]}"
    for home in homes:  # a later command opens every instance (a broken one fails here, for good)
        instance = DagsterInstance.from_config(str(home / "dagster"))
        try:
            assert instance.get_runs() == [] and instance.get_dynamic_partitions("campaign_blocks") == []
        finally:
            instance.dispose()


WRITER = """
import sys
import pandas as pd
from dagster import build_output_context
from upath import UPath
from resources.parquet_io import PandasParquetIOManager
folder, first = sys.argv[1], int(sys.argv[2])
path = UPath(folder) / "block.parquet"
frame = pd.DataFrame({"n": range(first, first + 200_000)})
while not (UPath(folder) / "go").exists():
    pass
for _ in range(30):
    PandasParquetIOManager(base_path=UPath(folder)).dump_to_path(build_output_context(), frame, path)
"""


def test_writers_of_one_block_never_share_a_temp_file(tmp_path):
    """Two processes writing the same block file at once (two commands on one home): each writes a temp file
    of its own and renames it into place, so both succeed and the file is always a whole one."""
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), str(first)], cwd=REPO,
                                env=env_for(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for first in (0, 1)]
    (tmp_path / "go").touch()
    for writer in writers:
        out, _ = writer.communicate(timeout=300)
        assert writer.returncode == 0, out[-3000:]
    assert pd.read_parquet(tmp_path / "block.parquet")["n"].iloc[0] in (0, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["block.parquet", "go"]  # no temp file left behind


def test_two_runs_at_once_on_a_new_home_run_every_block_once(tmp_path, pari_primes):
    """The issue's drill on a small campaign: two `darkreach run` of one file started together on a new home.
    Both finish with every prime; each block is run by one of them only (the other waits for it)."""
    from dagster import DagsterInstance

    from darkreach_pipeline.campaign import parse_campaign

    home = tmp_path / "home"
    home.mkdir()
    campaign = tmp_path / "proth.toml"
    campaign.write_text(toml_text(PROTH))
    argv = [sys.executable, "-m", "darkreach_pipeline.cli", "run", str(campaign), "--workers", "1"]
    procs = [subprocess.Popen(argv, env=env_for(home), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outputs = [proc.communicate(timeout=300) for proc in procs]
    expected = pari_primes(3, 2, 1, 1, 120)
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, f"exit {proc.returncode}\n{out}\n{err[-3000:]}"
        assert f"{len(expected)} primes in 'proth': {len(expected)} proven" in out
    instance = DagsterInstance.from_config(str(home / "dagster"))
    try:
        runs = [r for r in instance.get_runs() if r.job_name == "campaign_job"]
        order = instance.get_dynamic_partitions("campaign_blocks")
    finally:
        instance.dispose()
    blocks = sorted(key for r in runs for key in blocks_of_run(r.tags, order))  # runs of 1 or more blocks
    assert blocks == parse_campaign(PROTH).partition_keys(), blocks  # every block once: none run twice
    assert {r.status.value for r in runs} == {"SUCCESS"}
    ran_here = sum(err.count(": done in") for _, err in outputs)
    assert ran_here == 3, [err for _, err in outputs]
