"""PostgreSQL (the Dagster instance and the project's stores) is restarted with the machine's own service command
while a fleet backfill runs steps; the backfill completes once the server is back, no block lost or doubled, and
the results equal the engine's own (no Dagster, no database).

The restart is short (pg_ctlcluster restart, fast mode: about 2 s) because other tests on this machine may use the
server at the same time. What carries the fleet over it: Dagster's PostgreSQL storage retries connections (5
attempts, exponential from 0.2 s), the project's stores back off (10 s, 20 s, ...; darkreach_pipeline/backoff.py)
and replace pooled connections that died (pool_pre_ping), and run retries (deploy/fleet/dagster.yaml) re-execute a
run that failed anyway, from its failed step."""

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import psycopg2
import redis
from conftest import toml_text
from fleet_helpers import (
    ROOT,
    check_alive,
    darkreach,
    expressions,
    fleet_databases,
    fleet_environment,
    run_block,
    start_daemon,
    start_worker,
    step_events,
    stop,
)

# Riesel 3*2^n-1 over n = 4001..5400 in 4 blocks of ~20 tests, seconds each (primes at n = 4204 and 5134).
CAMPAIGN = {"name": "restart", "form": "kbn", "k": 3, "b": 2, "c": -1, "n_min": 4001, "n_max": 5400,
            "block_size": 350, "sieve_depth": 20000}
KEYS = [f"restart/{i:06d}" for i in range(4)]
BROKER, BACKEND = "redis://127.0.0.1:6379/10", "redis://127.0.0.1:6379/11"
WORKERS = ("pgw1", "pgw2")
REFERENCE = """
import sys
import pandas as pd
from darkreach_pipeline import blocks
from darkreach_pipeline.campaign import load_campaign
spec = load_campaign(sys.argv[1])
frames = []
for block in range(spec.block_count):
    sieved = blocks.sieve_frame(spec, block, blocks.candidate_frame(spec, block))
    frames.append(blocks.test_frame(spec, block, sieved))
pd.concat(frames, ignore_index=True).to_parquet(sys.argv[2])
"""
RESULT_COLUMNS = ["n", "expression", "digits", "result", "method", "res64", "residue_type", "certificate"]


def _server_started_at() -> str:
    conn = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres", connect_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_postmaster_start_time()")
            return str(cur.fetchone()[0])
    finally:
        conn.close()


def _restart_postgres() -> float:
    """The machine's service command (as .ci/run starts the server); returns the seconds it took."""
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[0]
    start = time.time()
    done = subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    for _ in range(60):
        if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"]).returncode == 0:
            break
        time.sleep(0.5)
    return time.time() - start


def _retrying(fn, seconds: float = 60.0):
    """The test's own reads of the instance, waiting out the restart."""
    end = time.time() + seconds
    while True:
        try:
            return fn()
        except Exception:
            if time.time() > end:
                raise
            time.sleep(1)


