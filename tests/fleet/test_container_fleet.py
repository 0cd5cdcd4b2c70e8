"""The product image and the container fleet, for real (README "Containers"): the image built by
deploy/build-local-images.sh, run by podman-compose from deploy/docker-compose.yml with
deploy/docker-compose.host-services.yml (this machine's PostgreSQL, RabbitMQ and Redis, the host's network).

The webserver, the daemon and two worker containers run a campaign backfill (`darkreach backfill`, executed by
the daemon); one worker container is killed (`podman kill`) while it tests a block; the campaign completes, every
candidate is tested exactly once, and its results and primes equal those of an embedded `darkreach run` on the
host.

Minutes of work on a 2-core machine (the build alone takes ~10 min), so not part of the default suite: set
RUN_CONTAINER_CHECK=1 after building the image, or run deploy/check-containers.sh, which does both. Needs root,
podman, runc, podman-compose and the services of the other fleet tests."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter

import pandas as pd
import pytest
import redis
from conftest import toml_text
from fleet_helpers import (
    BIN,
    ROOT,
    celery_step_starts,
    checkpoint_rows,
    expressions,
    fleet_databases,
    fleet_environment,
    rabbitmq_vhost,
    run_block,
    step_events,
)

pytestmark = pytest.mark.skipif(
    os.environ.get("RUN_CONTAINER_CHECK") != "1",
    reason="needs the built image and minutes: deploy/check-containers.sh (or RUN_CONTAINER_CHECK=1)")

# Not DARKREACH_*: tests/conftest.py removes those from the environment of every test.
IMAGE = os.environ.get("CONTAINER_CHECK_IMAGE", "localhost/darkreach-pipeline:latest")
PODMAN_ENV = {
    "CONTAINERS_CONF": os.environ.get("CONTAINERS_CONF", str(ROOT / "deploy" / "podman" / "containers.conf")),
    "CONTAINERS_STORAGE_CONF": os.environ.get("CONTAINERS_STORAGE_CONF",
                                              str(ROOT / "deploy" / "podman" / "storage.conf")),
}
# Two blocks of 100 exponents around 21,000 bits (about 12 tests of 1-2 s each; 3*2^20909+1 is prime), long enough
# for a block's checkpoint to hold finished tests well before its step ends.
CAMPAIGN = {"name": "boxed", "form": "kbn", "k": 3, "b": 2, "c": 1, "n_min": 20851, "n_max": 21050,
            "block_size": 100, "sieve_depth": 200000}
KEYS = [f"boxed/{i:06d}" for i in range(2)]
BACKEND = "redis://127.0.0.1:6379/14"
RESULT_COLUMNS = ["n", "expression", "digits", "result", "method", "res64", "residue_type", "certificate"]


def podman(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(["podman", *args], env={**os.environ, **PODMAN_ENV}, capture_output=True, text=True,
                          timeout=timeout)
    assert not check or done.returncode == 0, f"podman {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def image() -> str:
    if shutil.which("podman") is None or podman("image", "exists", IMAGE, check=False).returncode != 0:
        pytest.fail(f"no image {IMAGE}: build it with deploy/build-local-images.sh")
    return IMAGE


def test_image_as_users_get_it(image):
    config = podman("image", "inspect", "--format",
                    "{{.Config.User}}|{{.Size}}|{{json .Config.Healthcheck}}|{{json .Config.Cmd}}", image).stdout
    user, size, health, cmd = config.strip().split("|")
    assert user == "10001:10001", user
    assert "server_info" in health and "DAGSTER_WEBSERVER_PORT" in health, health  # kept: --format docker
    assert "dagster-webserver" in cmd, cmd
    ran = podman("run", "--rm", image, "python", "-c",
                 "import os, subprocess, sys; print(os.getuid(), os.getgid()); sys.stdout.flush(); "
                 "subprocess.run(['darkreach', '--version'], check=True); "
                 "subprocess.run(['darkreach', 'worker', '--help'], check=True)", timeout=180).stdout
    ids, version, usage = ran.split("\n", 2)
    assert ids == "10001 10001", ids
    expected = subprocess.run([str(BIN / "darkreach"), "--version"], capture_output=True, text=True, timeout=120)
    # The same package, Dagster family and Celery integration as this checkout (python may differ).
    assert re.sub(r"python [^;]+;", "", version) == re.sub(r"python [^;]+;", "", expected.stdout.strip()), version
    assert usage.startswith("usage: darkreach worker") and "--concurrency" in usage, usage
    print(f"image {image}: {int(size) / 1e6:.0f} MB; {version}")


def _env_file(values: dict[str, str]) -> str:
    """deploy/env.example with VALUES filled in: every name set here must be one it documents."""
    lines, documented = [], set()
    for line in (ROOT / "deploy" / "env.example").read_text().splitlines():
        name, sep, _ = line.partition("=")
        if sep and not line.startswith("#"):
            documented.add(name)
            line = f"{name}={values.get(name, _)}"
        lines.append(line)
    assert set(values) <= documented, sorted(set(values) - documented)
    return "\n".join(lines) + "\n"


def _wait(condition, seconds: float, what: str, every: float = 1.0):
    end = time.time() + seconds
    while True:
        value = condition()
        if value:
            return value
        assert time.time() < end, what
        time.sleep(every)


def _prp_frame(data_dir: str) -> pd.DataFrame:
    from darkreach_pipeline.stores.results import read_stage

    return read_stage(data_dir, "prp_results", campaign="boxed")


def test_container_fleet_backfill_survives_a_killed_worker(image, tmp_path, monkeypatch):
    assert shutil.which("podman-compose", path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"), \
        "podman-compose is missing: pip install podman-compose"
    campaign_file = tmp_path / "boxed.toml"
    campaign_file.write_text(toml_text(CAMPAIGN))
    redis.Redis.from_url(BACKEND).flushdb()
    # The project's compose files as shipped, with a deploy/.env written from env.example (the checkout's own
    # deploy/.env, if any, stays untouched).
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    for name in ("docker-compose.yml", "docker-compose.host-services.yml"):
        shutil.copy(ROOT / "deploy" / name, deploy / name)
    shutil.copytree(ROOT / "deploy" / "fleet", deploy / "fleet")
    project = f"darkreach_ctr_{uuid.uuid4().hex[:8]}"
    compose = [str(BIN / "podman-compose"), "-p", project, "-f", str(deploy / "docker-compose.yml"),
               "-f", str(deploy / "docker-compose.host-services.yml")]
    # Compose interpolation prefers the process environment to deploy/.env: leave none of ours in it.
    compose_env = {**{k: v for k, v in os.environ.items() if not k.startswith(("DARKREACH_", "DAGSTER_"))},
                   **PODMAN_ENV}

    def containers(service: str) -> list[str]:
        names = podman("ps", "-a", "--format", "{{.Names}}", "--filter", f"label=io.podman.compose.project={project}",
                       "--filter", f"label=com.docker.compose.service={service}").stdout.split()
        return sorted(names)

    with fleet_databases("darkreach_ctr") as (dagster_db, stores_db), rabbitmq_vhost() as broker:
        base, env = fleet_environment(tmp_path, dagster_db, stores_db, broker, BACKEND)
        for name, value in env.items():  # this process reads the same Dagster instance as the containers
            monkeypatch.setenv(name, value)
        ui_port = free_port()
        (deploy / ".env").write_text(_env_file({
            "DARKREACH_PG_PASSWORD": "unused-with-trust-auth", "REDIS_PASSWORD": "unused-host-broker",
            "DARKREACH_PG_HOST": "127.0.0.1", "DARKREACH_PG_PORT": "5432", "DARKREACH_PG_USER": "postgres",
            "DARKREACH_PG_DB": dagster_db, "DARKREACH_STORE_DB": stores_db, "DARKREACH_IMAGE": image,
            "DARKREACH_WORKER_CONCURRENCY": "1", "DARKREACH_SECRET": env["DARKREACH_SECRET"],
            "DARKREACH_HOST_BROKER": broker, "DARKREACH_HOST_BACKEND": BACKEND, "DARKREACH_UI_PORT": str(ui_port),
        }))
        local = None
        try:
            started = time.time()
            # As deploy/docker-compose.host-services.yml says: the Dagster schema first, then the services.
            for step in (["run", "--rm", "migrate"],
                         ["up", "-d", "--no-build", "--scale", "worker=2", "webserver", "daemon", "worker"]):
                done = subprocess.run([*compose, *step], env=compose_env, cwd=deploy, capture_output=True, text=True,
                                      timeout=600)
                assert done.returncode == 0, f"{step}: {done.stdout[-5000:]}\n{done.stderr[-5000:]}"
            (webserver,), (daemon,), workers = containers("webserver"), containers("daemon"), containers("worker")
            assert len(workers) == 2, workers
            # The webserver answers its image's health check (podman runs it on demand: no systemd timers here).
            _wait(lambda: podman("healthcheck", "run", webserver, check=False).returncode == 0, 240,
                  f"webserver never healthy: {podman('logs', webserver, check=False).stderr[-3000:]}", every=3)
            up_seconds = time.time() - started

            def inside(*argv: str, timeout: float = 300) -> str:
                return podman("exec", webserver, *argv, timeout=timeout).stdout

            podman("cp", str(campaign_file), f"{webserver}:/tmp/boxed.toml")
            inside("darkreach", "register", "/tmp/boxed.toml")
            backfill_id = inside("darkreach", "backfill", "boxed").split()[1].rstrip(":")

            from dagster import AssetKey, DagsterInstance, DagsterRunStatus, RunsFilter

            instance = DagsterInstance.get()

            def runs():
                return instance.get_runs(filters=RunsFilter(tags={"dagster/backfill": backfill_id}))

            # Each worker container's Celery name: on the host's network all share the host's hostname, so the
            # override gives each a random name (kept in its DARKREACH_HOME); two equal names would crash one.
            celery_names = {podman("exec", w, "python", "-c", "import os, socket; print(open(os.environ["
                                   "'DARKREACH_HOME'] + '/celery-name').read().strip() + '@' + socket.gethostname())"
                                   ).stdout.strip(): w for w in workers}
            assert len(celery_names) == 2, f"the workers' Celery names clash: {celery_names}"

            def testing():
                """(run id, block, worker container) of a prp_results step whose block has checkpointed tests."""
                for run in runs():
                    if run.is_finished or "prp_results" in step_events(instance, run.run_id, "STEP_SUCCESS"):
                        continue
                    starts = [w for _, step, w in celery_step_starts(instance, run.run_id, with_host=True)
                              if step == "prp_results"]
                    if starts and checkpoint_rows(stores_db, run_block(run)) >= 2:
                        return run.run_id, run_block(run), starts[-1]
                return None

            _, block, worker_name = _wait(testing, 300, f"no block was ever testing; logs: podman logs {daemon}",
                                               every=0.5)
            rows_at_kill = checkpoint_rows(stores_db, block)
            victim = celery_names[worker_name]
            podman("kill", victim)
            killed_at = time.time()
            # The reference, started now so that it does not slow the fleet's start-up on a small machine.
            local_env = {**base, "DARKREACH_HOME": str(tmp_path / "local")}
            local = subprocess.Popen([str(BIN / "darkreach"), "run", str(campaign_file), "--workers", "1"],
                                     env=local_env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)

            def finished():
                certified = instance.get_materialized_partitions(AssetKey("certificates"))
                status = instance.get_backfill(backfill_id).status.value
                everything = runs()
                done = set(KEYS) <= certified and all(r.is_finished for r in everything) and status not in (
                    "REQUESTED", "CANCELING", "FAILING")
                return everything if done else None

            all_runs = _wait(finished, 400, f"the campaign did not complete after the kill; podman logs {daemon}",
                             every=2)
            recovered = time.time() - killed_at

            # Every block has exactly one successful run (a failed one may have been retried).
            succeeded = Counter(run_block(r) for r in all_runs if r.status == DagsterRunStatus.SUCCESS)
            assert succeeded == Counter(KEYS), [(run_block(r), r.status.value) for r in all_runs]
            # The killed block's step was taken over and resumed from the checkpoint the dead worker wrote.
            prp_starts = [w for r in reversed(all_runs) if run_block(r) == block
                          for _, step, w in celery_step_starts(instance, r.run_id, with_host=True)
                          if step == "prp_results"]
            assert len(prp_starts) >= 2 and prp_starts[0] == worker_name, prp_starts
            records = instance.fetch_materializations(AssetKey("prp_results"), limit=10).records
            latest = next(r for r in records if r.partition_key == block)
            resumed = latest.asset_materialization.metadata["resumed_from"].value
            assert int(resumed.split()[0]) >= rows_at_kill, (resumed, rows_at_kill)

            # Each candidate exactly once, equal to the embedded run test by test; the same primes.
            volume = podman("volume", "inspect", "--format", "{{.Mountpoint}}", f"{project}_darkreach_data").stdout
            fleet = _prp_frame(volume.strip())
            assert fleet["n"].is_unique
            local_out, _ = local.communicate(timeout=400)
            assert local.returncode == 0, local_out
            reference = _prp_frame(str(tmp_path / "local" / "data"))
            pd.testing.assert_frame_equal(fleet[RESULT_COLUMNS].sort_values("n", ignore_index=True),
                                          reference[RESULT_COLUMNS].sort_values("n", ignore_index=True))
            boxed_primes = expressions(inside("darkreach", "primes", "boxed", "--format", "csv"))
            local_primes = expressions(subprocess.run(
                [str(BIN / "darkreach"), "primes", "boxed", "--format", "csv"], env=local_env, capture_output=True,
                text=True, timeout=300, check=True).stdout)
            assert boxed_primes == local_primes and "3*2^20909+1" in boxed_primes, (boxed_primes, local_primes)
            print(f"containers up and healthy in {up_seconds:.0f} s; killed {victim} ({worker_name}) after "
                  f"{rows_at_kill} checkpointed tests of {block}; resumed from {resumed}; the campaign completed "
                  f"{recovered:.0f} s after the kill; {len(fleet)} tests, primes {sorted(boxed_primes)}")
        finally:
            if local is not None and local.poll() is None:
                local.kill()
                local.wait()
            for name in podman("ps", "-a", "--format", "{{.Names}}", "--filter",
                               f"label=io.podman.compose.project={project}", check=False).stdout.split():
                logs = podman("logs", name, check=False, timeout=60)
                (tmp_path / f"{name}.log").write_text(logs.stdout + logs.stderr)
            # --remove-orphans: `down` knows the first replica of a scaled service only (podman-compose 1.6).
            down = subprocess.run([*compose, "down", "-v", "--remove-orphans", "-t", "10"], env=compose_env,
                                  cwd=deploy, capture_output=True, text=True, timeout=300)
            print(f"container logs in {tmp_path}", file=sys.stderr)
            # Whatever `down` missed is removed by the project's label, and fails the test.
            project_label = f"label=io.podman.compose.project={project}"
            left = podman("ps", "-a", "-q", "--filter", project_label, check=False).stdout.split()
            volumes = podman("volume", "ls", "-q", "--filter", project_label, check=False).stdout.split()
            if left:
                podman("rm", "-f", "-t", "0", *left, check=False)
            if volumes:
                podman("volume", "rm", "-f", *volumes, check=False)
            assert not left and not volumes, f"down left {left} {volumes}: {down.stdout[-3000:]}\n{down.stderr[-3000:]}"
