"""Helpers of the fleet tests: fresh PostgreSQL databases, a RabbitMQ virtual host, the fleet environment, the
daemon and `darkreach worker` processes, and waiting for runs."""

import contextlib
import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
WRAP = "import os,signal,sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])"
FLEET_ENV = ("DAGSTER_HOME", "DARKREACH_DATA", "DARKREACH_REGISTRY_URL", "DARKREACH_CHECKPOINTS", "DARKREACH_EXECUTOR",
             "DARKREACH_BROKER", "DARKREACH_BACKEND")
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres"}


def _admin(deadline: float = 60.0):
    """An autocommit connection to the server, waiting for it (another test may be restarting it)."""
    end = time.time() + deadline
    while True:
        try:
            admin = psycopg2.connect(**PG, connect_timeout=5)
            admin.autocommit = True
            return admin
        except psycopg2.OperationalError:
            if time.time() > end:
                raise
            time.sleep(1)


@contextlib.contextmanager
def fleet_databases(prefix: str = "darkreach_fleet") -> Iterator[tuple[str, str]]:
    """Two fresh databases: the Dagster instance and the project's stores (registry, costs, checkpoints)."""
    suffix = uuid.uuid4().hex[:10]
    names = (f"{prefix}_dagster_{suffix}", f"{prefix}_stores_{suffix}")
    admin = _admin()
    try:
        with admin.cursor() as cur:
            for name in names:
                cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        admin.close()
    try:
        yield names
    finally:
        admin = _admin()  # a new connection: the server may have been restarted meanwhile
        try:
            with admin.cursor() as cur:
                for name in names:
                    cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            admin.close()


@contextlib.contextmanager
def rabbitmq_vhost() -> Iterator[str]:
    """A fresh RabbitMQ virtual host on 127.0.0.1:5672 (guest/guest), deleted afterwards: the broker URL."""
    vhost = f"darkreach_test_{uuid.uuid4().hex[:10]}"
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True, capture_output=True, timeout=60)
    try:
        subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"], check=True,
                       capture_output=True, timeout=60)
        yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    finally:
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True, timeout=60)


def fleet_environment(tmp_path: Path, dagster_db: str, stores_db: str, broker: str, backend: str
                      ) -> tuple[dict, dict]:
    """(base, env): the environment without any fleet variable (for an embedded reference run), and the fleet's
    (PostgreSQL instance from deploy/fleet/dagster.yaml, stores in PostgreSQL, shared data folder)."""
    base = {k: v for k, v in os.environ.items() if k not in FLEET_ENV and not k.startswith("DARKREACH_")}
    base["PATH"] = f"{BIN}{os.pathsep}{base.get('PATH', '')}"
    dagster_home = tmp_path / "dagster-home"
    dagster_home.mkdir()
    shutil.copy(ROOT / "deploy" / "fleet" / "dagster.yaml", dagster_home / "dagster.yaml")
    stores_url = f"postgresql://postgres@127.0.0.1:5432/{stores_db}"
    fleet = {
        "DAGSTER_HOME": str(dagster_home),
        "DARKREACH_PG_HOST": "127.0.0.1", "DARKREACH_PG_PORT": "5432", "DARKREACH_PG_USER": "postgres",
        "DARKREACH_PG_PASSWORD": "unused-with-trust-auth", "DARKREACH_PG_DB": dagster_db,
        "DARKREACH_EXECUTOR": "celery", "DARKREACH_BROKER": broker, "DARKREACH_BACKEND": backend,
        "DARKREACH_DATA": str(tmp_path / "shared-data"),
        "DARKREACH_REGISTRY_URL": stores_url, "DARKREACH_CHECKPOINTS": stores_url,
        "DARKREACH_SECRET": "fleet-test-secret-" + "0" * 32,  # one for every machine: checkpoints resume anywhere
    }
    return base, {**base, **fleet, "DARKREACH_HOME": str(tmp_path / "control")}


