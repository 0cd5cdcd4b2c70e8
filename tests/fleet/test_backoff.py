"""Back-off on outages (darkreach_pipeline/backoff.py): the schedule with an injected clock and sleep (milliseconds),
the stores' retries on a store pointed at a closed port that then reaches the real PostgreSQL server, and the
start-up wait of `darkreach worker`."""

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg2
import pytest
import sqlalchemy as sa

from darkreach_pipeline import fleet
from darkreach_pipeline.backoff import Backoff, is_connection_error, retrying
from darkreach_pipeline.stores.checkpoints import SqlCheckpointStore
from darkreach_pipeline.stores.registry import CampaignRegistry
from resources.celery_executor import write_worker_config
from resources.instance_config import instance_databases

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


class FakeTime:
    """An injected clock: sleep advances it instantly and records each wait."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _backoff(what="db", **kwargs):
    fake, messages = FakeTime(), []
    return Backoff(what, sleep=fake.sleep, clock=fake.clock, log=messages.append, **kwargs), fake, messages


def _flaky(failures: int, exc: Exception | None = None):
    exc = exc or ConnectionRefusedError("refused")
    calls = {"n": 0}

    def fn():
        calls["n"] += 1
        if calls["n"] <= failures:
            raise exc
        return "ok"

    return fn, calls


def test_schedule_doubles_from_10_s_to_a_5_minute_cap_and_logs_each_escalation():
    backoff, fake, messages = _backoff()
    fn, calls = _flaky(8)
    assert backoff.call(fn) == "ok"
    assert fake.sleeps == [10, 20, 40, 80, 160, 300, 300, 300]
    assert calls["n"] == 9
    assert len(messages) == 9  # one per failed attempt, then the recovery
    assert messages[0] == ("db unavailable (ConnectionRefusedError: refused); attempt 1 failed, next attempt in 10 s")
    assert messages[5].endswith("attempt 6 failed, next attempt in 300 s (the maximum)")
    assert messages[-1] == "db reachable again after 8 failed attempts (1210 s)"


def test_success_resets_the_schedule():
    backoff, fake, messages = _backoff()
    fn, _ = _flaky(3)
    backoff.call(fn)
    assert fake.sleeps == [10, 20, 40] and backoff.delay == 10 and backoff.failures == 0
    fn, _ = _flaky(2)
    backoff.call(fn)
    assert fake.sleeps == [10, 20, 40, 10, 20]  # a new outage starts again at 10 s
    backoff.call(lambda: 1)
    assert len(messages) == 3 + 1 + 2 + 1  # no message for a plain success


def test_failure_and_success_can_be_driven_by_hand():
    backoff, fake, messages = _backoff("broker", first=1, factor=3, cap=5)
    assert [backoff.failure(OSError("down")) for _ in range(4)] == [1, 3, 5, 5]
    backoff.success()
    assert backoff.failure(OSError("down")) == 1
    assert messages[-1].startswith("broker unavailable (OSError: down); attempt 1 failed")


def test_errors_a_retry_cannot_fix_propagate_at_once():
    backoff, fake, messages = _backoff()
    fn, calls = _flaky(1, ValueError("bad query"))
    with pytest.raises(ValueError):
        backoff.call(fn, retry_if=is_connection_error)
    assert calls["n"] == 1 and fake.sleeps == [] and messages == []


def test_give_up_after_re_raises_once_the_outage_would_exceed_it():
    backoff, fake, messages = _backoff(give_up_after=60)
    fn, calls = _flaky(10)
    with pytest.raises(ConnectionRefusedError):
        backoff.call(fn)
    assert fake.sleeps == [10, 20]  # 30 s waited; another 40 s would pass 60 s
    assert messages[-1] == "db: giving up after 3 failed attempts"
    assert backoff.failures == 0 and backoff.delay == 10


def test_invalid_schedules_are_refused():
    for kwargs in ({"first": 0}, {"factor": 0.5}, {"first": 10, "cap": 5}):
        with pytest.raises(ValueError):
            Backoff("x", **kwargs)


def test_connection_errors_are_told_from_other_database_errors():
    refused = sa.exc.OperationalError("SELECT 1", {}, psycopg2.OperationalError("connection refused"))
    assert is_connection_error(refused)
    assert is_connection_error(sa.exc.InterfaceError("SELECT 1", {}, psycopg2.InterfaceError("closed")))
    assert is_connection_error(ConnectionResetError()) and is_connection_error(TimeoutError())
    assert not is_connection_error(sa.exc.IntegrityError("INSERT", {}, psycopg2.IntegrityError("duplicate key")))
    assert not is_connection_error(sa.exc.ProgrammingError("SELECT", {}, psycopg2.ProgrammingError("syntax")))
    engine = sa.create_engine("sqlite://")
    with pytest.raises(sa.exc.OperationalError) as missing, engine.connect() as conn:
        conn.execute(sa.text("SELECT * FROM no_such_table"))
    assert not is_connection_error(missing.value)  # SQLite's OperationalError is a bug, not an outage
    assert not is_connection_error(FileNotFoundError()) and not is_connection_error(KeyError())


def test_retrying_reruns_the_whole_method_on_connection_errors_only():
    class Store:
        def __init__(self):
            self.backoff, self.fake, self.messages = _backoff("store")
            self.calls = 0

        @retrying
        def read(self, fail_times, exc):
            self.calls += 1
            if self.calls <= fail_times:
                raise exc
            return self.calls

    store = Store()
    assert store.read(2, sa.exc.OperationalError("SELECT 1", {}, psycopg2.OperationalError("gone"))) == 3
    assert store.fake.sleeps == [10, 20]
    store = Store()
    with pytest.raises(sa.exc.IntegrityError):
        store.read(1, sa.exc.IntegrityError("INSERT", {}, psycopg2.IntegrityError("dup")))
    assert store.calls == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _proxy(port: int, target: tuple[str, int] = ("127.0.0.1", 5432)):
    """A TCP forwarder 127.0.0.1:port -> target: the closed port becomes the real server."""
    server = socket.create_server(("127.0.0.1", port))
    server.settimeout(0.2)
    stop = threading.Event()
    connections: list[socket.socket] = []

    def pipe(a, b):
        try:
            while chunk := a.recv(65536):
                b.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def serve():
        while not stop.is_set():
            try:
                client, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection(target)
            connections.extend((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=pipe, args=(a, b), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()
        for connection in connections:  # every forwarded connection dies, as in a server restart
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()


def test_stores_wait_on_a_closed_port_and_succeed_once_the_server_answers(postgres_url):
    """Real connections: the stores point at a port where nothing listens; while they back off, the port starts
    forwarding to the real PostgreSQL server, and the retried operations succeed there."""
    port = _free_port()
    url = postgres_url.replace(":5432/", f":{port}/")
    proxies: list = []
    messages: list[str] = []
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the outage ends during the first wait
        waits.append(seconds)
        if not proxies:
            proxies.append(_proxy(port))
            proxies[0].__enter__()

    try:
        registry = CampaignRegistry(url, backoff=Backoff("registry", sleep=sleep, log=messages.append))
        assert waits == [10]  # creating the tables waited once
        refused = f'registry unavailable (OperationalError: connection to server at "127.0.0.1", port {port} failed'
        assert messages[0].startswith(refused), messages
        assert messages[1].startswith("registry reachable again after 1 failed attempts")
        assert registry.names() == CampaignRegistry(postgres_url).names()  # the session database: others' too
        store = SqlCheckpointStore(url, backoff=Backoff("checkpoints", sleep=sleep, log=messages.append))
        store.save("camp/000001", b"state")
        assert store.load("camp/000001") == b"state"
    finally:
        if proxies:
            proxies[0].__exit__(None, None, None)
    # The checkpoint is really on the server (read directly, not through the forwarder).
    assert SqlCheckpointStore(postgres_url).load("camp/000001") == b"state"

    # A pooled connection that died (the forwarder is gone: like a server restart) is replaced, not used:
    # the next operation fails to connect, backs off, and succeeds when the port answers again.
    waits.clear()
    proxies.clear()
    messages.clear()
    try:
        assert store.load("camp/000001") == b"state"
        assert waits == [10] and len(messages) == 2, messages
    finally:
        if proxies:
            proxies[0].__exit__(None, None, None)


def test_worker_configuration_module_makes_tasks_ack_late(tmp_path):
    """The module `darkreach worker` writes is what dagster-celery's worker app loads: late acks, requeue on
    worker loss, reconnect forever."""
    directory = write_worker_config(tmp_path / "celery")
    probe = ("from dagster_celery.app import app, execute_plan; c = app.conf; "
             "print(execute_plan.acks_late, execute_plan.reject_on_worker_lost, c.worker_prefetch_multiplier, "
             "c.broker_connection_max_retries, c.broker_transport_options['visibility_timeout'])")
    env = {**os.environ, "PYTHONPATH": str(directory), "DARKREACH_VISIBILITY_TIMEOUT": "7200"}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True", "1", "None", "7200"]


def test_worker_waits_for_its_broker_then_starts(tmp_path):
    """`darkreach worker` started before its broker: it logs the back-off instead of exiting, and starts Celery
    once the broker's port answers (here: a forwarder to the real Redis, opened after the first failure)."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DARKREACH_") and k != "DAGSTER_HOME"}
    env.update({"DARKREACH_HOME": str(tmp_path / "home"), "DARKREACH_BROKER": f"redis://127.0.0.1:{port}/9",
                "DARKREACH_BACKEND": "redis://127.0.0.1:6379/9", "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}"})
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        worker = subprocess.Popen([str(BIN / "darkreach"), "worker", "-n", "waiting", "--concurrency", "1",
                                   "--queues", "nothing_to_do"], env=env, cwd=ROOT, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 60
        while "next attempt in 10 s" not in log.read_text():
            assert worker.poll() is None, log.read_text()
            assert time.time() < deadline, log.read_text()
            time.sleep(0.2)
        with _proxy(port, ("127.0.0.1", 6379)):
            deadline = time.time() + 60
            while " ready." not in log.read_text():  # celery's "celery@... ready."
                assert worker.poll() is None, log.read_text()
                assert time.time() < deadline, log.read_text()
                time.sleep(0.5)
        text = log.read_text()
        assert f"broker redis://127.0.0.1:{port}/9 unavailable" in text
        assert f"broker redis://127.0.0.1:{port}/9 reachable again after 1 failed attempts" in text
        assert (tmp_path / "home" / "celery" / "dagster_celery_config.py").exists()
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, 9)
            worker.wait(timeout=10)


