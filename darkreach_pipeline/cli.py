"""The `darkreach` command: run a campaign end to end on the embedded default, list primes, open the UI."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from multiprocessing import get_context
from pathlib import Path

from darkreach_pipeline import __version__, batching, gpu_routing, settings
from darkreach_pipeline.arith.array_module import GpuUnavailableError
from darkreach_pipeline.campaign import CampaignSpec, load_campaign
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.formats import FormatError
from darkreach_pipeline.found import counted, repeats
from darkreach_pipeline.liveness import ProcessId
from darkreach_pipeline.redact import redact
from darkreach_pipeline.secret import SecretError, deployment_secret
from darkreach_pipeline.stores.checkpoints import is_database
from darkreach_pipeline.stores.claims import HEARTBEAT, ClaimStore
from darkreach_pipeline.stores.costs import open_cost_store
from darkreach_pipeline.stores.registry import open_registry
from darkreach_pipeline.stores.results import read_stage_checked
from darkreach_pipeline.volunteer import commands as volunteer_commands

PRIME_COLUMNS = ["campaign", "form", "expression", "digits", "status", "method", "verified"]
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}  # the run log stays in the instance
# Dagster's CLI commands (dagster dev, dagster asset materialize) warn from click's callback that they are superseded
# by `dg`; this filter (also in the README's `export` line) silences exactly those and no other warning.
QUIET_SUPERSESSION = "ignore::FutureWarning:click.core"
STOP_GRACE = 3.0  # seconds the running blocks get after SIGTERM to checkpoint and end their runs


def _instance():
    """The deployment's Dagster instance, its storages and the registry's tables created (or migrated) once,
    under the set-up lock, so that commands started together on a new home do not race to create them."""
    from dagster import DagsterInstance

    from assets.instance_queries import block_order
    from resources.instance_config import ensure_dagster_home

    with settings.setup_lock():
        os.environ["DAGSTER_HOME"] = str(ensure_dagster_home())
        settings.ensure_inbox()
        instance = DagsterInstance.get()
        instance.get_runs(limit=1)  # run, event log and schedule storage exist from here on
        block_order(instance)
        instance.all_instigator_state()
        open_registry(settings.registry_url())
    return instance


_worker_instances: dict = {}  # per worker process and Dagster home: its instance, opened once for all its runs


def _worker_instance():
    home = settings.dagster_home()
    if home not in _worker_instances:
        _worker_instances[home] = _instance()
    return _worker_instances[home]


def _run_block(run: list[str]) -> tuple[bool, str, float]:
    """Materialise one block, or several (a partition key range), with all four assets and their checks, as one
    in-process Dagster run."""
    from darkreach_pipeline.definitions import defs
    from darkreach_pipeline.run_limits import campaign_of
    from resources.run_tags import PROCESS_TAG, limit_tags, partition_tags

    start = time.perf_counter()
    job = defs.resolve_job_def("campaign_job")
    # The same limit tags as a queued run (resources/run_coordinator.py), though this one runs in-process; a run
    # left STARTED by a killed process is marked failed (PROCESS_TAG).
    url = settings.registry_url()
    spec = open_registry(url).get(campaign_of(run))
    tags = {**limit_tags(spec, run, open_cost_store(url)), PROCESS_TAG: ProcessId.this().token}
    instance = _worker_instance()
    if len(run) == 1:
        result = job.execute_in_process(partition_key=run[0], tags=tags, instance=instance, raise_on_error=False,
                                        run_config=QUIET)
    else:
        result = job.execute_in_process(tags={**partition_tags(run), **tags}, instance=instance,
                                        raise_on_error=False, run_config=QUIET)
    seconds = time.perf_counter() - start
    if result.success:
        return True, result.run_id, seconds
    errors = [
        f"{e.step_key}: {e.event_specific_data.error.message.strip()}"
        for e in result.all_events
        if e.is_step_failure and e.event_specific_data and e.event_specific_data.error
    ]
    failed_checks = [
        f"check {e.event_specific_data.check_name} failed: {e.event_specific_data.metadata.get('first_problems')}"
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.event_specific_data.passed
    ]
    return False, "; ".join(errors + failed_checks) or f"run {result.run_id} failed", seconds


def done_blocks(instance, keys: list[str]) -> set[str]:
    """The blocks done (assets/instance_queries.py: done_blocks); a damaged one is named on stderr: it is run
    again."""
    from assets.instance_queries import done_blocks as done_and_damaged

    done, damaged = done_and_damaged(instance, keys, settings.data_path())
    for key, damages in damaged.items():
        print(f"damaged {key}: {'; '.join(d.what() for d in damages)}: running it again", file=sys.stderr)
    return done


def fail_dead_runs(instance) -> list[str]:
    """Runs of `darkreach run` still marked started whose process on this host is gone (kill -9, OOM, power
    loss) are reported failed, so that status shows the truth instead of "running" forever; their blocks
    resume from their checkpoints when run again. The ids of the runs so marked."""
    from assets.instance_queries import live_runs
    from resources.run_tags import PROCESS_TAG

    marked = []
    for run in live_runs(instance):
        holder = ProcessId.parse(run.tags.get(PROCESS_TAG, ""))
        if holder is not None and holder.is_gone():
            instance.report_run_failed(run, f"the process running it ({holder.token}) is gone (killed?); its "
                                            "blocks resume from their checkpoints when run again")
            marked.append(run.run_id)
    return marked


def register(spec: CampaignSpec, instance) -> bool:
    from assets.partitions import add_block_partitions

    is_new = open_registry(settings.registry_url()).register(spec)
    add_block_partitions(instance, spec.partition_keys())
    return is_new


class ProgressBars:
    """A bar per running block on a terminal (fed by the progress files the block's assets write);
    elsewhere (logs, CI) one line per finished block."""

    def __init__(self, keys: list[str]):
        from tqdm import tqdm

        from resources.progress_files import progress_file

        self.tqdm = tqdm
        self.interactive = sys.stderr.isatty()
        self.dir = settings.progress_path()
        self.bars: dict[str, object] = {}
        self.seen: dict[str, tuple] = {}
        self.finished = 0
        self.total = len(keys)
        for key in keys:
            progress_file(self.dir, key).unlink(missing_ok=True)

    def poll(self, keys: list[str]) -> None:
        from resources.progress_files import read_progress

        if not self.interactive:
            return
        for key in keys:
            state = read_progress(self.dir, key)
            if state is None:
                continue
            snapshot = (state["stage"], state["done"], state["total"])
            if self.seen.get(key) == snapshot:
                continue
            self.seen[key] = snapshot
            bar = self.bars.get(key)
            if bar is None:
                bar = self.bars[key] = self.tqdm(total=1, unit="", leave=False, dynamic_ncols=True)
            bar.set_description(f"{key} {state['stage']:>5}", refresh=False)
            bar.total = max(1, state["total"])
            bar.n = state["done"]
            bar.refresh()

    def finish(self, key: str, ok: bool, seconds: float, how: str = "") -> None:
        bar = self.bars.pop(key, None)
        if bar is not None:
            bar.close()
        self.finished += 1
        how = how or f"{'done' if ok else 'FAILED'} in {seconds:.1f} s"
        self.note(f"[{self.finished}/{self.total}] {key}: {how}")

    def note(self, line: str) -> None:
        self.tqdm.write(line, file=sys.stderr)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _worker_init() -> None:
    """SIGTERM becomes an exception inside the block's run: its tests checkpoint, the run fails cleanly."""
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)


