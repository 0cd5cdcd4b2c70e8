"""The fleet advisor, from what the pipeline already records: each test row's worker, size and seconds
(prp_results), each block's Gerbicz rollbacks, when each block finished, and each run's wall time.

- Workers: a worker's *work rate* is the model's seconds for the tests it ran (stores/costs.py model_seconds of
  each size, so sizes compare) per second it took. Slow: under 70% of the fleet median. Degrading: its later
  half of blocks (in time) runs under 80% of its earlier half's rate. Rollbacks rising: the later half has
  more rollbacks per test than the earlier half, and at least 1 in 100.
- Block size per campaign: the overhead of a block (run wall time minus the tests' seconds) against the tests'
  seconds; the block size that keeps it under 1% (cost.block_size_for with the measured overhead).
- Workers needed: the modelled test seconds of the queued blocks (scaled by the measured/model ratio when
  blocks have finished) over the fleet's target drain time, in single-core worker slots: a number a
  compose/Kubernetes autoscaler can take (`--scale worker=N`, replicas).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from darkreach_pipeline.campaign_status import RunInfo
from darkreach_pipeline.stores.costs import model_seconds
from darkreach_pipeline.strategy.cost import ORCHESTRATION_SHARE, block_size_for

SLOW_BELOW = 0.7
DEGRADING_BELOW = 0.8
ROLLBACKS_AT_LEAST = 0.01
LOG2_10 = math.log2(10)


@dataclass(frozen=True)
class WorkerAdvice:
    worker: str
    blocks: int
    tests: int
    work_rate: float  # model seconds of work per second taken
    vs_fleet: float  # work_rate / the fleet's median
    trend: float  # later half's rate / earlier half's (1 = steady)
    rollbacks_early: float  # per test
    rollbacks_late: float
    verdict: str  # ok, slow, degrading, rollbacks rising (comma-joined when several)


@dataclass(frozen=True)
class BlockSizeAdvice:
    campaign: str
    blocks_measured: int
    overhead_seconds: float  # per block: run wall minus tests
    test_seconds: float  # per block
    overhead_share: float
    block_size: int
    recommended_block_size: int


def block_work(results: pd.DataFrame, finished_at: dict[str, float]) -> pd.DataFrame:
    """Per (block, worker): finish time, tests, seconds, model work, rollbacks. `finished_at`: block key ->
    unix time its prp_results was materialised; rows of blocks without one are left out."""
    if not len(results):
        return pd.DataFrame(columns=["key", "worker", "time", "tests", "seconds", "work", "rollbacks"])
    frame = results.assign(key=[f"{c}/{int(b):06d}" for c, b in zip(results["campaign"], results["block"],
                                                                          strict=True)])
    frame = frame[frame["key"].isin(finished_at.keys())]
    frame = frame.assign(work=[model_seconds(d * LOG2_10) for d in frame["digits"]])
    grouped = frame.groupby(["key", "worker_id"], as_index=False).agg(
        tests=("seconds", "size"), seconds=("seconds", "sum"), work=("work", "sum"), rollbacks=("rollbacks", "sum"))
    grouped = grouped.rename(columns={"worker_id": "worker"})
    grouped["time"] = [finished_at[k] for k in grouped["key"]]
    return grouped.sort_values("time", ignore_index=True)


def worker_advice(work: pd.DataFrame) -> list[WorkerAdvice]:
    rates = {}
    for worker, rows in work.groupby("worker"):
        rates[worker] = rows["work"].sum() / max(rows["seconds"].sum(), 1e-9)
    if not rates:
        return []
    median = statistics.median(rates.values())
    out = []
    for worker, rows in work.groupby("worker"):
        rows = rows.sort_values("time")
        half = len(rows) // 2
        early, late = rows.iloc[:half], rows.iloc[half:]
        trend = 1.0
        if half >= 1:
            trend = (late["work"].sum() / max(late["seconds"].sum(), 1e-9)) / \
                (early["work"].sum() / max(early["seconds"].sum(), 1e-9))
        rb_early = early["rollbacks"].sum() / max(early["tests"].sum(), 1) if half else 0.0
        rb_late = late["rollbacks"].sum() / max(late["tests"].sum(), 1)
        verdicts = []
        if rates[worker] < SLOW_BELOW * median:
            verdicts.append("slow")
        if trend < DEGRADING_BELOW:
            verdicts.append("degrading")
        if half and rb_late > rb_early and rb_late >= ROLLBACKS_AT_LEAST:
            verdicts.append("rollbacks rising")
        out.append(WorkerAdvice(str(worker), len(rows), int(rows["tests"].sum()), float(rates[worker]),
                                float(rates[worker] / median), float(trend), float(rb_early), float(rb_late),
                                ", ".join(verdicts) or "ok"))
    return sorted(out, key=lambda a: a.vs_fleet)


def block_size_advice(campaign: str, block_size: int, range_values: int, max_blocks: int, max_block_size: int,
                      runs: Iterable[RunInfo], test_seconds: dict[str, float]) -> BlockSizeAdvice | None:
    """From the campaign's successful runs: overhead per block, and the block size that keeps it under 1%."""
    overheads, tests = [], []
    for run in runs:
        if run.status != "SUCCESS" or run.start is None or run.end is None:
            continue
        measured = [test_seconds[k] for k in run.blocks if k in test_seconds]
        if len(measured) != len(run.blocks) or not measured:
            continue
        overheads.append(max(0.0, (run.end - run.start - sum(measured)) / len(measured)))
        tests.extend(measured)
    if not tests:
        return None
    overhead, per_block = statistics.median(overheads), statistics.mean(tests)
    total = per_block / block_size * range_values
    recommended = block_size_for(total, range_values, max_blocks, max_block_size, orchestration_seconds=overhead)
    return BlockSizeAdvice(campaign, len(tests), overhead, per_block, overhead / max(overhead + per_block, 1e-9),
                           block_size, recommended)


def workers_needed(queued_test_seconds: float, drain_hours: float) -> int:
    """Single-core worker slots that finish the queued tests within `drain_hours` (0 when nothing is queued)."""
    if queued_test_seconds <= 0:
        return 0
    return math.ceil(queued_test_seconds / (drain_hours * 3600))


def advice_tables(workers: list[WorkerAdvice], sizes: list[BlockSizeAdvice], needed: int, drain_hours: float,
                  queued_hours: float) -> str:
    lines = ["| worker | blocks | tests | work rate | vs fleet | trend | rollbacks/test early → late | verdict |",
             "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {w.worker[:12]} | {w.blocks} | {w.tests} | {w.work_rate:.2f} | {w.vs_fleet:.2f} | {w.trend:.2f} "
              f"| {w.rollbacks_early:.3f} → {w.rollbacks_late:.3f} | {w.verdict} |" for w in workers]
    lines += ["", "| campaign | blocks measured | overhead s/block | tests s/block | overhead | block size → advised |",
              "|---|---|---|---|---|---|"]
    lines += [f"| {s.campaign} | {s.blocks_measured} | {s.overhead_seconds:.1f} | {s.test_seconds:.1f} "
              f"| {s.overhead_share:.1%} | {s.block_size} → {s.recommended_block_size} |" for s in sizes]
    lines += ["", f"queued: {queued_hours:.2f} CPU hours of tests; workers (single-core slots) to drain it in "
              f"{drain_hours:g} h: **{needed}** (target overhead {ORCHESTRATION_SHARE:.0%})"]
    return "\n".join(lines) + "\n"
