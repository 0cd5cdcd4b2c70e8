"""Fleet mode for real: a PostgreSQL Dagster instance, the daemon, two `darkreach worker` celery processes on
Redis, a backfill of 4 blocks (two waves of the two runs a campaign may have at once); the primes must equal those
of an embedded local run of the same campaign."""

import subprocess
import time
from collections import Counter

import pytest
import redis
from conftest import toml_text
from fleet_helpers import (
    BIN,
    ROOT,
    darkreach,
    expressions,
    fleet_databases,
    fleet_environment,
    start_daemon,
    start_worker,
    stop,
)

CAMPAIGN = {"name": "fleet", "form": "kbn", "k": 3, "b": 2, "c": 1, "n_min": 1, "n_max": 200, "block_size": 50,
            "sieve_depth": 1000}
KEYS = [f"fleet/{i:06d}" for i in range(4)]
BROKER, BACKEND = "redis://127.0.0.1:6379/5", "redis://127.0.0.1:6379/6"
WORKERS = ("fleet1", "fleet2")


@pytest.fixture
def databases():
    """Two fresh databases: the Dagster instance and the project's stores (registry, costs, checkpoints)."""
    with fleet_databases() as names:
        yield names


def test_backfill_runs_on_two_celery_workers_with_postgres(tmp_path, databases, monkeypatch):
    dagster_db, stores_db = databases
    campaign_file = tmp_path / "fleet.toml"
    campaign_file.write_text(toml_text(CAMPAIGN))
    base, env = fleet_environment(tmp_path, dagster_db, stores_db, BROKER, BACKEND)

    # The reference: the same campaign on the embedded default (fresh home, no fleet variables), meanwhile.
    local_env = {**base, "DARKREACH_HOME": str(tmp_path / "local")}
    local = subprocess.Popen([str(BIN / "darkreach"), "run", str(campaign_file), "--workers", "1"], env=local_env,
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for url in (BROKER, BACKEND):
        redis.Redis.from_url(url).flushdb()
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    processes: list[subprocess.Popen] = []
    logs = {name: tmp_path / f"{name}.log" for name in (*WORKERS, "daemon")}
    try:
        for name in WORKERS:  # each "machine" has its own DARKREACH_HOME (worker id, progress files)
            processes.append(start_worker(name, env, tmp_path, logs[name]))
        processes.append(start_daemon(env, logs["daemon"]))
        darkreach(["register", str(campaign_file)], env)
        backfill = subprocess.run(
            [str(BIN / "dagster"), "job", "backfill", "-w", str(ROOT / "workspace.yaml"), "-j", "campaign_job",
             "--partitions", ",".join(KEYS), "--tags", '{"darkreach/campaign": "fleet"}', "--noprompt"],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
        )
        assert backfill.returncode == 0, backfill.stdout + backfill.stderr

        from dagster import AssetKey, DagsterInstance, DagsterRunStatus, RunsFilter

        instance = DagsterInstance.get()
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        deadline = time.time() + 360
        while True:
            runs = instance.get_runs(filters=RunsFilter(job_name="campaign_job"))
            certified = instance.get_materialized_partitions(AssetKey("certificates"))
            finished = [r for r in runs if r.status in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE,
                                                        DagsterRunStatus.CANCELED)]
            if set(KEYS) <= certified and len(finished) >= len(KEYS):
                break
            failed = [r.tags.get("dagster/partition") for r in finished if r.status != DagsterRunStatus.SUCCESS]
            assert not failed, f"runs failed for {failed}; daemon log {logs['daemon']}"
            for process, name in zip(processes, (*WORKERS, "daemon"), strict=True):
                assert process.poll() is None, f"{name} died: {logs[name].read_text()[-3000:]}"
            states = [(r.tags.get("dagster/partition"), r.status.value) for r in runs]
            assert time.time() < deadline, f"not done in time: certified {sorted(certified)}, runs {states}"
            time.sleep(1)

        # Every block exactly once: one successful campaign_job run and one certificates materialisation each.
        assert all(r.status == DagsterRunStatus.SUCCESS for r in runs), [(r.run_id, r.status) for r in runs]
        assert sorted(r.tags["dagster/partition"] for r in runs) == KEYS
        assert all(r.tags.get("darkreach/campaign") == "fleet" for r in runs)
        records = instance.fetch_materializations(AssetKey("certificates"), limit=100).records
        assert Counter(rec.partition_key for rec in records) == Counter(KEYS)

        # Every step ran in a celery worker, and both workers did some of them.
        hosts: Counter = Counter()
        for run in runs:
            steps_done, steps_in_celery = set(), set()
            for entry in instance.all_logs(run.run_id):
                event = entry.dagster_event
                if event is None:
                    continue
                if event.event_type_value == "STEP_SUCCESS":
                    steps_done.add(event.step_key)
                if event.event_type_value == "ENGINE_EVENT" and "in celery worker" in (event.message or ""):
                    steps_in_celery.add(event.step_key)
                    hosts[str(event.engine_event_data.metadata["Celery worker"].value).split("@")[0]] += 1
            assert steps_done and steps_done == steps_in_celery, (run.tags["dagster/partition"], steps_done,
                                                                  steps_in_celery)
        assert set(hosts) == set(WORKERS), hosts
        assert all(n > 0 for n in hosts.values()), hosts

        # The same primes as the embedded local run.
        local_out, _ = local.communicate(timeout=240)
        assert local.returncode == 0, local_out
        fleet_primes = expressions(darkreach(["primes", "fleet", "--format", "csv"], env).stdout)
        local_primes = expressions(darkreach(["primes", "fleet", "--format", "csv"], local_env).stdout)
        assert local_primes and fleet_primes == local_primes
    finally:
        if local.poll() is None:
            local.kill()
            local.wait()
        for process in reversed(processes):
            stop(process)
