"""End-to-end check of GPU routing in fleet mode, on one CPU host (about 1-2 minutes, so not in the test suite):
a PostgreSQL Dagster instance, the daemon, a CPU worker (`--no-gpu`, queues dagster,sieve,prp,cert) and a "GPU"
worker (`--gpu` with DARKREACH_GPU_ARRAY=numpy: the device code path on the CPU, queue gpu only), and
`darkreach backfill --gpu` of a kbn campaign. Every sieve_survivors and prp_results step must run on the GPU
worker (the CPU worker also listens on sieve and prp, so a step that was not routed would run there), with the
device arithmetic (DARKREACH_ARITH=fft), and the primes must be the known ones.

    PYTHONPATH=. .venv/bin/python benchmarks/gpu/check_fleet_routing.py

Needs PostgreSQL on 127.0.0.1:5432 (trust auth) and Redis on 127.0.0.1:6379 (DBs 9 and 10 are flushed)."""

from __future__ import annotations

import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "fleet")]

import redis  # noqa: E402
from conftest import toml_text  # noqa: E402
from fleet_helpers import (  # noqa: E402
    BIN,
    celery_steps,
    darkreach,
    expressions,
    fleet_databases,
    fleet_environment,
    start,
    start_daemon,
    stop,
)

# 3*2^n+1 is prime for n = 189, 201 and 209 in this range (OEIS A002253); 3*2^n+1 with n >= 100 is past 2^64.
CAMPAIGN = {"name": "gpurouting", "form": "kbn", "k": 3, "b": 2, "c": 1, "n_min": 150, "n_max": 249,
            "block_size": 50, "sieve_depth": 1000, "gpu": True}
KEYS = ["gpurouting/000000", "gpurouting/000001"]
EXPECTED = {"3*2^189+1", "3*2^201+1", "3*2^209+1"}
BROKER, BACKEND = "redis://127.0.0.1:6379/9", "redis://127.0.0.1:6379/10"


def main() -> int:
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

    # SIGTERM (a timeout) ends the check through its finally blocks: workers, daemon and databases go too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    with tempfile.TemporaryDirectory(prefix="gpu-routing-") as tmp, fleet_databases("darkreach_gpuroute") as dbs:
        tmp_path = Path(tmp)
        campaign_file = tmp_path / "gpurouting.toml"
        campaign_file.write_text(toml_text(CAMPAIGN))
        _, env = fleet_environment(tmp_path, *dbs, BROKER, BACKEND)
        env["DARKREACH_ARITH"] = "fft"  # the FFT (here: device) arithmetic even for these small numbers
        for url in (BROKER, BACKEND):
            redis.Redis.from_url(url).flushdb()
        import os

        os.environ.update(env)
        workers = {
            "cpu1": ["--no-gpu", "--queues", "dagster,sieve,prp,cert"],
            "gpu1": ["--gpu", "--queues", "gpu"],
        }
        processes, logs = [], {}
        try:
            for name, extra in workers.items():
                logs[name] = tmp_path / f"{name}.log"
                worker_env = {**env, "DARKREACH_HOME": str(tmp_path / name)}
                if name == "gpu1":
                    worker_env["DARKREACH_GPU_ARRAY"] = "numpy"
                processes.append(start([str(BIN / "darkreach"), "worker", "-n", name, "--concurrency", "1", *extra],
                                       worker_env, logs[name]))
            logs["daemon"] = tmp_path / "daemon.log"
            processes.append(start_daemon(env, logs["daemon"]))
            darkreach(["register", str(campaign_file)], env)
            darkreach(["backfill", "gpurouting", "--gpu"], env)
            instance = DagsterInstance.get()
            deadline = time.time() + 600
            while True:
                runs = instance.get_runs(filters=RunsFilter(tags={"darkreach/campaign": "gpurouting"}))
                done = [r for r in runs if r.status in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE)]
                if len(done) >= len(KEYS) and all(r.status == DagsterRunStatus.SUCCESS for r in done):
                    break
                failed = [r.run_id for r in done if r.status != DagsterRunStatus.SUCCESS]
                if failed or time.time() > deadline:
                    print(f"FAILED: runs {failed or 'not done in time'}; logs in {tmp_path}")
                    for name, log in logs.items():
                        print(f"--- {name}\n{log.read_text()[-3000:]}")
                    return 1
                time.sleep(3)
            where: Counter = Counter()
            for run in runs:
                assert run.tags.get("darkreach/gpu") == "true", run.tags
                for step, worker in celery_steps(instance, run.run_id):
                    where[(step, worker)] += 1
            print("steps by worker:", dict(where))
            routed = {step for step, worker in where if worker == "gpu1"}
            assert routed == {"sieve_survivors", "prp_results"}, where
            assert not {step for step, worker in where if worker == "cpu1"} & routed, where
            primes = darkreach(["primes", "gpurouting", "--format", "csv"], env).stdout
            assert expressions(primes) == EXPECTED, primes
            import pandas as pd

            rows = pd.concat(pd.read_parquet(f) for f in Path(env["DARKREACH_DATA"]).glob("prp_results/**/*.parquet"))
            arithmetic = Counter(a.split("/")[0] for a in rows["arithmetic"])
            print("prp_results rows by arithmetic:", dict(arithmetic))
            assert set(arithmetic) == {"numpy-ibdwt"}, arithmetic
            print("GPU routing end to end: OK;", primes.strip().splitlines()[1:])
            return 0
        finally:
            for process in reversed(processes):
                stop(process)


if __name__ == "__main__":
    sys.exit(main())