def _stop(pool: ProcessPoolExecutor, running: dict[Future, list[str]]) -> None:
    """SIGTERM to every worker: their tests checkpoint and their runs end as failed. After those runs have
    ended (or STOP_GRACE seconds) the workers are killed: nothing new is started, the command ends within
    seconds."""
    processes = list(getattr(pool, "_processes", {}).values())
    for process in processes:
        process.terminate()
    wait(running, timeout=STOP_GRACE)
    for process in processes:
        if process.is_alive():
            process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def run_blocks(runs: list[list[str]], workers: int, claims: ClaimStore,
               finished: Callable[[list[str]], set[str]]) -> dict[str, tuple[bool, str]]:
    """Execute the runs (each one block or several) on `workers` processes; outcome per block (a failed run
    fails each of its blocks).

    A run starts only once this command holds the claim of each of its blocks, and only its blocks that are
    still unfinished then: a block another command is running is waited for (taken over if that command
    dies), and not run again once it has finished. At most `workers` runs are handed to the pool at a time,
    so on SIGTERM no further run is queued anywhere."""
    outcomes: dict[str, tuple[bool, str]] = {}
    bars = ProgressBars([key for run in runs for key in run])
    waiting = list(runs)
    announced: set[str] = set()
    running: dict[Future, list[str]] = {}
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=_worker_init)
    beat = time.monotonic()
    try:
        while waiting or running:
            for run in list(waiting):
                if len(running) >= workers:
                    break
                holder = claims.claim(run)
                if holder is not None:
                    if run[0] not in announced:
                        announced.add(run[0])
                        bars.note(f"{', '.join(run)}: being run by another command ({holder}); waiting for it")
                    continue
                waiting.remove(run)
                done = finished(run)
                todo = [key for key in run if key not in done]
                for key in done:
                    outcomes[key] = (True, "finished by another command")
                    bars.finish(key, True, 0.0, "finished by another command")
                if todo == run:
                    running[pool.submit(_run_block, run)] = run
                    continue
                claims.release(run)
                waiting[:0] = [[key] for key in todo]  # the rest of a partly finished run, block by block
            if running:
                completed, _ = wait(running, timeout=0.3, return_when=FIRST_COMPLETED)
            else:
                completed = set()
                time.sleep(1.0)  # every remaining block is held by another command
            bars.poll([key for run in running.values() for key in run])
            for future in completed:
                run = running.pop(future)
                try:
                    ok, detail, seconds = future.result()
                except Exception as exc:  # a worker process died: its blocks fail, finished ones stay done
                    ok, detail, seconds = False, f"worker crashed: {exc!r}", 0.0
                claims.release(run)
                for key in run:
                    outcomes[key] = (ok, detail)
                    bars.finish(key, ok, seconds)
            if time.monotonic() - beat >= HEARTBEAT:
                claims.heartbeat()
                beat = time.monotonic()
    except KeyboardInterrupt:
        _stop(pool, running)
        raise
    finally:
        bars.close()
        claims.release()
    pool.shutdown(wait=True)
    return outcomes


def gather_primes(instance) -> None:
    """Refresh the results as the daemon's results_sensor does: `primes` (primes.csv), `verified_primes`
    (verified_primes.csv, top5000.txt) and `campaign_progress`, in one in-process run of results_job."""
    from darkreach_pipeline.definitions import defs

    defs.resolve_job_def("results_job").execute_in_process(instance=instance, run_config=QUIET)


def campaign_primes(name: str, instance=None):
    """(every prime and PRP of a registered campaign, the blocks whose certificates file is damaged, or missing
    though the block was certified, and so left out); an unknown name is an error, no primes an empty table. A
    claim the independent verifier rejected (status 'rejected') is not a prime: the next run re-tests it."""
    import pandas as pd
    from upath import UPath

    from assets.instance_queries import checks_passed
    from darkreach_pipeline.blocks import REJECTED
    from darkreach_pipeline.forms import form_for
    from darkreach_pipeline.stores.integrity import MISSING, Damage, block_path

    spec = open_registry(settings.registry_url()).get(name)
    columns = [*PRIME_COLUMNS, *form_for(spec).param_names, spec.axis]
    frame, damaged = read_stage_checked(settings.data_path(), "certificates", campaign=name)
    base = UPath(settings.data_path())
    certified = checks_passed(instance or _instance(), spec.partition_keys())
    damaged += [Damage("certificates", key, MISSING) for key in sorted(certified)
                if not block_path(base, "certificates", key).exists()]
    if len(frame):
        frame = frame[frame["status"] != REJECTED]
    if not len(frame):
        return pd.DataFrame(columns=columns), damaged
    return frame.sort_values([spec.axis], ignore_index=True)[columns], damaged


