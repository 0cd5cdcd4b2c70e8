"""Fleet mode against the embedded local run and the bare engine, on this machine.

1. bare: sieve each block with the engine and time KbnForm.test on every survivor, in this process
   (measured before and after the pipelines, averaged): the compute the pipelines must do.
2. local: `darkreach run --workers 2` (embedded: SQLite instance, in-process steps) on a fresh home: wall time.
3. fleet, 1 block per run: a PostgreSQL instance, the daemon, two `darkreach worker` celery processes
   (concurrency 1 each) on Redis, `dagster job backfill` of every block: wall time from the backfill to the
   last block certified; from the instance, each run's duration, its prp_results/sieve step durations and the
   engine seconds of its tests.
4. fleet, --per-run blocks per run: the same campaign under another name, its file (blocks_per_run) dropped
   into the campaign_files_sensor's inbox (`dagster job backfill` ignores BackfillPolicy: one run per block):
   the same measurements. Also `darkreach run --blocks-per-run` for the embedded mode.

Prints: throughput of each pipeline relative to the bare engine on 2 cores (bare seconds / 2 / wall), the
orchestration overhead per block (run seconds - sieve - tests, per block) in each mode, and the block size
(n values) at which fleet-mode overhead falls under 5% of the block's test time at this n.

Needs PostgreSQL on 127.0.0.1:5432 (trust auth) and Redis on 127.0.0.1:6379 (uses DBs 7 and 8).
Usage: PYTHONPATH=. python benchmarks/bench_fleet.py [--n-min 12000] [--blocks 8] [--block-size 150] [--per-run 4]
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC
from pathlib import Path

import psycopg2
import redis

from darkreach_pipeline import blocks
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.forms import form_for

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WRAP = "import os,signal,sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])"
BROKER, BACKEND = "redis://127.0.0.1:6379/7", "redis://127.0.0.1:6379/8"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def campaign(args, name: str) -> dict:
    return dict(name=name, form="kbn", k=3, b=2, c=1, n_min=args.n_min,
                n_max=args.n_min + args.blocks * args.block_size - 1, block_size=args.block_size,
                sieve_depth=args.depth)


def write_toml(fields: dict, folder: Path) -> Path:
    path = folder / f"{fields['name']}.toml"
    path.write_text("".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in fields.items()))
    return path


def bare(spec) -> tuple[float, int]:
    form = form_for(spec)
    seconds, tests = 0.0, 0
    for block in range(spec.block_count):
        sieved = blocks.sieve_frame(spec, block, blocks.candidate_frame(spec, block))
        for n in sieved.loc[sieved["status"] == blocks.SURVIVOR, "n"].astype(int):
            start = time.perf_counter()
            form.test(int(n))
            seconds += time.perf_counter() - start
            tests += 1
    return seconds, tests


def clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DARKREACH_") and k != "DAGSTER_HOME"}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(ROOT)
    return env


def local_run(toml: Path, workdir: Path, per_run: int) -> tuple[float, Path]:
    home = workdir / f"local-{per_run}"
    env = {**clean_env(), "DARKREACH_HOME": str(home)}
    start = time.perf_counter()
    subprocess.run([str(BIN / "darkreach"), "run", str(toml), "--workers", "2", "--blocks-per-run", str(per_run)],
                   env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, home


def _start(argv: list[str], env: dict, log_path: Path) -> subprocess.Popen:
    with log_path.open("w") as out:
        return subprocess.Popen([sys.executable, "-c", WRAP, *argv], env=env, cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _drop(databases: list[str]) -> None:
    """Drop the run's databases (a fresh connection: the server may have restarted meanwhile)."""
    for attempt in range(10):
        try:
            admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
            admin.autocommit = True
            with admin.cursor() as cur:
                for name in databases:
                    cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()
            return
        except psycopg2.OperationalError as exc:
            log(f"dropping {databases}: {exc}; retrying")
            time.sleep(3 * (attempt + 1))


