"""Progress: of one running block (tested/total, rate, ETA) and of a whole campaign (blocks done, running,
failed; candidates tested; primes; throughput; ETA).

Plain data in, plain data out: the Dagster side (assets/progress.py) and `darkreach status` read the
instance and the stored results and hand them to `campaign_progress`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from darkreach_pipeline.campaign import CampaignSpec
from darkreach_pipeline.forms import form_for
from darkreach_pipeline.stores.costs import model_seconds
from darkreach_pipeline.stores.integrity import Damage

LOG_EVERY_SECONDS = 30.0  # a running block logs its progress at most this often (and once when done)
BURST_GAP = 0.005  # calls closer than this at a stage's start are a replay (resumed rows), not measured work
MIN_WINDOW = 1.0  # seconds of measured work before the replay-free rate is trusted over the stage's average
MAX_SNAPSHOTS = 40


def format_seconds(seconds: float | None) -> str:
    """'42 s', '3 min 5 s', '2 h 10 min', '3 d 4 h'; 'unknown' for None."""
    if seconds is None or not math.isfinite(seconds):
        return "unknown"
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


class BlockTracker:
    """Progress of one block's stage: throttled log lines with tested/total, rate and ETA, and the
    snapshots that were logged (recorded in the materialisation's metadata).

    The ETA is remaining / rate, the rate measured in this process since the stage started; rows
    replayed from a checkpoint (reported in a burst at the start) are not counted as measured work."""

    def __init__(self, key: str, log_every: float = LOG_EVERY_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.key, self.log_every, self.clock = key, log_every, clock
        self.stage: str | None = None
        self.done = self.total = 0
        self.snapshots: list[dict] = []

    def _start(self, stage: str, done: int, now: float) -> None:
        self.stage = stage
        self.started = self.base_time = self.last_call = self.last_log = now
        self.start_done = self.base_done = done
        self.in_burst = True

    def rate(self, now: float | None = None) -> float | None:
        """Items per second of measured work in this stage, or None before any."""
        if self.stage is None:
            return None
        now = self.clock() if now is None else now
        base_time, base_done = self.base_time, self.base_done
        if now - base_time < MIN_WINDOW:  # too little measured since the replay: use the whole stage
            base_time, base_done = self.started, self.start_done
        if now <= base_time or self.done <= base_done:
            return None
        return (self.done - base_done) / (now - base_time)

    def eta(self, now: float | None = None) -> float | None:
        if self.total and self.done >= self.total:
            return 0.0
        rate = self.rate(now)
        return None if rate is None else (self.total - self.done) / rate

    def update(self, stage: str, done: int, total: int) -> str | None:
        """Record progress; returns a log line when one is due (every `log_every` seconds, and at the end)."""
        now = self.clock()
        if stage != self.stage:
            self._start(stage, done, now)
        elif self.in_burst and now - self.last_call < BURST_GAP:
            self.base_time, self.base_done = now, done
        else:
            self.in_burst = False
        self.last_call = now
        self.done, self.total = done, total
        finished = done >= total
        if not finished and now - self.last_log < self.log_every:
            return None
        self.last_log = now
        rate, eta = self.rate(now), self.eta(now)
        self.snapshots.append({"stage": stage, "elapsed_s": round(now - self.started, 2), "done": done,
                               "total": total, "per_second": None if rate is None else round(rate, 3),
                               "eta_s": None if eta is None else round(eta, 1)})
        if len(self.snapshots) > MAX_SNAPSHOTS:  # keep the first, the last, and every other one between
            self.snapshots = [self.snapshots[0], *self.snapshots[1:-1:2], self.snapshots[-1]]
        percent = 100.0 * done / total if total else 100.0
        speed = f"{rate:.2f}/s" if rate is not None else "rate unknown"
        what = "tested" if stage == "test" else stage
        if finished:
            return (f"{self.key}: {what} {done}/{total} (100%) in {format_seconds(now - self.started)}"
                    + (f", {speed}" if rate is not None else ""))
        return f"{self.key}: {what} {done}/{total} ({percent:.0f}%), {speed}, ETA {format_seconds(eta)}"

    def state(self) -> dict:
        """What the progress file holds (read by `darkreach run` and `darkreach status`)."""
        rate, eta = self.rate(), self.eta()
        return {"key": self.key, "stage": self.stage, "done": self.done, "total": self.total,
                "per_second": rate, "eta_seconds": eta, "time": time.time()}


# ----- a campaign ---------------------------------------------------------------------------------------------

QUEUED_STATUSES = frozenset({"QUEUED", "NOT_STARTED", "MANAGED"})
RUNNING_STATUSES = frozenset({"STARTING", "STARTED", "CANCELING"})
FAILED_STATUSES = frozenset({"FAILURE", "CANCELED"})
BLOCK_STATES = ("done", "running", "queued", "damaged", "failed", "not_started")


@dataclass(frozen=True)
class RunInfo:
    """One run of the campaign job as plain data: the blocks it covers, its status (DagsterRunStatus value),
    when it was created / started / ended (unix seconds; None if not yet)."""

    blocks: tuple[str, ...]
    status: str
    created: float
    start: float | None = None
    end: float | None = None


@dataclass
class CampaignProgress:
    name: str
    blocks: int
    states: dict[str, str]  # block key -> one of BLOCK_STATES
    candidates: int  # every axis value of the campaign
    tested: int  # tests stored (prp_results rows), all blocks
    tested_in_done: int  # tests of finished blocks
    proven: int
    probable: int
    engine_seconds: float  # sum of the stored tests' seconds
    busy_seconds: float  # wall time during which at least one run of a finished block was running
    tests_per_second: float | None  # tests of finished blocks / busy time (counts parallel runs)
    eta_seconds: float | None  # time left for the unfinished blocks at the measured pace; 0 when all done
    running: list[dict] = field(default_factory=list)  # progress of running blocks (from progress files)
    damaged: dict[str, list[str]] = field(default_factory=dict)  # block key -> its damaged stage files

    def count(self, state: str) -> int:
        return sum(1 for s in self.states.values() if s == state)

    @property
    def primes(self) -> int:
        return self.proven + self.probable

    def as_dict(self) -> dict:
        return {"campaign": self.name, "blocks": self.blocks, **{f"blocks_{s}": self.count(s) for s in BLOCK_STATES},
                "candidates": self.candidates, "tested": self.tested, "primes": self.primes,
                "proven": self.proven, "probable": self.probable, "engine_seconds": round(self.engine_seconds, 3),
                "busy_seconds": round(self.busy_seconds, 3),
                "tests_per_second": None if self.tests_per_second is None else round(self.tests_per_second, 3),
                "eta_seconds": None if self.eta_seconds is None else round(self.eta_seconds, 1)}

    def lines(self) -> list[str]:
        """The text `darkreach status` prints (the first line is the short summary)."""
        done = self.count("done")
        out = [f"{self.name}: {done}/{self.blocks} blocks finished, {self.primes} primes/PRPs"]
        damaged = f"{self.count('damaged')} damaged, " if self.count("damaged") else ""
        out.append(f"  blocks      {done} done, {self.count('running')} running, {self.count('queued')} queued, "
                   f"{damaged}{self.count('failed')} failed, {self.count('not_started')} not started")
        out.append(f"  tested      {self.tested:,} of {self.candidates:,} candidates (the rest removed by the sieve "
                   f"or excluded, or not reached yet); {self.proven} proven, {self.probable} probable primes")
        if self.tests_per_second is not None:
            out.append(f"  throughput  {self.tests_per_second:,.2f} tests/s over {format_seconds(self.busy_seconds)} "
                       f"of runs ({self.engine_seconds:,.1f} s of test time)")
        else:
            out.append("  throughput  unknown (no finished block yet)")
        if self.eta_seconds == 0:
            out.append("  ETA         finished" if done == self.blocks else "  ETA         nothing left to run")
        else:
            out.append(f"  ETA         {format_seconds(self.eta_seconds)} for {self.blocks - done} blocks at this pace")
        failed = [k for k, s in self.states.items() if s == "failed"]
        if failed:
            more = f" (+{len(failed) - 10} more)" if len(failed) > 10 else ""
            out.append(f"  failed      {', '.join(failed[:10])}{more}: rerun them (they resume from checkpoints)")
        for key, damages in list(self.damaged.items())[:10]:
            out.append(f"  damaged     {key}: {'; '.join(damages)}: not finished, `darkreach run` recomputes it")
        if len(self.damaged) > 10:
            out.append(f"  damaged     (+{len(self.damaged) - 10} more blocks)")
        for block in self.running:
            out.append(f"  running     {block['key']} {block.get('stage') or '?'} {block.get('done', 0)}/"
                       f"{block.get('total', 0)}, ETA {format_seconds(block.get('eta_seconds'))}")
        return out


def block_weights(spec: CampaignSpec) -> dict[str, float]:
    """Relative cost of each block: candidates x the modelled cost of one test at the block's middle size
    (bigger numbers cost more); only ratios matter, the pace is measured."""
    form = form_for(spec)
    weights = {}
    for block, key in enumerate(spec.partition_keys()):
        lo, hi = spec.block_range(block)
        weights[key] = (hi - lo) * model_seconds(form.bits((lo + hi - 1) // 2))
    return weights


def _merged_length(intervals: Iterable[tuple[float, float]]) -> float:
    total, current = 0.0, None
    for start, end in sorted(intervals):
        if current is None or start > current[1]:
            if current is not None:
                total += current[1] - current[0]
            current = [start, end]
        else:
            current[1] = max(current[1], end)
    return total + (current[1] - current[0] if current is not None else 0.0)


def block_states(keys: Sequence[str], runs: Iterable[RunInfo], finished: Iterable[str],
                 damaged: Iterable[str] = ()) -> dict[str, str]:
    """done: every stage's latest materialisation passed its blocking check, the stored files are intact
    (`finished`) and a run covering the block succeeded; else running / queued if a run covering it is; else
    damaged if a stored file of it is missing, unreadable or fails its checksum; else failed if its latest run
    failed or was canceled; else not_started."""
    certified, damaged = set(finished), set(damaged)
    wanted = set(keys)
    succeeded: set[str] = set()
    active: dict[str, str] = {}
    latest: dict[str, RunInfo] = {}
    for run in runs:
        for key in run.blocks:
            if key not in wanted:
                continue
            if run.status == "SUCCESS":
                succeeded.add(key)
            elif run.status in RUNNING_STATUSES:
                active[key] = "running"
            elif run.status in QUEUED_STATUSES:
                active.setdefault(key, "queued")
            if key not in latest or run.created > latest[key].created:
                latest[key] = run
    states = {}
    for key in keys:
        if key in certified and key in succeeded:
            states[key] = "done"
        elif key in active:
            states[key] = active[key]
        elif key in damaged:
            states[key] = "damaged"
        elif key in latest and latest[key].status in FAILED_STATUSES:
            states[key] = "failed"
        else:
            states[key] = "not_started"
    return states


def campaign_progress(
    spec: CampaignSpec,
    runs: Iterable[RunInfo],
    finished: Iterable[str],
    results: pd.DataFrame,
    certificates: pd.DataFrame,
    running: Mapping[str, dict] | None = None,
    damaged: Mapping[str, Sequence[Damage]] | None = None,
) -> CampaignProgress:
    """The summary of one campaign.

    runs: every campaign_job run covering any of its blocks; finished: block keys whose stages all passed their
    blocking checks and whose files are intact; results / certificates: the campaign's stored (intact)
    prp_results / certificates rows (may be empty); running: progress-file states by block key (shown for
    running blocks only); damaged: block key -> its damaged stage files."""
    runs = list(runs)
    keys = spec.partition_keys()
    damaged = {k: [d.what() for d in v] for k, v in (damaged or {}).items() if v}
    states = block_states(keys, runs, finished, damaged)
    done = {k for k, s in states.items() if s == "done"}

    tested = len(results)
    engine_seconds = float(results["seconds"].sum()) if tested else 0.0
    if tested and "block" in results:
        done_blocks = {int(k.rsplit("/", 1)[1]) for k in done}
        tested_in_done = int(results["block"].astype(int).isin(done_blocks).sum())
    else:
        tested_in_done = 0
    status = certificates["status"] if len(certificates) else pd.Series(dtype=object)
    proven = int((status == "proven").sum())
    probable = int((status == "prp").sum())

    # Pace: wall time of the successful runs of finished blocks (overlapping runs counted once).
    intervals = [(r.start, r.end) for r in runs if r.status == "SUCCESS" and r.start is not None
                 and r.end is not None and r.end >= r.start and done.intersection(r.blocks)]
    busy = _merged_length(intervals)
    tests_per_second = tested_in_done / busy if busy > 0 and tested_in_done else None
    weights = block_weights(spec)
    remaining = sum(weights[k] for k in keys if k not in done)
    done_weight = sum(weights[k] for k in done)
    if remaining == 0:
        eta = 0.0
    elif busy > 0 and done_weight > 0:
        eta = remaining * busy / done_weight
    else:
        eta = None
    shown = [dict(running[k]) for k in keys if states[k] == "running" and running and k in running]
    return CampaignProgress(
        name=spec.name, blocks=len(keys), states=states, candidates=spec.axis_max - spec.axis_min + 1,
        tested=tested, tested_in_done=tested_in_done, proven=proven, probable=probable,
        engine_seconds=engine_seconds, busy_seconds=busy, tests_per_second=tests_per_second, eta_seconds=eta,
        running=shown, damaged={k: damaged[k] for k in keys if k in damaged},
    )
