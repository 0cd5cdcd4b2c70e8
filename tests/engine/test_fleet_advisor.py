"""The fleet advisor on recorded per-block/per-worker data: slow, degrading and rollback-prone workers, block
sizes that keep a campaign's overhead under 1%, and worker slots for the queue."""

from __future__ import annotations

import pandas as pd

from darkreach_pipeline.campaign_status import RunInfo
from darkreach_pipeline.stores.costs import model_seconds
from darkreach_pipeline.strategy.fleet_advisor import (
    advice_tables,
    block_size_advice,
    block_work,
    worker_advice,
    workers_needed,
)

DIGITS = 3000


def rows(worker: str, block: int, speed: float, rollbacks: int = 0, tests: int = 10) -> list[dict]:
    """`tests` rows of one block: each takes model time / speed."""
    seconds = model_seconds(DIGITS * 3.3219280948873626) / speed
    return [{"campaign": "fleet", "block": block, "worker_id": worker, "digits": DIGITS, "seconds": seconds,
             "rollbacks": rollbacks if i == 0 else 0} for i in range(tests)]


def test_worker_verdicts():
    data, finished = [], {}
    for block in range(8):
        data += rows("steady", block, 1.0)
        data += rows("tiring", 100 + block, 1.0 if block < 4 else 0.5)
        data += rows("flaky", 200 + block, 1.0, rollbacks=0 if block < 4 else 2)
        data += rows("old-box", 300 + block, 0.5)
        for b in (block, 100 + block, 200 + block, 300 + block):
            finished[f"fleet/{b:06d}"] = 1000.0 + block
    work = block_work(pd.DataFrame(data), finished)
    advice = {a.worker: a for a in worker_advice(work)}
    assert advice["steady"].verdict == "ok" and abs(advice["steady"].work_rate - 1.0) < 1e-9
    assert advice["tiring"].verdict == "degrading" and abs(advice["tiring"].trend - 0.5) < 1e-9
    assert advice["flaky"].verdict == "rollbacks rising" and advice["flaky"].rollbacks_late == 0.2
    median = (1.0 + 2 / 3) / 2  # of the rates 1, 1, 2/3 (tiring, overall), 1/2
    assert advice["old-box"].verdict == "slow" and abs(advice["old-box"].vs_fleet - 0.5 / median) < 1e-9
    assert "degrading" in advice_tables(list(advice.values()), [], 0, 24, 0.0)


def test_unfinished_blocks_are_left_out():
    work = block_work(pd.DataFrame(rows("a", 0, 1.0) + rows("a", 1, 1.0)), {"fleet/000000": 5.0})
    assert list(work["key"]) == ["fleet/000000"] and int(work["tests"].sum()) == 10


def test_block_size_keeps_overhead_under_one_percent():
    runs = [RunInfo(blocks=(f"c/{b:06d}",), status="SUCCESS", created=0, start=b * 200.0, end=b * 200.0 + 110.0)
            for b in range(5)]
    runs.append(RunInfo(blocks=("c/000009",), status="FAILURE", created=0, start=0.0, end=5.0))
    tests = {f"c/{b:06d}": 100.0 for b in range(5)}
    advice = block_size_advice("c", 100, 10_000, 10_000, 1_000_000, runs, tests)
    assert advice.blocks_measured == 5 and abs(advice.overhead_seconds - 10.0) < 1e-9
    assert abs(advice.overhead_share - 10 / 110) < 1e-9
    assert advice.recommended_block_size == 1000  # 10,000 s of tests allow 10 blocks of 10 s overhead
    assert block_size_advice("c", 100, 10_000, 10_000, 1_000_000, runs[-1:], tests) is None


def test_workers_needed():
    assert workers_needed(3 * 86400, 24) == 3
    assert workers_needed(3 * 86400 + 1, 24) == 4
    assert workers_needed(0, 24) == 0