def test_worker_dependencies_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("DARKREACH_BROKER", "amqp://guest:secret@rabbit:5672/fleet")
    monkeypatch.setenv("DARKREACH_BACKEND", "redis://redis:6379/1")
    monkeypatch.setenv("DARKREACH_REGISTRY_URL", "postgresql://darkreach:pw@db:5432/darkreach")
    monkeypatch.setenv("DARKREACH_CHECKPOINTS", "postgresql://darkreach:pw@db:5432/darkreach")  # the same: once
    for name, value in {"DARKREACH_PG_HOST": "db", "DARKREACH_PG_PORT": "5433", "DARKREACH_PG_USER": "dagster",
                        "DARKREACH_PG_PASSWORD": "p@ss", "DARKREACH_PG_DB": "dagster"}.items():
        monkeypatch.setenv(name, value)
    needs = [(what, url) for what, url, _ in fleet.worker_dependencies(instance_databases())]
    assert needs == [("broker", "amqp://guest:secret@rabbit:5672/fleet"), ("result backend", "redis://redis:6379/1"),
                     ("campaign registry", "postgresql://darkreach:pw@db:5432/darkreach"),
                     ("dagster instance", "postgresql://dagster:p%40ss@db:5433/dagster")]
    monkeypatch.setenv("DARKREACH_REGISTRY_URL", "sqlite:////tmp/registry.db")  # nothing to wait for
    monkeypatch.setenv("DARKREACH_CHECKPOINTS", "/tmp/checkpoints")
    monkeypatch.delenv("DARKREACH_PG_HOST")
    monkeypatch.setenv("DARKREACH_BACKEND", "rpc://")
    assert [what for what, _, _ in fleet.worker_dependencies(instance_databases())] == ["broker"]