def found_lines(spec: CampaignSpec, frame, seconds: float) -> list[str]:
    """The summary of `darkreach run`: the count (pairs for twin / Sophie Germain forms; a number that two axis
    values name, as 0!+1 = 1!+1 = 2, counted once), then one line per find."""
    from darkreach_pipeline.forms import form_for

    form = form_for(spec)
    rows = frame.to_dict("records")
    same = repeats(form, [r[spec.axis] for r in rows], [r["digits"] for r in rows], [r["expression"] for r in rows])
    distinct = [r for i, r in enumerate(rows) if i not in same]
    proven = sum(r["status"] == "proven" for r in distinct)
    lines = [f"{counted(len(distinct), form.unit)} in '{spec.name}': {proven} proven, {len(distinct) - proven} "
             f"probable ({seconds:.1f} s)"]
    for i, row in enumerate(rows):
        if i in same:
            how = f"the same number as {same[i]}, counted once"
        elif row["status"] == "proven":
            how = f"proven by {row['method']}"
        else:
            how = f"probable prime ({row['method']})"
        lines.append(f"  {row['expression']:<28} {row['digits']:>7} digits  {how}")
    return lines


def report_damaged(damaged) -> None:
    for damage in damaged:
        print(f"damaged {damage.partition_key} {damage.what()}: its primes are not listed; run the campaign "
              "file again (`darkreach run FILE`) to recompute the block", file=sys.stderr)


def auto_blocks_per_run(spec: CampaignSpec, pending: list[str], workers: int) -> int:
    """Blocks per run when neither the command line nor the campaign file says: from the estimated test time of
    the middle pending block (batching.auto_blocks_per_run)."""
    from darkreach_pipeline.blocks import block_estimate_seconds
    from darkreach_pipeline.campaign import split_partition_key

    if not pending:
        return 1
    middle = split_partition_key(pending[len(pending) // 2])[1]
    seconds = block_estimate_seconds(spec, middle, open_cost_store(settings.registry_url()))
    return batching.auto_blocks_per_run(seconds, len(pending), workers)


def cmd_run(args) -> int:
    from assets.instance_queries import block_order

    spec = load_campaign(args.file)
    instance = _instance()
    fail_dead_runs(instance)
    is_new = register(spec, instance)
    keys = spec.partition_keys()
    done = done_blocks(instance, keys)
    pending = [k for k in keys if k not in done]
    per_run = args.blocks_per_run or spec.blocks_per_run or auto_blocks_per_run(spec, pending, args.workers)
    runs = batching.batches(pending, block_order(instance), per_run)
    print(
        f"campaign '{spec.name}' ({'new' if is_new else 'registered'}): {spec.form}, {spec.range_key} = "
        f"{spec.range_min}..{spec.range_max}, {counted(len(keys), 'block')}, sieve depth {spec.sieve_depth}; "
        f"{len(done)} already finished, {len(pending)} to run on {args.workers} workers"
        + (f" in {counted(len(runs), 'run')} of up to {per_run} blocks" if per_run > 1 else "")
    )
    start = time.time()
    signal.signal(signal.SIGTERM, _interrupt)
    claims = ClaimStore(settings.registry_url())
    try:
        if pending:
            sieve_before_run(instance, spec, args.campaign_sieve)
        outcomes = run_blocks(runs, args.workers, claims, lambda run: done_blocks(instance, run)) if runs else {}
    except KeyboardInterrupt:
        print("interrupted: running blocks saved checkpoints and no new block was started; run the same command "
              "again to resume", file=sys.stderr)
        return 130
    failed = {k: d for k, (ok, d) in outcomes.items() if not ok}
    gather_primes(instance)
    frame, damaged = campaign_primes(spec.name, instance)
    report_damaged(damaged)
    print("\n" + "\n".join(found_lines(spec, frame, time.time() - start)))
    print(f"\nresults: {redact(str(settings.data_path()))}  (per-block parquet; all primes in primes.csv)")
    print(f"dagster instance: {settings.dagster_home()}  (see it with `darkreach ui`)")
    for key, detail in failed.items():
        print(f"FAILED {key}: {detail}", file=sys.stderr)
    return 1 if failed or damaged else 0


def cmd_register(args) -> int:
    spec = load_campaign(args.file)
    is_new = register(spec, _instance())
    print(f"campaign '{spec.name}' {'registered' if is_new else 'already registered'}: "
          f"{counted(spec.block_count, 'block')} ({spec.partition_key(0)} .. "
          f"{spec.partition_key(spec.block_count - 1)}), sieve depth {spec.sieve_depth}")
    return 0


def cmd_primes(args) -> int:
    """Exit 1 when a block's certificates are damaged: the list then lacks that block's primes."""
    frame, damaged = campaign_primes(args.name)
    if args.format == "csv":
        frame.to_csv(sys.stdout, index=False)
    else:
        print(frame.to_string(index=False) if len(frame) else f"no primes recorded for '{args.name}'")
    report_damaged(damaged)
    return 1 if damaged else 0


def cmd_status(args) -> int:
    """The table of campaigns (done % of the work, blocks, primes, rate, ETA), then per campaign: blocks done /
    running / queued / failed / not started, candidates tested, primes, throughput, ETA, and the progress of running
    blocks (the `campaign_progress` asset holds the same)."""
    from assets.campaign_progress import summarise
    from darkreach_pipeline.campaign_status import campaigns_table

    registry = open_registry(settings.registry_url())
    instance = _instance()
    fail_dead_runs(instance)
    specs = [registry.get(args.name)] if args.name else registry.all()
    if not specs:
        print("no campaigns registered: `darkreach run FILE` or `darkreach register FILE`")
    summaries = [summarise(instance, spec, settings.data_path(), settings.progress_path()) for spec in specs]
    if summaries:
        print("\n".join(campaigns_table(summaries)) + "\n")
    from darkreach_pipeline.campaign_sieve import tested_blocks

    for spec, summary in zip(specs, summaries, strict=True):
        print("\n".join(summary.lines()))
        if args.name:  # the depth per block: a campaign-wide sieve deepened mid-campaign makes them differ
            print("\n".join(sieve_depth_lines(instance, spec, tested_blocks(spec, settings.data_path()))))
    return 0


def cmd_ui(args) -> int:
    """Open the Dagster UI on this deployment's instance (bound to 127.0.0.1: it has no authentication). The home,
    its watched folder and the instance are created first; `dagster dev` is this interpreter's, so it needs no
    activated virtual environment, and it runs without Dagster's supersession warning (it names `dg`, a CLI
    this project does not install)."""
    _instance()
    workspace = Path(__file__).resolve().parent.parent / "workspace.yaml"
    os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), QUIET_SUPERSESSION]))
    argv = [sys.executable, "-m", "dagster", "dev", "-w", str(workspace), "-h", args.host, "-p", str(args.port)]
    os.execv(argv[0], argv)
    return 0