def fleet_run(fields: dict, toml: Path, workdir: Path, per_run: int) -> dict:
    """Every block of the campaign on the fleet; returns wall time and per-run statistics. per_run = 1: a
    `dagster job backfill` (which launches one run per block whatever the BackfillPolicy); more: the campaign
    file, with blocks_per_run, dropped into the inbox of the daemon's campaign_files_sensor.

    wall = from the first run's creation to the last run's end (the same measure for both)."""
    suffix = uuid.uuid4().hex[:10]
    databases = [f"bench_fleet_dagster_{suffix}", f"bench_fleet_stores_{suffix}"]
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        for name in databases:
            cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    processes: list[subprocess.Popen] = []
    folder = workdir / f"fleet-{per_run}"
    dagster_home = folder / "dagster-home"
    dagster_home.mkdir(parents=True)
    shutil.copy(ROOT / "deploy" / "fleet" / "dagster.yaml", dagster_home / "dagster.yaml")
    stores = f"postgresql://postgres@127.0.0.1:5432/{databases[1]}"
    env = {**clean_env(), "DAGSTER_HOME": str(dagster_home), "DARKREACH_HOME": str(folder / "control"),
           "DARKREACH_PG_HOST": "127.0.0.1", "DARKREACH_PG_PORT": "5432", "DARKREACH_PG_USER": "postgres",
           "DARKREACH_PG_PASSWORD": "unused-with-trust-auth", "DARKREACH_PG_DB": databases[0],
           "DARKREACH_EXECUTOR": "celery", "DARKREACH_BROKER": BROKER, "DARKREACH_BACKEND": BACKEND,
           "DARKREACH_DATA": str(folder / "shared-data"), "DARKREACH_REGISTRY_URL": stores,
           "DARKREACH_CHECKPOINTS": stores}
    for url in (BROKER, BACKEND):
        redis.Redis.from_url(url).flushdb()
    try:
        for name in ("bench1", "bench2"):
            processes.append(_start([str(BIN / "darkreach"), "worker", "-n", name, "--concurrency", "1"],
                                    {**env, "DARKREACH_HOME": str(folder / name)}, folder / f"{name}.log"))
        if per_run == 1:
            subprocess.run([str(BIN / "darkreach"), "register", str(toml)], env=env, cwd=ROOT, check=True,
                           capture_output=True)
        else:
            inbox = folder / "control" / "campaigns"
            inbox.mkdir(parents=True)
            (inbox / toml.name).write_text(toml.read_text() + f"blocks_per_run = {per_run}\n")
        # Only the backfill's runs: no double checks of the (new, untrusted) workers' blocks, no summaries.
        for sensor in ("verification_sensor", "results_sensor"):
            subprocess.run([str(BIN / "dagster"), "sensor", "stop", sensor, "-w", str(ROOT / "workspace.yaml")],
                           env=env, cwd=ROOT, check=True, capture_output=True, timeout=300)
        processes.append(_start([str(BIN / "dagster-daemon"), "run", "-w", str(ROOT / "workspace.yaml")], env,
                                folder / "daemon.log"))
        spec = parse_campaign(fields)
        keys = spec.partition_keys()
        if per_run == 1:
            time.sleep(10)  # workers and daemon up (their start is not part of a backfill's cost)
            subprocess.run([str(BIN / "dagster"), "job", "backfill", "-w", str(ROOT / "workspace.yaml"), "-j",
                            "campaign_job", "--partitions", ",".join(keys), "--tags",
                            f'{{"darkreach/campaign": "{spec.name}"}}', "--noprompt"],
                           env=env, cwd=ROOT, check=True, capture_output=True, timeout=120)
        os.environ.update({k: env[k] for k in ("DAGSTER_HOME", "DARKREACH_PG_HOST", "DARKREACH_PG_PORT",
                                               "DARKREACH_PG_USER", "DARKREACH_PG_PASSWORD", "DARKREACH_PG_DB")})
        from dagster import AssetKey, DagsterInstance, RunsFilter

        instance = DagsterInstance.get()
        try:
            deadline = time.time() + 1200
            while True:
                certified = instance.get_materialized_partitions(AssetKey("certificates"))
                runs = instance.get_runs(filters=RunsFilter(job_name="campaign_job"))
                if set(keys) <= certified and runs and all(r.is_finished for r in runs):
                    break
                failed = [r.run_id for r in runs if r.is_finished and r.status.value != "SUCCESS"]
                if failed or time.time() > deadline:
                    raise RuntimeError(f"fleet backfill failed or timed out ({failed}); logs in {folder}")
                time.sleep(0.5)
            records = instance.get_run_records(filters=RunsFilter(job_name="campaign_job"))
            created = [r.create_timestamp.replace(tzinfo=r.create_timestamp.tzinfo or UTC).timestamp()
                       for r in records]
            wall = max(r.end_time for r in records) - min(created)
            run_seconds = prp_steps = sieve_steps = 0.0
            for run in runs:
                stats = instance.get_run_stats(run.run_id)
                run_seconds += stats.end_time - stats.start_time
                for step in instance.get_run_step_stats(run.run_id):
                    if step.step_key == "prp_results":
                        prp_steps += step.end_time - step.start_time
                    if step.step_key == "sieve_survivors":
                        sieve_steps += step.end_time - step.start_time
        finally:
            instance.dispose()
        from darkreach_pipeline.stores.results import read_stage

        results = read_stage(str(folder / "shared-data"), "prp_results", campaign=spec.name)
        return {"wall": wall, "runs": len(runs), "blocks": len(keys), "run_seconds": run_seconds,
                "prp_steps": prp_steps, "sieve_steps": sieve_steps,
                "engine_test_seconds": float(results["seconds"].sum()), "tests": len(results)}
    finally:
        for process in reversed(processes):
            _stop(process)
        _drop(databases)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-min", type=int, default=12000)
    parser.add_argument("--blocks", type=int, default=8)
    parser.add_argument("--block-size", type=int, default=150)
    parser.add_argument("--depth", type=int, default=100_000)
    parser.add_argument("--per-run", type=int, default=4)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    fields = campaign(args, "benchfleet")
    spec = parse_campaign(fields)
    toml = write_toml(fields, workdir)
    load_before = os.getloadavg()

    log("bare engine (1/2)")
    before, bare_tests = bare(spec)
    log(f"bare: {before:.2f} s for {bare_tests} tests")
    log("embedded local run, 2 workers")
    wall_local, _ = local_run(toml, workdir, 1)
    log(f"local: {wall_local:.2f} s wall; local, {args.per_run} blocks per run")
    wall_local_n, _ = local_run(toml, workdir, args.per_run)
    log(f"local: {wall_local:.2f} s wall; fleet, 1 block per run")
    one = fleet_run(fields, toml, workdir, 1)
    log(f"fleet, 1 block per run: {one}")
    log(f"fleet, {args.per_run} blocks per run")
    fields_n = campaign(args, "benchfleetn")
    many = fleet_run(fields_n, write_toml(fields_n, workdir), workdir, args.per_run)
    log(f"fleet, {args.per_run} blocks per run: {many}")
    log("bare engine (2/2)")
    after, _ = bare(spec)
    bare_seconds = (before + after) / 2
    load_after = os.getloadavg()
    for stats in (one, many):
        assert stats["tests"] == bare_tests, "the fleet and the bare engine tested different survivors"

    def overhead(stats: dict) -> float:
        return (stats["run_seconds"] - stats["engine_test_seconds"] - stats["sieve_steps"]) / stats["blocks"]

    survivors_per_n = bare_tests / (spec.axis_max - spec.axis_min + 1)
    print(f"campaign: 3*2^n+1, n = {spec.axis_min}..{spec.axis_max}, {spec.block_count} blocks of {spec.block_size}, "
          f"sieve depth {spec.sieve_depth}, {bare_tests} tests; load average {load_before[0]:.2f} before, "
          f"{load_after[0]:.2f} after")
    print("| measure | value |")
    print("|---|---:|")
    print(f"| bare engine, sum of test seconds (before / after) | {before:.2f} / {after:.2f} s |")
    print(f"| ideal wall on 2 cores (bare / 2) | {bare_seconds / 2:.2f} s |")
    print(f"| wall, embedded `darkreach run --workers 2` | {wall_local:.2f} s |")
    print(f"| wall, embedded, --blocks-per-run {args.per_run} | {wall_local_n:.2f} s |")
    print(f"| wall, fleet (2 celery workers), 1 block per run | {one['wall']:.2f} s |")
    print(f"| wall, fleet, {args.per_run} blocks per run via the sensor ({many['runs']} runs) | {many['wall']:.2f} s |")
    print(f"| throughput vs bare on 2 cores: local | {bare_seconds / 2 / wall_local:.3f} |")
    print(f"| throughput vs bare on 2 cores: local, {args.per_run} blocks per run | "
          f"{bare_seconds / 2 / wall_local_n:.3f} |")
    print(f"| throughput vs bare on 2 cores: fleet, 1 block per run | {bare_seconds / 2 / one['wall']:.3f} |")
    print(f"| throughput vs bare on 2 cores: fleet, {args.per_run} blocks per run | "
          f"{bare_seconds / 2 / many['wall']:.3f} |")
    print(f"| fleet / local throughput (1 block per run) | {wall_local / one['wall']:.3f} |")
    print(f"| fleet / local throughput ({args.per_run} blocks per run both) | {wall_local_n / many['wall']:.3f} |")
    print(f"| fleet prp_results step seconds / engine test seconds (1 per run) | "
          f"{one['prp_steps'] / one['engine_test_seconds']:.3f} |")
    print(f"| orchestration per block, fleet 1 per run (run - sieve - tests) | {overhead(one):.2f} s |")
    print(f"| orchestration per block, fleet {args.per_run} per run | {overhead(many):.2f} s |")
    for label, stats in (("1 block per run", one), (f"{args.per_run} blocks per run", many)):
        per_test = stats["engine_test_seconds"] / stats["tests"]  # measured in the same runs as the overhead
        size = overhead(stats) / (0.05 * per_test * survivors_per_n)
        print(f"| block size (n values) for fleet overhead < 5% at this n, {label} | {size:,.0f} |")
    print(f"| test seconds per n value at n = {spec.axis_min} (fleet runs) | "
          f"{one['engine_test_seconds'] / (spec.axis_max - spec.axis_min + 1):.4f} s |")


if __name__ == "__main__":
    main()