def test_wait_for_services_backs_off_per_service_and_hides_passwords():
    fake, messages = FakeTime(), []
    down = {"broker": 2, "db": 0}

    def probe_for(name):
        def probe(url):
            if down[name]:
                down[name] -= 1
                raise ConnectionRefusedError("refused")
        return probe

    fleet.wait_for_services(
        messages.append,
        backoff=lambda what: Backoff(what, sleep=fake.sleep, clock=fake.clock, log=messages.append),
        needs=[("broker", "amqp://guest:secret@rabbit:5672/", probe_for("broker")),
               ("registry", "postgresql://u:pw@db/x", probe_for("db"))],
    )
    assert fake.sleeps == [10, 20]
    assert messages == [
        "broker amqp://guest:***@rabbit:5672/ unavailable (ConnectionRefusedError: refused); attempt 1 failed, "
        "next attempt in 10 s",
        "broker amqp://guest:***@rabbit:5672/ unavailable (ConnectionRefusedError: refused); attempt 2 failed, "
        "next attempt in 20 s",
        "broker amqp://guest:***@rabbit:5672/ reachable again after 2 failed attempts (30 s)",
        "broker amqp://guest:***@rabbit:5672/: reachable",
        "registry postgresql://u:***@db/x: reachable",
    ]


def test_visibility_timeout_is_validated(monkeypatch):
    monkeypatch.setenv("DARKREACH_VISIBILITY_TIMEOUT", "30")
    with pytest.raises(ValueError, match="DARKREACH_VISIBILITY_TIMEOUT='30'"):
        fleet.celery_config()
    monkeypatch.setenv("DARKREACH_VISIBILITY_TIMEOUT", "86400")
    assert fleet.celery_config()["broker_transport_options"]["visibility_timeout"] == 86400
    assert fleet.celery_config()["task_acks_late"] is True
