"""Progress: of one running block (tested/total, rate, ETA) and of a whole campaign (blocks done, running,
failed; candidates tested; primes; throughput; ETA).

Plain data in, plain data out: the Dagster side (assets/campaign_progress.py) and `darkreach status` read the
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
from darkreach_pipeline.found import counted, repeats
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
    proven: int  # distinct finds (a number two axis values name, as 0!+1 = 1!+1, once), in `unit`s
    probable: int
    engine_seconds: float  # sum of the stored tests' seconds
    busy_seconds: float  # wall time during which at least one run of a finished block was running
    tests_per_second: float | None  # tests of finished blocks / busy time (counts parallel runs)
    eta_seconds: float | None  # time left for the unfinished blocks at the measured pace; 0 when all done
    done_percent: float = 0.0  # share of the campaign's work done (measured blocks / their cost + what is left)
    remaining_seconds: float | None = None  # the unfinished blocks' expected cost, one run at a time
    running: list[dict] = field(default_factory=list)  # progress of running blocks (from progress files)
    damaged: dict[str, list[str]] = field(default_factory=dict)  # block key -> its damaged stage files
    unit: str = "prime"  # what one find is called: "pair" for twin and Sophie Germain

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
                "eta_seconds": None if self.eta_seconds is None else round(self.eta_seconds, 1),
                "done_percent": round(self.done_percent, 1)}

    def table_row(self) -> dict[str, str]:
        """This campaign's row of the campaigns table (the UI's `campaign_progress` metadata, `darkreach status`)."""
        rate = "unknown" if self.tests_per_second is None else f"{self.tests_per_second:,.2f} tests/s"
        eta = ("finished" if self.eta_seconds == 0 and self.count("done") == self.blocks
               else format_seconds(self.eta_seconds))
        return {"campaign": self.name, "done": f"{self.done_percent:.0f}%",
                "blocks": f"{self.count('done')}/{self.blocks}", "primes": str(self.primes), "rate": rate,
                "ETA": eta}

    def lines(self) -> list[str]:
        """The text `darkreach status` prints (the first line is the short summary)."""
        done = self.count("done")
        finds = f"{self.primes} primes/PRPs" if self.unit == "prime" else counted(self.primes, self.unit)
        out = [f"{self.name}: {done}/{self.blocks} blocks finished, {finds}"]
        damaged = f"{self.count('damaged')} damaged, " if self.count("damaged") else ""
        out.append(f"  blocks      {done} done, {self.count('running')} running, {self.count('queued')} queued, "
                   f"{damaged}{self.count('failed')} failed, {self.count('not_started')} not started")
        out.append(f"  tested      {self.tested:,} of {self.candidates:,} candidates (the rest removed by the sieve "
                   f"or excluded, or not reached yet); {self.proven} proven, {self.probable} probable {self.unit}s")
        if self.tests_per_second is not None:
            out.append(f"  throughput  {self.tests_per_second:,.2f} tests/s over {format_seconds(self.busy_seconds)} "
                       f"of runs ({self.engine_seconds:,.1f} s of test time)")
        else:
            out.append("  throughput  unknown (no finished block yet)")
        if self.eta_seconds == 0:
            out.append("  ETA         finished" if done == self.blocks else "  ETA         nothing left to run")
        else:
            out.append(f"  ETA         {format_seconds(self.eta_seconds)} for {self.blocks - done} blocks at this pace "
                       f"({self.done_percent:.0f}% of the work done)")
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


@dataclass(frozen=True)
class CostModel:
    """What a block of the campaign costs, measured on its finished blocks: the share of candidates that survive
    the sieve (so are tested), the seconds of one test as scale * bits^exponent (fitted on the tests' own times),
    and the seconds a block costs beyond its tests (sieve, certificates, checks, orchestration)."""

    survival: float
    scale: float
    exponent: float
    overhead: float

    def test_seconds(self, bits: float) -> float:
        return self.scale * max(bits, 1.0) ** self.exponent

    def block_tests(self, spec: CampaignSpec, block: int) -> float:
        """Expected seconds of the block's tests: survivors left x the cost at their sizes (Simpson's rule over
        the block's first, middle and last values: the cost grows smoothly with the size)."""
        form = form_for(spec)
        lo, hi = spec.block_range(block)
        mid = (lo + hi - 1) // 2
        mean = (self.test_seconds(form.bits(lo)) + 4 * self.test_seconds(form.bits(mid))
                + self.test_seconds(form.bits(hi - 1))) / 6
        return (hi - lo) * self.survival * mean

    def block_seconds(self, spec: CampaignSpec, block: int) -> float:
        return self.overhead + self.block_tests(spec, block)


MIN_SPREAD = math.log(1.2)  # sizes spanning less than this ratio do not fix an exponent: the model's is used
EXPONENTS = (1.0, 3.0)  # a fitted exponent is kept within what multiplication costs can be


def _slope(points: Sequence[tuple[float, float]]) -> float:
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def fit_costs(spec: CampaignSpec, done_blocks: Iterable[int], results: pd.DataFrame,
              run_seconds: float | None = None) -> CostModel | None:
    """The cost model from the finished blocks' stored tests (rows with the axis value and `seconds`); None before
    any block is finished. run_seconds: the wall time of the runs that computed those blocks (their sum): what it
    holds beyond the tests' seconds is the per-block overhead."""
    done_blocks = sorted(set(done_blocks))
    if not done_blocks:
        return None
    form = form_for(spec)
    candidates = sum(hi - lo for lo, hi in map(spec.block_range, done_blocks))
    rows = results[results["block"].astype(int).isin(done_blocks)] if len(results) else results
    survival = len(rows) / candidates if candidates else 0.0
    # The exponent: fitted across finished blocks (each block's mean cost at its mean size: a test slowed by other
    # work on the machine, or a prime's longer proof, averages out) once they span sizes far enough apart; before
    # that the model's, bits^2 log(bits) (a fit inside one block is mostly noise).
    exponent = 2.0 + 1.0 / math.log(max(form.bits(spec.block_range(done_blocks[-1])[1]), 3))
    scale = 0.0
    if len(rows):
        bits = [max(form.bits(int(v)), 1.0) for v in rows[spec.axis]]
        seconds = rows["seconds"].astype(float).tolist()
        per_block: dict[int, list[tuple[float, float]]] = {}
        for block, b, t in zip(rows["block"].astype(int), bits, seconds, strict=True):
            per_block.setdefault(block, []).append((b, t))
        centres = [(math.log(sum(b for b, _ in v) / len(v)), math.log(sum(t for _, t in v) / len(v)))
                   for v in per_block.values() if sum(t for _, t in v) > 0]
        if len(centres) >= 2 and max(x for x, _ in centres) - min(x for x, _ in centres) >= MIN_SPREAD:
            exponent = min(max(_slope(centres), EXPONENTS[0]), EXPONENTS[1])
        scale = sum(seconds) / sum(b ** exponent for b in bits)
    test_seconds = float(rows["seconds"].sum()) if len(rows) else 0.0
    overhead = max(0.0, (run_seconds or 0.0) - test_seconds) / len(done_blocks)
    return CostModel(survival=survival, scale=scale, exponent=exponent, overhead=overhead)


TABLE_COLUMNS = ("campaign", "done", "blocks", "primes", "rate", "ETA")


def campaigns_table(summaries: Iterable[CampaignProgress]) -> list[str]:
    """The campaigns as an aligned text table: done % (of the work), blocks, primes, rate, ETA."""
    rows = [{c: c for c in TABLE_COLUMNS}, *(summary.table_row() for summary in summaries)]
    widths = {c: max(len(r[c]) for r in rows) for c in TABLE_COLUMNS}
    return ["  ".join(r[c].ljust(widths[c]) if c == "campaign" else r[c].rjust(widths[c]) for c in TABLE_COLUMNS)
            .rstrip() for r in rows]


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
    form = form_for(spec)
    finds = certificates[certificates["status"].isin(("proven", "prp"))] if len(certificates) else certificates
    rows = finds.to_dict("records")
    same = repeats(form, [r[spec.axis] for r in rows], [r["digits"] for r in rows], [r["expression"] for r in rows])
    distinct = [r for i, r in enumerate(rows) if i not in same]
    proven = sum(r["status"] == "proven" for r in distinct)
    probable = len(distinct) - proven

    # Pace: the finished blocks' runs (overlapping runs counted once in `busy`, each in full in `run_seconds`:
    # their ratio is how many ran at once); what is left: the unfinished blocks' expected survivors at the measured
    # cost per test of their size, plus the measured overhead per block, at that parallelism.
    finished_runs = [r for r in runs if r.status == "SUCCESS" and r.start is not None and r.end is not None
                     and r.end >= r.start and done.intersection(r.blocks)]
    busy = _merged_length((r.start, r.end) for r in finished_runs)
    run_seconds = sum(r.end - r.start for r in finished_runs)
    tests_per_second = tested_in_done / busy if busy > 0 and tested_in_done else None
    model = fit_costs(spec, [int(k.rsplit("/", 1)[1]) for k in done], results, run_seconds) if done else None
    left = [block for block, key in enumerate(keys) if key not in done]
    remaining = sum(model.block_seconds(spec, block) for block in left) if model else None
    if not left:
        eta = 0.0
    elif model is not None and busy > 0:
        eta = remaining * busy / run_seconds
    else:
        eta = None
    done_work = sum(model.block_seconds(spec, int(k.rsplit("/", 1)[1])) for k in done) if model else 0.0
    if not left:
        done_percent = 100.0
    elif model is not None and done_work + remaining > 0:
        done_percent = 100.0 * done_work / (done_work + remaining)
    else:
        done_percent = 0.0
    shown = [dict(running[k]) for k in keys if states[k] == "running" and running and k in running]
    return CampaignProgress(
        name=spec.name, blocks=len(keys), states=states, candidates=spec.axis_max - spec.axis_min + 1,
        tested=tested, tested_in_done=tested_in_done, proven=proven, probable=probable,
        engine_seconds=engine_seconds, busy_seconds=busy, tests_per_second=tests_per_second, eta_seconds=eta,
        done_percent=done_percent, remaining_seconds=remaining,
        running=shown, damaged={k: damaged[k] for k in keys if k in damaged}, unit=form.unit,
    )