def cmd_plan(args) -> int:
    """Rank proposals over a form's parameter space; print the table, write the campaign files."""
    from darkreach_pipeline.stores.costs import open_cost_store
    from darkreach_pipeline.strategy.planner import PlanRequest, plan, plan_table, write_campaign_files

    params = {}
    for item in args.param:
        key, sep, values = item.partition("=")
        if not sep:
            raise CampaignError(item, "write --param NAME=VALUES, e.g. --param k=3,5,7 or --param k=1..99:2")
        params[key] = values
    key, sep, span = args.range.partition("=")
    if not sep:
        raise CampaignError("range", f"{args.range!r}: write --range AXIS=MIN..MAX, e.g. --range n=100000..200000")
    request = PlanRequest.from_text(args.form, params, key, span, args.pieces, args.rank, args.prefix)
    store = None
    if not args.model_costs:
        with settings.setup_lock():  # creates the home and the registry's tables on a new deployment
            store = open_cost_store(settings.registry_url())
    proposals, skipped = plan(request, store)
    print(plan_table(proposals, args.rank, args.top), end="")
    for reason in skipped:
        print(f"skipped: {reason}")
    if args.write:
        paths = write_campaign_files(proposals[:args.top], Path(args.write))
        print(f"{len(paths)} campaign files in {args.write} (run one with `darkreach run FILE`)")
    return 0 if proposals else 1


def cmd_feedback(args) -> int:
    """Per campaign: primes found in its finished blocks against the model, and push on / widen / pivot."""
    from assets.strategy import feedback_rows
    from darkreach_pipeline.strategy.feedback import feedback_table

    registry = open_registry(settings.registry_url())
    rows = feedback_rows(_instance(), registry, settings.data_path(), {}, args.name)
    if not rows:
        known = {spec.name: spec.form for spec in registry.all()}
        if args.name in known:
            print(f"campaign {args.name!r}: form {known[args.name]!r} has no density model "
                  "(darkreach_pipeline/strategy/density.py), so there is nothing to hold its finds against")
        else:
            print(f"no campaign {args.name!r} registered" if args.name else "no campaign of a modelled form registered")
        return 1
    print(feedback_table(rows), end="")
    for row in rows:
        print(f"{row.campaign}: {row.verdict}: {row.reason}")
    return 0


def cmd_advise(args) -> int:
    """The fleet advisor: flagged workers, block sizes, and worker slots for the queue (--number: that alone)."""
    from assets.strategy import fleet_report
    from darkreach_pipeline.stores.costs import open_cost_store
    from darkreach_pipeline.strategy.fleet_advisor import advice_tables

    url = settings.registry_url()
    workers, sizes, needed, queued = fleet_report(_instance(), open_registry(url), open_cost_store(url),
                                                  settings.data_path(), {}, args.drain_hours)
    if args.number:
        print(needed)
    else:
        print(advice_tables(workers, sizes, needed, args.drain_hours, queued / 3600), end="")
    return 0


WORKER_QUEUES = "dagster,sieve,prp,cert"  # asset op_tags "dagster-celery/queue"; untagged steps (checks) use "dagster"
# A GPU worker's default queues: the gpu queue first, then the stages it can also serve (at most four queues:
# dagster-celery's `worker start` refuses more, README "Fleet mode").
GPU_WORKER_QUEUES = f"{gpu_routing.GPU_QUEUE},prp,sieve,dagster"


def worker_argv(queues: str, concurrency: int, name: str | None, loglevel: str) -> list[str]:
    """The celery command of a fleet worker: dagster-celery's app, this project's code. The broker and result
    backend are not on it (`ps` shows a command line to every user): worker_env() passes them."""
    name = name or f"darkreach-{os.getpid()}"
    return [sys.executable, "-m", "celery", "-A", "dagster_celery.app",
            "worker", "-Q", queues, "-I", "darkreach_pipeline.definitions", "-n", f"{name}@%h",
            f"--concurrency={concurrency}", "--prefetch-multiplier=1", f"--loglevel={loglevel}"]