def test_backfill_completes_across_a_postgres_restart(tmp_path, monkeypatch):
    campaign_file = tmp_path / "restart.toml"
    campaign_file.write_text(toml_text(CAMPAIGN))
    for url in (BROKER, BACKEND):
        redis.Redis.from_url(url).flushdb()
    with fleet_databases("darkreach_restart") as (dagster_db, stores_db):
        base, env = fleet_environment(tmp_path, dagster_db, stores_db, BROKER, BACKEND)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        local_env = {**base, "DARKREACH_HOME": str(tmp_path / "local")}
        local = None
        logs = {name: tmp_path / f"{name}.log" for name in (*WORKERS, "daemon")}
        processes = {}
        try:
            for name in WORKERS:
                processes[name] = start_worker(name, env, tmp_path, logs[name])
            processes["daemon"] = start_daemon(env, logs["daemon"])
            darkreach(["register", str(campaign_file)], env)
            # An asset backfill run by the daemon (`darkreach backfill`): it waits for retried runs.
            launched = darkreach(["backfill", "restart"], env).stdout
            backfill_id = launched.split()[1].rstrip(":")

            from dagster import AssetKey, DagsterInstance, DagsterRunStatus, RunsFilter

            instance = DagsterInstance.get()

            def runs():
                return instance.get_runs(filters=RunsFilter(tags={"dagster/backfill": backfill_id}))

            # Restart while blocks are being tested: at least one block finished, at least one prp_results running.
            deadline = time.time() + 150
            while True:
                check_alive(processes, logs)
                certified = instance.get_materialized_partitions(AssetKey("certificates"))
                testing = [r for r in runs() if not r.is_finished
                           and "prp_results" in step_events(instance, r.run_id, "STEP_START")
                           and "prp_results" not in step_events(instance, r.run_id, "STEP_SUCCESS")]
                if certified and testing:
                    break
                assert len(certified) < len(KEYS), "the backfill ended before the restart: make the blocks longer"
                assert time.time() < deadline, f"no block was being tested; logs in {tmp_path}"
                time.sleep(0.5)
            before = _server_started_at()
            in_progress = sorted(run_block(r) for r in runs() if not r.is_finished)
            outage = _restart_postgres()
            assert _server_started_at() != before, "the server did not restart"
            # The reference: the engine alone (no Dagster, no database) on the same campaign, started now so that
            # it does not slow the fleet's start-up on a small machine.
            local = subprocess.Popen([sys.executable, "-c", REFERENCE, str(campaign_file), str(tmp_path / "ref.pq")],
                                     env=local_env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)

            deadline = time.time() + 200
            while True:
                check_alive(processes, logs)
                all_runs = _retrying(runs)
                certified = _retrying(lambda: instance.get_materialized_partitions(AssetKey("certificates")))
                backfill = _retrying(lambda: instance.get_backfill(backfill_id))
                if set(KEYS) <= certified and all(r.is_finished for r in all_runs) and backfill.status.value not in (
                        "REQUESTED", "CANCELING", "FAILING"):
                    break
                assert time.time() < deadline, (
                    f"backfill not done: certified {sorted(certified)}, "
                    f"runs {[(run_block(r), r.status.value) for r in all_runs]}; logs {tmp_path}")
                time.sleep(2)

            # No partition lost: every block has a successful run (a failed run may have been retried) ...
            succeeded = Counter(run_block(r) for r in all_runs if r.status == DagsterRunStatus.SUCCESS)
            assert set(succeeded) == set(KEYS), [(run_block(r), r.status.value) for r in all_runs]
            assert all(n == 1 for n in succeeded.values()), succeeded
            assert backfill.status.value == "COMPLETED_SUCCESS", backfill.status
            failed = [r for r in all_runs if r.status != DagsterRunStatus.SUCCESS]
            assert all(r.tags.get("dagster/parent_run_id") is None for r in failed), "a retry failed"
            # ... and nothing doubled: one certificates materialisation per block, each candidate tested once.
            records = instance.fetch_materializations(AssetKey("certificates"), limit=100).records
            assert Counter(rec.partition_key for rec in records) == Counter(KEYS)

            from darkreach_pipeline.stores.results import read_stage

            fleet = read_stage(str(tmp_path / "shared-data"), "prp_results", campaign="restart")
            assert fleet["n"].is_unique
            local_out, _ = local.communicate(timeout=240)
            assert local.returncode == 0, local_out
            reference = pd.read_parquet(tmp_path / "ref.pq")
            pd.testing.assert_frame_equal(fleet[RESULT_COLUMNS].sort_values("n", ignore_index=True),
                                          reference[RESULT_COLUMNS].sort_values("n", ignore_index=True))
            fleet_primes = expressions(darkreach(["primes", "restart", "--format", "csv"], env).stdout)
            assert fleet_primes == {"3*2^4204-1", "3*2^5134-1"}  # OEIS A002235

            waited = sum(logs[w].read_text().count("unavailable (") for w in WORKERS)
            print(f"restarted PostgreSQL in {outage:.1f} s with blocks {in_progress} running; "
                  f"{len(failed)} failed run(s) retried, {waited} store back-off(s) in the workers")
        finally:
            if local is not None and local.poll() is None:
                local.kill()
                local.wait()
            for process in reversed(list(processes.values())):
                stop(process)
