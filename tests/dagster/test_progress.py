"""Progress: a block's tested/total and ETA (tracker, log lines, metadata), the campaign summary from known
inputs, the campaign_progress asset, and `darkreach status` after a `darkreach run` with blocks_per_run = 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import PROTH, data_env_names, toml_text
from dagster import AssetKey, DagsterInstance, materialize

from assets.instance_queries import block_order
from darkreach_pipeline import settings
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.campaign_status import (
    BlockTracker,
    RunInfo,
    block_states,
    campaign_progress,
    campaigns_table,
    format_seconds,
)
from darkreach_pipeline.forms import form_for
from darkreach_pipeline.stores.registry import open_registry
from resources.run_tags import blocks_of_run, partition_tags

FOUR = {**PROTH, "n_max": 160}  # 4 blocks of 40
K = [f"proth/{i:06d}" for i in range(4)]


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# ----- one block -------------------------------------------------------------------------------------------------


def test_tracker_logs_tested_total_rate_and_eta_at_the_interval_and_at_the_end():
    clock = Clock()
    tracker = BlockTracker("proth/000001", log_every=10, clock=clock)
    lines = []
    for t, done in [(0, 0), (5, 10), (9.9, 19), (10, 20), (15, 30), (20, 40), (40, 80), (50, 100)]:
        clock.now = t
        lines.append(tracker.update("test", done, 100))
    assert lines[:3] == [None, None, None]
    assert lines[3] == "proth/000001: tested 20/100 (20%), 2.00/s, ETA 40 s"
    assert lines[4] is None
    assert lines[5] == "proth/000001: tested 40/100 (40%), 2.00/s, ETA 30 s"
    assert lines[6] == "proth/000001: tested 80/100 (80%), 2.00/s, ETA 10 s"
    assert lines[7] == "proth/000001: tested 100/100 (100%) in 50 s, 2.00/s"
    assert [s["done"] for s in tracker.snapshots] == [20, 40, 80, 100]
    assert [s["eta_s"] for s in tracker.snapshots] == [40.0, 30.0, 10.0, 0.0]


def test_rows_replayed_from_a_checkpoint_do_not_inflate_the_rate():
    clock = Clock()
    tracker = BlockTracker("b", log_every=10, clock=clock)
    for i in range(51):  # 50 rows restored within a millisecond each
        clock.now = i * 0.0001
        tracker.update("test", i, 100)
    start = clock.now
    clock.now = start + 5
    tracker.update("test", 60, 100)
    clock.now = start + 10
    assert tracker.update("test", 70, 100) == "b: tested 70/100 (70%), 2.00/s, ETA 15 s"


def test_tracker_without_measured_work_has_no_eta_and_a_new_stage_restarts():
    clock = Clock()
    tracker = BlockTracker("b", log_every=0, clock=clock)
    assert tracker.update("sieve", 0, 10) == "b: sieve 0/10 (0%), rate unknown, ETA unknown"
    clock.now = 4
    tracker.update("sieve", 10, 10)
    clock.now = 5
    assert tracker.update("test", 0, 4) == "b: tested 0/4 (0%), rate unknown, ETA unknown"
    assert tracker.state()["stage"] == "test" and tracker.state()["eta_seconds"] is None


@pytest.mark.parametrize("seconds, text", [(None, "unknown"), (0, "0 s"), (59.4, "59 s"), (61, "1 min 1 s"),
                                           (7260, "2 h 1 min"), (90000, "1 d 1 h")])
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text


# ----- a campaign, from known inputs ---------------------------------------------------------------------------


def test_block_states():
    runs = [RunInfo((K[0], K[1]), "SUCCESS", created=1), RunInfo((K[2],), "FAILURE", created=2),
            RunInfo((K[3],), "FAILURE", created=3), RunInfo((K[3],), "QUEUED", created=4)]
    # K[1]: its run succeeded but certificates are not materialised (e.g. wiped): not done
    assert block_states(K, runs, {K[0]}) == {K[0]: "done", K[1]: "not_started", K[2]: "failed", K[3]: "queued"}
    retried = [*runs, RunInfo((K[2],), "STARTED", created=5)]
    assert block_states(K, retried, {K[0], K[1]})[K[2]] == "running"
    assert block_states(K, [], set()) == dict.fromkeys(K, "not_started")


def test_campaign_summary_from_known_inputs():
    """Tests costing exactly 1e-3 * bits^2 s, 16 survivors in the 80 candidates of the two finished blocks, their
    runs 45 s long in all (40 s of wall time: two overlapped): the ETA is what the two unfinished blocks' 8
    expected survivors each cost at their sizes, plus the measured overhead per block, at the measured overlap."""
    spec = parse_campaign(FOUR)
    form = form_for(spec)
    runs = [RunInfo((K[0], K[1]), "SUCCESS", created=100, start=100, end=130),  # a run of two blocks
            RunInfo((K[2],), "FAILURE", created=120, start=120, end=125),
            RunInfo((K[3],), "STARTED", created=140, start=140),
            RunInfo((K[0],), "SUCCESS", created=125, start=125, end=140)]  # overlaps: busy = 100..140
    # 8 tests at n = 20 and 8 at n = 60 (the blocks' sizes fix the exponent: 2); the last two: block 2, which failed
    tested = [20] * 8 + [60] * 8 + [81, 91]
    results = pd.DataFrame({"block": [(n - 1) // 40 for n in tested], "n": tested,
                            "seconds": [1e-3 * form.bits(n) ** 2 for n in tested]})
    certs = pd.DataFrame({"n": [2, 6, 18, 30], "digits": [2, 3, 7, 11], "expression": ["a", "b", "c", "d"],
                          "status": ["proven", "proven", "proven", "prp"]})
    running = {K[3]: {"key": K[3], "stage": "test", "done": 3, "total": 9, "eta_seconds": 12.0}}
    summary = campaign_progress(spec, runs, {K[0], K[1], K[2]}, results, certs, running)

    done_tests = float(results["seconds"][:16].sum())
    overhead = (45 - done_tests) / 2
    def block_cost(lo: int, hi: int) -> float:  # 8 survivors (16 in 80) at the block's mean cost per test
        return overhead + 8 * sum(1e-3 * form.bits(n) ** 2 for n in range(lo, hi)) / (hi - lo)
    remaining = block_cost(81, 121) + block_cost(121, 161)
    eta = remaining * 40 / 45
    assert summary.remaining_seconds == pytest.approx(remaining, rel=0.01)
    assert summary.eta_seconds == pytest.approx(eta, rel=0.01)
    done_work = block_cost(1, 41) + block_cost(41, 81)
    assert summary.done_percent == pytest.approx(100 * done_work / (done_work + remaining), rel=0.01)
    assert summary.states == {K[0]: "done", K[1]: "done", K[2]: "failed", K[3]: "running"}
    row = summary.as_dict()
    assert row == {
        "campaign": "proth", "blocks": 4, "blocks_done": 2, "blocks_running": 1, "blocks_queued": 0,
        "blocks_damaged": 0, "blocks_failed": 1, "blocks_not_started": 0, "candidates": 160, "tested": 18,
        "primes": 4, "proven": 3, "probable": 1, "engine_seconds": round(float(results["seconds"].sum()), 3),
        "busy_seconds": 40.0, "tests_per_second": 0.4, "eta_seconds": round(summary.eta_seconds, 1),
        "done_percent": round(summary.done_percent, 1)}
    assert summary.lines() == [
        "proth: 2/4 blocks finished, 4 primes/PRPs",
        "  blocks      2 done, 1 running, 0 queued, 1 failed, 0 not started",
        "  tested      18 of 160 candidates (the rest removed by the sieve or excluded, or not reached yet); "
        "3 proven, 1 probable primes",
        f"  throughput  0.40 tests/s over 40 s of runs ({row['engine_seconds']:,.1f} s of test time)",
        f"  ETA         {format_seconds(summary.eta_seconds)} for 2 blocks at this pace "
        f"({summary.done_percent:.0f}% of the work done)",
        "  failed      proth/000002: rerun them (they resume from checkpoints)",
        "  running     proth/000003 test 3/9, ETA 12 s",
    ]
    assert summary.table_row() == {"campaign": "proth", "done": f"{summary.done_percent:.0f}%", "blocks": "2/4",
                                   "primes": "4", "rate": "0.40 tests/s", "ETA": format_seconds(summary.eta_seconds)}
    table = campaigns_table([summary])
    assert table[0].split() == ["campaign", "done", "blocks", "primes", "rate", "ETA"]
    assert table[1].split()[:4] == ["proth", f"{summary.done_percent:.0f}%", "2/4", "4"]


def test_campaign_summary_before_anything_ran_and_when_finished():
    spec = parse_campaign(FOUR)
    empty = campaign_progress(spec, [], set(), pd.DataFrame(), pd.DataFrame())
    assert empty.as_dict()["blocks_not_started"] == 4
    assert empty.tests_per_second is None and empty.eta_seconds is None
    assert "  throughput  unknown (no finished block yet)" in empty.lines()
    assert "  ETA         unknown for 4 blocks at this pace (0% of the work done)" in empty.lines()
    runs = [RunInfo(tuple(K), "SUCCESS", created=0, start=0, end=8)]
    done = campaign_progress(spec, runs, set(K), pd.DataFrame({"block": [0, 1, 2, 3], "n": [1, 41, 81, 121],
                                                               "seconds": [1.0] * 4}), pd.DataFrame())
    assert done.eta_seconds == 0 and done.tests_per_second == 0.5
    assert done.lines()[0] == "proth: 4/4 blocks finished, 0 primes/PRPs" and "  ETA         finished" in done.lines()
    assert done.done_percent == 100.0 and done.table_row()["ETA"] == "finished"


# ----- the asset ------------------------------------------------------------------------------------------------


def test_campaign_progress_asset(darkreach_home):
    from assets.block_stages import candidate_ranges, certificates, p_minus_1, prp_results, sieve_survivors
    from assets.campaign_progress import campaign_progress as progress_asset
    from assets.checks import CAMPAIGN_CHECKS
    from darkreach_pipeline.definitions import build_resources
    from darkreach_pipeline.stores.results import read_stage

    spec = parse_campaign(FOUR)
    open_registry(settings.registry_url()).register(spec)
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("campaign_blocks", K)
    resources = build_resources()
    assets = [candidate_ranges, sieve_survivors, p_minus_1, prp_results, certificates]
    assert materialize([*assets, *CAMPAIGN_CHECKS], instance=instance, resources=resources,
                       tags=partition_tags(K[:2])).success
    assert materialize([*assets, *CAMPAIGN_CHECKS], instance=instance, resources=resources, partition_key=K[2]).success
    result = materialize([*assets, progress_asset], selection=[progress_asset], instance=instance, resources=resources)
    assert result.success
    frame = result.output_for_node("campaign_progress")
    row = frame.set_index("campaign").loc["proth"]
    tested = read_stage(settings.data_path(), "prp_results", campaign="proth")
    certs = read_stage(settings.data_path(), "certificates", campaign="proth")
    assert (row["blocks_done"], row["blocks_not_started"], row["blocks_failed"]) == (3, 1, 0)
    assert row["tested"] == len(tested) and row["primes"] == len(certs) == row["proven"]
    assert row["tests_per_second"] > 0 and row["eta_seconds"] > 0
    meta = result.asset_materializations_for_node("campaign_progress")[0].metadata
    assert meta["blocks_done"].value == 3 and meta["proth_done_percent"].value == 75.0
    assert "proth: 3/4 blocks finished" in meta["summary"].value
    table = meta["campaigns_table"].value
    assert [c.name for c in table.schema.columns] == ["campaign", "done", "blocks", "primes", "rate", "ETA"]
    assert [(r.data["campaign"], r.data["blocks"]) for r in table.records] == [("proth", "3/4")]
    assert instance.get_latest_materialization_event(AssetKey("campaign_progress")) is not None
    instance.dispose()


# ----- the command line -----------------------------------------------------------------------------------------


def _darkreach(home: Path, *args: str) -> subprocess.CompletedProcess:
    import os

    env = {k: v for k, v in os.environ.items() if k not in set(data_env_names())}
    env.update(DARKREACH_HOME=str(home), PYTHONUNBUFFERED="1")
    return subprocess.run([sys.executable, "-m", "darkreach_pipeline.cli", *args], env=env, cwd=home,
                          capture_output=True, text=True, timeout=300)


def test_run_with_blocks_per_run_and_status(tmp_path, pari_primes):
    home = tmp_path / "home"
    home.mkdir()
    campaign = tmp_path / "proth.toml"
    campaign.write_text(toml_text({**PROTH, "blocks_per_run": 2}))
    ran = _darkreach(home, "run", str(campaign), "--workers", "2")
    assert ran.returncode == 0, ran.stdout + ran.stderr[-3000:]
    assert "3 to run on 2 workers in 2 runs of up to 2 blocks" in ran.stdout
    for key in ("proth/000000", "proth/000001", "proth/000002"):
        assert f"{key}: done" in ran.stderr

    from dagster import DagsterInstance as Instance

    instance = Instance.from_config(str(home / "dagster"))
    try:
        runs = [r for r in instance.get_runs() if r.job_name == "campaign_job"]
        covered = sorted(tuple(blocks_of_run(r.tags, block_order(instance)))
                         for r in runs)
        assert covered == [("proth/000000", "proth/000001"), ("proth/000002",)]
        assert all(r.status.value == "SUCCESS" for r in runs)
        assert instance.get_latest_materialization_event(AssetKey("campaign_progress")) is not None
    finally:
        instance.dispose()

    status = _darkreach(home, "status", "proth")
    assert status.returncode == 0, status.stderr[-3000:]
    primes = len(pari_primes(3, 2, 1, 1, 120))
    table, lines = status.stdout.split("\n\n", 1)[0].splitlines(), status.stdout.split("\n\n", 1)[1].splitlines()
    assert table[0].split() == ["campaign", "done", "blocks", "primes", "rate", "ETA"]
    assert table[1].split()[:4] == ["proth", "100%", "3/3", str(primes)] and table[1].endswith("finished")
    assert lines[0] == f"proth: 3/3 blocks finished, {primes} primes/PRPs"
    assert lines[1] == "  blocks      3 done, 0 running, 0 queued, 0 failed, 0 not started"
    assert lines[2].startswith("  tested      ") and f"; {primes} proven, 0 probable primes" in lines[2]
    assert lines[3].startswith("  throughput  ") and "tests/s over" in lines[3]
    assert lines[4] == "  ETA         finished"
    again = _darkreach(home, "run", str(campaign), "--workers", "2")  # ranged runs count as finished blocks
    assert again.returncode == 0 and "3 already finished, 0 to run" in again.stdout