def start(argv: list[str], env: dict, log: Path) -> subprocess.Popen:
    """A long-running process in its own session (killpg ends it and its children); SIGINT/SIGTERM work."""
    with log.open("w") as out:
        return subprocess.Popen([sys.executable, "-c", WRAP, *argv], env=env, cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def start_worker(name: str, env: dict, tmp_path: Path, log: Path) -> subprocess.Popen:
    """`darkreach worker -n NAME --concurrency 1` with its own DARKREACH_HOME (worker id, progress files)."""
    return start([str(BIN / "darkreach"), "worker", "-n", name, "--concurrency", "1"],
                 {**env, "DARKREACH_HOME": str(tmp_path / name)}, log)


def start_daemon(env: dict, log: Path) -> subprocess.Popen:
    return start([str(BIN / "dagster-daemon"), "run", "-w", str(ROOT / "workspace.yaml")], env, log)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    else:  # the group leader is gone; a forked pool child could outlive it
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def darkreach(args: list[str], env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    done = subprocess.run([str(BIN / "darkreach"), *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"darkreach {args}: {done.stdout}\n{done.stderr}"
    return done


def backfill(keys: list[str], campaign: str, env: dict) -> None:
    done = subprocess.run(
        [str(BIN / "dagster"), "job", "backfill", "-w", str(ROOT / "workspace.yaml"), "-j", "campaign_job",
         "--partitions", ",".join(keys), "--tags", f'{{"darkreach/campaign": "{campaign}"}}', "--noprompt"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def expressions(csv_text: str) -> set[str]:
    return {row["expression"] for row in csv.DictReader(io.StringIO(csv_text))}


def celery_step_starts(instance, run_id: str, with_host: bool = False) -> list[tuple[float, str, str]]:
    """(timestamp, step key, worker name) for each time a celery worker started executing a step of the run; the
    name with its @host if WITH_HOST (workers in containers share a name and differ by their hostname)."""
    started = []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is not None and event.event_type_value == "ENGINE_EVENT" and "in celery worker" in (
                event.message or ""):
            worker = str(event.engine_event_data.metadata["Celery worker"].value)
            worker = worker if with_host else worker.split("@")[0]
            started.append((entry.timestamp, event.step_key, worker))
    return started


def celery_steps(instance, run_id: str) -> list[tuple[str, str]]:
    """(step key, worker name) for each time a celery worker started executing a step of the run, in order."""
    return [(step, worker) for _, step, worker in celery_step_starts(instance, run_id)]


def step_events(instance, run_id: str, event_type: str) -> list[str]:
    return [e.dagster_event.step_key for e in instance.all_logs(run_id)
            if e.dagster_event is not None and e.dagster_event.event_type_value == event_type]


def check_alive(processes: dict[str, subprocess.Popen], logs: dict[str, Path]) -> None:
    for name, process in processes.items():
        assert process.poll() is None, f"{name} died: {logs[name].read_text()[-3000:]}"


def checkpoint_rows(stores_db: str, key: str) -> int:
    """Finished tests in the checkpoint of block KEY in the stores database (0 if none yet)."""
    conn = psycopg2.connect(**{**PG, "dbname": stores_db})
    try:
        with conn.cursor() as cur:
            try:
                cur.execute("SELECT blob FROM darkreach_checkpoints WHERE key = %s", (key,))
            except psycopg2.errors.UndefinedTable:
                return 0
            row = cur.fetchone()
    finally:
        conn.close()
    return 0 if row is None else len(json.loads(json.loads(bytes(row[0]))["body"])["rows"])


def run_block(run) -> str:
    """The block of a run: its partition, or its one-block partition range (campaign BackfillPolicy)."""
    tags = run.tags
    if "dagster/partition" in tags:
        return tags["dagster/partition"]
    start, end = tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]
    assert start == end, f"run {run.run_id} covers {start}..{end}: one block per run expected"
    return start