def worker_env(config_dir: Path) -> dict[str, str]:
    """The celery worker's environment: DARKREACH_BROKER / DARKREACH_BACKEND (the values the celery executor of
    the runs uses) as CELERY_BROKER_URL / CELERY_RESULT_BACKEND, which Celery prefers to any configured value;
    the fleet's Celery settings module (config_dir) on PYTHONPATH."""
    from darkreach_pipeline.fleet import celery_urls

    broker, backend = celery_urls()
    path = os.pathsep.join(p for p in (str(config_dir), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "CELERY_BROKER_URL": broker, "CELERY_RESULT_BACKEND": backend, "PYTHONPATH": path}


def worker_uses_gpu(choice: bool | None) -> bool:
    """--gpu (True): the device is required (GpuUnavailableError naming the fix without one); --no-gpu (False):
    never; neither: when CuPy finds a device (auto-detection)."""
    from darkreach_pipeline.arith import array_module

    if choice is None:
        return array_module.gpu_present()
    if choice:
        array_module.device_array_module(required=True)
    return choice


def worker_queues(gpu: bool) -> str:
    return GPU_WORKER_QUEUES if gpu else WORKER_QUEUES


def _stderr(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} darkreach worker: {message}", file=sys.stderr, flush=True)


def cmd_worker(args) -> int:
    """A fleet worker (README: "Fleet mode"): executes the steps the celery executor of the runs submits.

    It first waits (10 s, 20 s, ... up to 5 min between attempts) for the broker, the result backend and the
    PostgreSQL databases, then runs celery with the fleet's settings (darkreach_pipeline/fleet.py: late acks,
    a killed worker's step is requeued for another worker)."""
    from darkreach_pipeline import fleet
    from resources.celery_executor import write_worker_config
    from resources.instance_config import instance_databases

    deployment_secret(shared=is_database(settings.checkpoint_location()))  # refused now, not at its first step
    gpu = worker_uses_gpu(args.gpu)  # refused now if --gpu and no device
    queues = ",".join(q.strip() for q in (args.queues or worker_queues(gpu)).split(",") if q.strip())
    argv = worker_argv(queues, args.concurrency, args.name, args.loglevel)
    if not args.no_wait:
        fleet.wait_for_services(_stderr, needs=fleet.worker_dependencies(instance_databases()))
    env = worker_env(write_worker_config(settings.darkreach_home() / "celery"))
    if gpu:
        env["DARKREACH_GPU"] = "on"  # its steps use the device arithmetic and sieve
    print(f"darkreach worker: {'GPU' if gpu else 'CPU'}, queues {queues}, concurrency {args.concurrency}, broker "
          f"{redact(env['CELERY_BROKER_URL'])}, result backend {redact(env['CELERY_RESULT_BACKEND'])}: "
          f"{' '.join(argv)}", flush=True)
    os.execvpe(argv[0], argv, env)
    return 0


def launch_backfill(instance, spec: CampaignSpec, keys: list[str], gpu: bool = False) -> str:
    """An asset backfill of the four campaign assets (and their checks) over `keys`, executed by the daemon:
    the same kind the UI launches. Unlike `dagster job backfill`, which submits the runs itself and records the
    backfill as finished at once, it stays in progress until its runs are done, so a run that fails (its
    process died, an outage outlasted the retries) is retried by the daemon (run_retries in dagster.yaml)."""
    from dagster import AssetKey
    from dagster._core.execution.backfill import PartitionBackfill
    from dagster._core.utils import make_new_backfill_id

    from darkreach_pipeline.definitions import defs
    from resources.run_tags import CAMPAIGN_TAG, gpu_tags

    backfill = PartitionBackfill.from_asset_partitions(
        backfill_id=make_new_backfill_id(),
        asset_graph=defs.resolve_asset_graph(),
        partition_names=keys,
        asset_selection=[AssetKey(name) for name in ("candidate_ranges", "sieve_survivors", "p_minus_1",
                                                      "prp_results", "prp_proofs", "certificates")],
        backfill_timestamp=time.time(),
        tags={CAMPAIGN_TAG: spec.name, **gpu_tags(gpu or spec.gpu)},
        dynamic_partitions_store=instance,
        all_partitions=False,
        title=f"darkreach backfill {spec.name}",
        description=f"{counted(len(keys), 'block')} of campaign '{spec.name}'",
        run_config=None,
    )
    instance.add_backfill(backfill)
    return backfill.backfill_id


def cmd_backfill(args) -> int:
    """Fleet mode: hand a campaign's unfinished blocks (or the given ones) to the daemon as one backfill."""
    spec = open_registry(settings.registry_url()).get(args.name)
    instance = _instance()
    keys = spec.partition_keys()
    if args.blocks:
        wanted = [k.strip() for k in args.blocks.split(",") if k.strip()]
        unknown = [k for k in wanted if k not in keys]
        if unknown:
            raise CampaignError("blocks", f"not blocks of campaign '{spec.name}': {', '.join(unknown)} "
                                f"(its blocks are {keys[0]} .. {keys[-1]})")
        keys = wanted
    else:
        done = done_blocks(instance, keys)
        keys = [k for k in keys if k not in done]
        if not keys:
            print(f"campaign '{spec.name}': every block is finished, nothing to backfill")
            return 0
    register(spec, instance)  # the partitions exist on this instance
    backfill_id = launch_backfill(instance, spec, keys, gpu=args.gpu)
    print(f"backfill {backfill_id}: {counted(len(keys), 'block')} of '{spec.name}' ({keys[0]} .. {keys[-1]}), "
          "executed by the daemon; follow it with `darkreach status` or in the UI (Backfills)")
    return 0


def cmd_audit(args) -> int:
    """The integrity audit of a campaign's finished blocks, now (the `integrity_audit` asset runs it nightly):
    exit 1 when a block is damaged; its files are moved to _quarantine/ and the next run recomputes it."""
    from assets.instance_queries import checks_passed
    from darkreach_pipeline.audit import audit_blocks

    spec = open_registry(settings.registry_url()).get(args.name)
    keys = sorted(checks_passed(_instance(), spec.partition_keys()))
    report = audit_blocks(spec, settings.data_path(), keys, sample=args.sample, seed=time.time_ns())
    print(f"{spec.name}: " + "\n".join(report.lines()))
    if report.damaged:
        print(f"run the campaign file again (`darkreach run FILE`) to recompute the {len(report.damaged)} damaged "
              "blocks", file=sys.stderr)
    return 1 if report.damaged else 0


def cmd_import_sieve(args) -> int:
    """A sieve file made elsewhere becomes the campaign's sieve: checked whole against the campaign, then stored;
    blocks not yet sieved start from its survivors (blocks already sieved keep theirs)."""
    from darkreach_pipeline.sieve_import import plan_import
    from darkreach_pipeline.stores.sieve_imports import open_sieve_import_store

    spec = open_registry(settings.registry_url()).get(args.campaign)
    blocks = plan_import(spec, args.file, args.format, args.sieved_to, args.factors)
    open_sieve_import_store(settings.registry_url()).replace(spec.name, blocks)
    done = len(done_blocks(_instance(), spec.partition_keys()))
    first = blocks[0]
    survivors = sum(len(b.survivors) for b in blocks)
    factors = sum(len(b.factors) for b in blocks)
    print(f"imported {first.format} file {args.file} into '{spec.name}': {survivors} survivors, {factors} verified "
          f"factors, sieved to {first.sieved_to} (sha256 {first.source_sha256[:16]})")
    if spec.sieve_depth > first.sieved_to:
        print(f"blocks sieve the survivors further here, from {first.sieved_to} to the campaign's depth "
              f"{spec.sieve_depth}")
    if done:
        rest = spec.block_count - done
        print(f"{done} of {spec.block_count} blocks are finished and keep the sieve they were tested with"
              + (f"; the other {rest} use the import when they run" if rest else ": the import changes none of them"))
    return 0


def cmd_sieve(args) -> int:
    """The campaign-wide sieve (README: "Sieve once, deeper over time"): one run of the campaign_sieve asset over
    the campaign's untested blocks, sieved together from the depth they reached to --to (default: auto); then the
    depth of every block."""
    from darkreach_pipeline.campaign_sieve import auto_depth, check_depth, check_form, check_partner, tested_blocks

    registry = open_registry(settings.registry_url())
    spec = registry.get(args.name)
    check_form(spec)
    instance = _instance()
    register(spec, instance)  # the partitions exist on this instance
    if args.with_campaign:
        check_partner(spec, registry.get(args.with_campaign))
        register(registry.get(args.with_campaign), instance)
    tested = tested_blocks(spec, settings.data_path())
    keys = [spec.partition_key(b) for b in range(spec.block_count) if b not in tested]
    if not keys:
        print(f"campaign '{spec.name}': every block is tested, nothing to sieve")
        return 0
    to_depth = args.to or auto_depth(spec, tested)
    check_depth(to_depth)
    start = time.perf_counter()
    run_id = campaign_sieve_run(instance, keys, to_depth, args.with_campaign or "")
    if run_id is None:
        return 1
    print(f"campaign '{spec.name}': {counted(len(keys), 'untested block')} sieved to {to_depth:,} in one sieve "
          "(blocks already that deep keep their sieve) "
          f"({time.perf_counter() - start:.1f} s, run {run_id}); {counted(len(tested), 'tested block')} "
          "kept as tested")
    print("\n".join(sieve_depth_lines(instance, spec, tested)))
    if args.with_campaign:
        other = registry.get(args.with_campaign)
        print(f"campaign '{other.name}' (the other sign) in the same pass:")
        print("\n".join(sieve_depth_lines(instance, other, tested_blocks(other, settings.data_path()))))
    return 0


def campaign_sieve_run(instance, keys: list[str], to_depth: int, with_campaign: str = "") -> str | None:
    """One in-process run of the campaign_sieve asset over `keys` (blocks of one campaign) to `to_depth`, as
    `darkreach sieve` and `darkreach run` launch it: its run id, or None once the failure is printed."""
    from dagster import materialize

    from assets.campaign_sieve import campaign_sieve
    from darkreach_pipeline.definitions import build_resources
    from resources import run_tags

    config = {**QUIET, "ops": {"campaign_sieve": {"config": {"to_depth": to_depth, "with_campaign": with_campaign}}}}
    # materialize() with resources built now: `defs` froze the environment of its first import (one process may
    # serve several homes, as the tests do).
    result = materialize([campaign_sieve], resources=build_resources(), instance=instance, run_config=config,
                         tags={run_tags.KIND_TAG: run_tags.CAMPAIGN_SIEVE_KIND,
                               **(run_tags.partition_tags(keys) if len(keys) > 1 else {})},
                         partition_key=keys[0] if len(keys) == 1 else None, raise_on_error=False)
    if result.success:
        return result.run_id
    errors = [e.event_specific_data.error.message.strip() for e in result.all_events
              if e.is_step_failure and e.event_specific_data and e.event_specific_data.error]
    print(f"error: the campaign sieve failed (run {result.run_id}): {'; '.join(errors)}", file=sys.stderr)
    return None


def sieve_before_run(instance, spec: CampaignSpec, choice: str) -> list[str]:
    """`darkreach run`'s campaign-wide sieve: the untested blocks no campaign sieve has taken to the campaign's
    depth yet, sieved in one run of campaign_sieve to exactly that depth before the blocks run, so that each
    block's sieve_survivors only reads its slice (the same survivors and factors as sieving alone, one sieve's
    work instead of about sqrt(blocks) times it). `choice`: "auto" (when campaign_sieve.sieve_pays: the saving
    beats the extra run's cost), "always" (two open blocks or more), "never" (--no-campaign-sieve). Forms whose
    sieve shares no work, tested blocks and blocks already that deep (a rerun) are left alone; a failed or
    damaged sieve is reported and the blocks sieve themselves. The keys sieved."""
    from darkreach_pipeline.campaign_sieve import (
        SieveState,
        check_form,
        open_blocks,
        sieve_pays,
        sieve_seconds_saved,
        tested_blocks,
    )
    from darkreach_pipeline.stores.sieve_imports import DamagedImportError, open_sieve_import_store

    if choice == "never":
        return []
    try:
        check_form(spec)
    except CampaignError as exc:
        if choice == "always":
            print(f"--campaign-sieve: {exc}", file=sys.stderr)
        return []
    try:
        rows = open_sieve_import_store(settings.registry_url()).all_blocks(spec.name)
    except DamagedImportError:
        return []  # the blocks' sieve_survivors name the damaged row and its fix
    state = SieveState(spec, rows, tested_blocks(spec, settings.data_path()))
    blocks = open_blocks(state, spec.sieve_depth)
    if len(blocks) < 2 or (choice == "auto" and not sieve_pays(state, spec.sieve_depth)):
        return []
    keys = [spec.partition_key(b) for b in blocks]
    saved = sieve_seconds_saved(state, spec.sieve_depth)
    start = time.perf_counter()
    run_id = campaign_sieve_run(instance, keys, spec.sieve_depth)
    if run_id is None:
        print("the blocks sieve themselves instead", file=sys.stderr)
        return []
    print(f"campaign sieve first: {counted(len(keys), 'untested block')} sieved to {spec.sieve_depth:,} in one "
          f"sieve ({time.perf_counter() - start:.1f} s, run {run_id}; about {saved:,.0f} s of sieve CPU less than "
          "block by block; --no-campaign-sieve sieves block by block)")
    return keys


def sieve_depth_lines(instance, spec: CampaignSpec, tested: set[int]) -> list[str]:
    """`  sieve depth  000000-000002  1,000  tested` lines: runs of blocks of one depth and state."""
    from assets.campaign_sieve import block_sieve_depths
    from darkreach_pipeline.campaign_sieve import depth_runs
    from darkreach_pipeline.stores.sieve_imports import DamagedImportError, open_sieve_import_store

    try:
        rows = open_sieve_import_store(settings.registry_url()).all_blocks(spec.name)
    except DamagedImportError as exc:
        return [f"  sieve depth unknown: {exc}"]
    runs = depth_runs(block_sieve_depths(instance, spec, rows, tested))
    return [f"  sieve depth {first:06d}-{last:06d}  {depth:>15,}  {how}" for first, last, depth, how in runs]


def cmd_export_sieve(args) -> int:
    """The campaign's survivors as a sieve file for LLR / PFGW (blocks not yet sieved are sieved now)."""
    from darkreach_pipeline.sieve_import import campaign_survivors, export_text
    from darkreach_pipeline.stores.integrity import DamagedBlockError
    from darkreach_pipeline.stores.sieve_imports import open_sieve_import_store

    spec = open_registry(settings.registry_url()).get(args.campaign)
    store = open_sieve_import_store(settings.registry_url())
    try:
        survivors, computed = campaign_survivors(spec, settings.data_path(), lambda b: store.block(spec.name, b))
    except DamagedBlockError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    # Every block reached at least the campaign's depth (an import deeper than that is not claimed: the
    # blocks sieved before it only reached the campaign's).
    text = export_text(spec, survivors, args.format, spec.sieve_depth)
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    print(f"exported {len(survivors)} survivors of '{spec.name}' as {args.format}, sieved to {spec.sieve_depth}"
          + (f" ({computed} blocks sieved now)" if computed else ""), file=sys.stderr)
    return 0


def cmd_import_results(args) -> int:
    """LLR / PFGW results held against this product's: stored as another program's results; a residue that
    matches ours counts as an independent check of the block's worker; every disagreement is printed (exit 1)."""
    from darkreach_pipeline.formats import read_results_file
    from darkreach_pipeline.sieve_import import file_sha256
    from darkreach_pipeline.stores.reliability import open_reliability_store
    from darkreach_pipeline.verification import external

    spec = open_registry(settings.registry_url()).get(args.campaign)
    results = read_results_file(args.file, args.program)
    ours, damaged = read_stage_checked(settings.data_path(), "prp_results", campaign=spec.name)
    sieved, damaged_sieve = read_stage_checked(settings.data_path(), "sieve_survivors", campaign=spec.name)
    factored, damaged_p1 = read_stage_checked(settings.data_path(), "p_minus_1", campaign=spec.name)
    damaged_sieve += damaged_p1
    report_damaged(damaged + damaged_sieve)
    sha = file_sha256(args.file)
    frame = external.cross_check_frame(spec, results, ours, sieved, str(args.file), sha, factored)
    stored = external.store_external_checks(settings.data_path(), frame, spec.name, sha)
    reliability = open_reliability_store(settings.registry_url())
    for key, valid in external.block_validations(frame, ours).items():
        block = ours[ours["block"] == int(key.rsplit("/", 1)[1])]
        workers = set(block["worker_id"]) - {""} if "worker_id" in block else set()  # older rows: no worker
        for worker in workers:
            reliability.record_validation(key, worker, valid)
    counts = frame["verdict"].value_counts().to_dict()
    print(f"{len(frame)} results from {args.file} for '{spec.name}': "
          + ", ".join(f"{v} {c}" for v, c in sorted(counts.items())) + f"\nstored: {stored}")
    bad = frame[frame["verdict"].isin([external.OURS_WRONG, external.THEIRS_WRONG])]
    for row in bad.to_dict("records"):
        print(f"MISMATCH {row['expression']} (line {row['line']}): {row['program']} says {row['their_result']} "
              f"{row['their_res64']}, we say {row['our_result'] or 'removed by the sieve'} {row['our_res64']}: "
              f"{row['verdict']} ({row['note']})", file=sys.stderr)
    return 1 if len(bad) or damaged or damaged_sieve else 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_hours(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a number of hours above 0, got {text}")
    return value


def version_line() -> str:
    """What `darkreach --version` prints: this package and the pieces a deployment must keep in step (the Dagster
    family is pinned together; every machine of a fleet must run the same code), e.g. to compare containers."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    return (f"darkreach-pipeline {__version__} (python {sys.version.split()[0]}; dagster {installed('dagster')}; "
            f"dagster-celery {installed('dagster-celery')})")


class _VersionAction(argparse.Action):
    """--version on one line (argparse's own action wraps it at the terminal's width)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(version_line())
        parser.exit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="darkreach", description=__doc__)
    parser.add_argument("--version", action=_VersionAction, help="print the versions and exit")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="register a campaign file if new and run every unfinished block")
    p.add_argument("file")
    p.add_argument("--workers", type=_positive, default=os.cpu_count() or 1,
                   help="blocks run at once (default: cores)")
    p.add_argument("--blocks-per-run", type=_positive, default=None,
                   help="blocks per Dagster run (default: the campaign's blocks_per_run, else 1)")
    sieve = p.add_mutually_exclusive_group()
    sieve.add_argument("--campaign-sieve", dest="campaign_sieve", action="store_const", const="always",
                       default="auto", help="kbn, n!, p#: sieve the untested blocks in one campaign-wide sieve first "
                       "even where the estimate says it saves less than the extra run costs (default: when it pays)")
    sieve.add_argument("--no-campaign-sieve", dest="campaign_sieve", action="store_const", const="never",
                       help="each block sieves itself (no campaign-wide sieve first)")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("register", help="validate and register a campaign file, adding its blocks as partitions")
    p.add_argument("file")
    p.set_defaults(func=cmd_register)
    p = sub.add_parser("primes", help="print the primes found in a campaign")
    p.add_argument("name")
    p.add_argument("--format", choices=["csv", "table"], default="table")
    p.set_defaults(func=cmd_primes)
    p = sub.add_parser("status", help="per campaign: blocks done/running/failed, tests, primes, throughput, ETA")
    p.add_argument("name", nargs="?")
    p.set_defaults(func=cmd_status)
    p = sub.add_parser("ui", help="start the Dagster UI (dagster dev) on this deployment's instance")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    p.set_defaults(func=cmd_ui)
    p = sub.add_parser("worker", help="fleet mode: a celery worker executing steps of the runs (DARKREACH_BROKER)")
    p.add_argument("--queues", help=f"comma-separated (default: {WORKER_QUEUES}; with a GPU: "
                   f"{GPU_WORKER_QUEUES})")
    p.add_argument("--gpu", dest="gpu", action="store_const", const=True, default=None,
                   help="use the GPU (CuPy) for the steps it takes, listening on the gpu queue (default: when "
                        "CuPy finds a device)")
    p.add_argument("--no-gpu", dest="gpu", action="store_const", const=False, help="never use a GPU")
    p.add_argument("--concurrency", type=_positive, default=os.cpu_count() or 1,
                   help="steps at once (default: cores)")
    p.add_argument("-n", "--name", help="worker name, unique in the fleet (default: darkreach-<pid>; @host is added)")
    p.add_argument("--loglevel", default="INFO")
    p.add_argument("--no-wait", action="store_true",
                   help="start celery at once, without first waiting for the broker and the databases")
    p.set_defaults(func=cmd_worker)
    p = sub.add_parser("backfill", help="fleet mode: the daemon runs the unfinished blocks of a campaign (retried)")
    p.add_argument("name")
    p.add_argument("--blocks", help="comma-separated block keys (default: every unfinished block)")
    p.add_argument("--gpu", action="store_true",
                   help="GPU-eligible: the sieve and test steps go to GPU workers (as `gpu = true` in the campaign)")
    p.set_defaults(func=cmd_backfill)
    p = sub.add_parser("audit", help="verify a campaign's finished blocks (checksums) and re-derive a sample")
    p.add_argument("name")
    p.add_argument("--sample", type=int, default=None,
                   help="blocks to re-derive (default: 5%% of the finished blocks, at least one)")
    p.set_defaults(func=cmd_audit)
    p = sub.add_parser("import-sieve", help="use a sieve file (NewPGen, ABC, ABCD, ABC2) as a campaign's sieve")
    p.add_argument("campaign")
    p.add_argument("file")
    p.add_argument("--format", choices=["newpgen", "abc", "abcd", "abc2"], default=None,
                   help="default: detected from the first line")
    p.add_argument("--sieved-to", type=_positive, default=None,
                   help="the sieve's depth, for files whose header states none (ABC2, ABC without a comment)")
    p.add_argument("--factors", default=None, help="the sieve's factor file ('p | k*b^n+c' lines), re-verified")
    p.set_defaults(func=cmd_import_sieve)
    p = sub.add_parser("sieve", help="sieve a kbn campaign's untested blocks at once, deeper than before")
    p.add_argument("name")
    p.add_argument("--to", type=_positive, default=None,
                   help="the depth (largest sieve prime, below 2^32; default: auto over the untested range)")
    p.add_argument("--with", dest="with_campaign", default=None, metavar="OTHER",
                   help="the campaign of the same range with the other sign (n!-1 for n!+1): sieved in the same pass")
    p.set_defaults(func=cmd_sieve)
    p = sub.add_parser("export-sieve", help="write a campaign's survivors for LLR / PFGW")
    p.add_argument("campaign")
    p.add_argument("--format", choices=["abcd", "newpgen", "abc2", "abc"], default="abcd")
    p.add_argument("-o", "--output", default=None, help="file to write (default: standard output)")
    p.set_defaults(func=cmd_export_sieve)
    p = sub.add_parser("import-results", help="hold LLR's lresults.txt or a PFGW log against a campaign's results")
    p.add_argument("campaign")
    p.add_argument("file")
    p.add_argument("--program", choices=["llr", "pfgw"], default=None,
                   help="default: from the file name (lresults*, pfgw*) or its lines")
    p.set_defaults(func=cmd_import_results)
    p = sub.add_parser("plan", help="rank campaigns of a form by expected primes per CPU hour; write them as files")
    p.add_argument("form")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUES",
                   help="candidate values of a form parameter: k=3,5,7 or k=1..99:2 (repeat per parameter)")
    p.add_argument("--range", required=True, metavar="AXIS=MIN..MAX", help="the axis range, e.g. n=100000..200000")
    p.add_argument("--pieces", type=_positive, default=1, help="cut the range into this many proposals (default 1)")
    p.add_argument("--rank", choices=["primes", "top5000", "top20"], default="primes",
                   help="rank by expected primes, Top 5000 entries or top-20 entries per CPU hour")
    p.add_argument("--top", type=_positive, default=None, help="show and write only the best N")
    p.add_argument("--write", metavar="DIR", help="write each proposal as a ready campaign file in DIR")
    p.add_argument("--prefix", default="plan", help="campaign name prefix (default: plan)")
    p.add_argument("--model-costs", action="store_true",
                   help="price with the model only, ignoring the test costs this deployment measured")
    p.set_defaults(func=cmd_plan)
    p = sub.add_parser("feedback", help="per campaign: primes found vs expected, and push on / widen / pivot")
    p.add_argument("name", nargs="?")
    p.set_defaults(func=cmd_feedback)
    p = sub.add_parser("advise", help="fleet advisor: slow or degrading workers, block sizes, workers the queue needs")
    p.add_argument("--drain-hours", type=_positive_hours, default=24.0, help="finish the queue within this many hours")
    p.add_argument("--number", action="store_true", help="print only the worker slots needed (for an autoscaler)")
    p.set_defaults(func=cmd_advise)
    volunteer_commands.add_parsers(sub)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except FormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (CampaignError, SecretError, GpuUnavailableError) as exc:
        print(f"error: {redact(str(exc))}", file=sys.stderr)
        return 2


def entry() -> None:
    """The `darkreach` command: main(), then exit without interpreter finalization.

    Everything is written and committed before main() returns; tearing down the native libraries a
    command loaded (pyarrow's and PARI's threads and allocators) then aborted a finished command now
    and then ("terminate called without an active exception", SIGABRT in the final GC), turning a
    success into a failure. Flushing and exiting directly keeps the exit code the command's own."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":
    entry()
