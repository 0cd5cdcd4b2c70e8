"""A fleet worker is killed (kill -9 of its whole process group, as if its machine died) while it tests a block;
the other worker finishes the block in the same run, resuming from the block's checkpoint in PostgreSQL: every
candidate is tested exactly once and the results equal those of an embedded local run.

Broker: RabbitMQ (a fresh virtual host), which hands the dead worker's unacknowledged task to the other worker
as soon as its connection drops; result backend: Redis."""

import json
import os
import signal
import subprocess
import time
from collections import Counter

import pandas as pd
import redis
from conftest import toml_text
from fleet_helpers import (
    BIN,
    ROOT,
    backfill,
    celery_step_starts,
    celery_steps,
    check_alive,
    checkpoint_rows,
    darkreach,
    expressions,
    fleet_databases,
    fleet_environment,
    rabbitmq_vhost,
    start_daemon,
    start_worker,
    step_events,
    stop,
)

# One block of 100 exponents around 21,000 bits (about 12 tests of 1-2 s each, one Proth prime: 3*2^20909+1),
# long enough for checkpoints (every 10% of the block) to exist well before the step ends.
CAMPAIGN = {"name": "killed", "form": "kbn", "k": 3, "b": 2, "c": 1, "n_min": 20851, "n_max": 20950,
            "block_size": 100, "sieve_depth": 200000}
KEY = "killed/000000"
BACKEND = "redis://127.0.0.1:6379/7"
WORKERS = ("killw1", "killw2")
RESULT_COLUMNS = ["n", "expression", "digits", "result", "method", "res64", "residue_type", "certificate"]


def _prp_frame(data_dir) -> pd.DataFrame:
    from darkreach_pipeline.stores.results import read_stage

    return read_stage(str(data_dir), "prp_results", campaign="killed")


def test_killed_worker_step_resumes_on_the_other_worker(tmp_path, monkeypatch):
    campaign_file = tmp_path / "killed.toml"
    campaign_file.write_text(toml_text(CAMPAIGN))
    redis.Redis.from_url(BACKEND).flushdb()
    with fleet_databases("darkreach_kill") as (dagster_db, stores_db), rabbitmq_vhost() as broker:
        base, env = fleet_environment(tmp_path, dagster_db, stores_db, broker, BACKEND)
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
            backfill([KEY], "killed", env)

            from dagster import AssetKey, DagsterInstance, DagsterRunStatus, RunsFilter

            instance = DagsterInstance.get()
            # Wait until a worker runs prp_results and the block's checkpoint holds finished tests; kill it.
            deadline = time.time() + 150
            victim = None
            while victim is None:
                check_alive(processes, logs)
                runs = instance.get_runs(filters=RunsFilter(job_name="campaign_job"))
                if runs:
                    run_id = runs[0].run_id
                    assert "prp_results" not in step_events(instance, run_id, "STEP_SUCCESS"), \
                        "prp_results ended before a checkpoint was seen: make the block longer"
                    running = [w for step, w in celery_steps(instance, run_id) if step == "prp_results"]
                    rows = checkpoint_rows(stores_db, KEY)
                    if running and rows >= 2:
                        victim, rows_at_kill = running[0], rows
                        break
                assert time.time() < deadline, f"prp_results never checkpointed; logs in {tmp_path}"
                time.sleep(0.5)
            os.killpg(processes[victim].pid, signal.SIGKILL)
            processes[victim].wait(timeout=30)
            survivor = next(w for w in WORKERS if w != victim)
            killed_at = time.time()
            # The reference, started now so that it does not slow the fleet's start-up on a small machine.
            local = subprocess.Popen([str(BIN / "darkreach"), "run", str(campaign_file), "--workers", "1"],
                                     env=local_env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)

            deadline = time.time() + 200
            while True:
                run = instance.get_run_by_id(run_id)
                if run.is_finished:
                    break
                check_alive({k: p for k, p in processes.items() if k != victim}, logs)
                assert time.time() < deadline, f"run not finished after the kill; logs in {tmp_path}"
                time.sleep(2)
            recovered = time.time() - killed_at
            handed_over = min(t for t, step, w in celery_step_starts(instance, run_id)
                              if step == "prp_results" and w == survivor) - killed_at

            # The same run finished the block (the broker handed the task over; no run retry was needed).
            assert run.status == DagsterRunStatus.SUCCESS, run.status
            assert len(instance.get_runs(filters=RunsFilter(job_name="campaign_job"))) == 1
            prp_starts = [w for step, w in celery_steps(instance, run_id) if step == "prp_results"]
            assert prp_starts == [victim, survivor], prp_starts
            assert step_events(instance, run_id, "STEP_SUCCESS").count("prp_results") == 1
            after = [w for step, w in celery_steps(instance, run_id) if step != "prp_results"][-1:]
            assert after == [survivor]

            # It resumed from the checkpoint the dead worker wrote.
            records = instance.fetch_materializations(AssetKey("prp_results"), limit=10).records
            assert [r.partition_key for r in records] == [KEY]
            metadata = records[0].asset_materialization.metadata
            resumed = metadata["resumed_from"].value
            assert resumed.startswith(tuple(f"{k} finished tests" for k in range(rows_at_kill, 1000))), resumed
            restored = int(resumed.split()[0])
            certificates = instance.fetch_materializations(AssetKey("certificates"), limit=10).records
            assert [r.partition_key for r in certificates] == [KEY]

            # Each candidate exactly once: the dead worker's rows (restored) and the survivor's, nothing doubled.
            fleet = _prp_frame(tmp_path / "shared-data")
            assert fleet["n"].is_unique and len(fleet) > restored
            ids = {name: json.loads((tmp_path / name / "worker.json").read_text())["worker_id"] for name in WORKERS}
            by_worker = Counter(fleet["worker_id"])
            assert by_worker == {ids[victim]: restored, ids[survivor]: len(fleet) - restored}, by_worker
            first = fleet.sort_values("n").head(restored)
            assert set(first["worker_id"]) == {ids[victim]}  # the block's tests run in order

            # ... and equal to the embedded run's results, test by test.
            local_out, _ = local.communicate(timeout=240)
            assert local.returncode == 0, local_out
            reference = _prp_frame(tmp_path / "local" / "data")
            ours = fleet[RESULT_COLUMNS].sort_values("n", ignore_index=True)
            theirs = reference[RESULT_COLUMNS].sort_values("n", ignore_index=True)
            pd.testing.assert_frame_equal(ours, theirs)
            fleet_primes = expressions(darkreach(["primes", "killed", "--format", "csv"], env).stdout)
            assert fleet_primes == expressions(darkreach(["primes", "killed", "--format", "csv"], local_env).stdout)
            assert fleet_primes == {"3*2^20909+1"}
            print(f"killed {victim} after {rows_at_kill} checkpointed tests; {survivor} resumed from {restored}, "
                  f"{len(fleet)} tests in all; {survivor} took the step over {handed_over:.1f} s after the kill, "
                  f"the run finished {recovered:.1f} s after it")
        finally:
            if local is not None and local.poll() is None:
                local.kill()
                local.wait()
            for process in reversed(list(processes.values())):
                stop(process)
