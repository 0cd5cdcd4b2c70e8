"""Passwords never printed (issue #10 item 10a): the redaction helper, and the real `darkreach worker` against a
Redis that requires a password: its log and its command line never hold the password."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.redact import redact
from darkreach_pipeline.stores.registry import CampaignRegistry

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PASSWORD = "Sup3r-s3cret-pw"


@pytest.mark.parametrize(("text", "shown"), [
    ("redis://:pw@h:6379/0", "redis://:***@h:6379/0"),
    ("postgresql://u:p@ss@h/db?x=1", "postgresql://u:***@h/db?x=1"),
    ("broker amqp://guest:secret@rabbit:5672/fleet, backend redis://:x@y/1",
     "broker amqp://guest:***@rabbit:5672/fleet, backend redis://:***@y/1"),
    ("postgresql+psycopg2://u:pw@h/d", "postgresql+psycopg2://u:***@h/d"),
    ("redis://h:6379/0", "redis://h:6379/0"),
    ("postgresql://user@h/d", "postgresql://user@h/d"),
    ("no url here: a@b", "no url here: a@b"),
])
def test_redact(text, shown):
    assert redact(text) == shown


def test_a_registry_error_hides_the_database_password(postgres_url):
    """The stale-key error quotes the registry's URL; the local server trusts every password."""
    url = postgres_url.replace("postgres@", f"postgres:{PASSWORD}@", 1)
    with pytest.raises(CampaignError) as info:
        CampaignRegistry(url).resolve("never-registered/000000")
    assert "postgres:***@" in str(info.value) and PASSWORD not in str(info.value)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_with_password(tmp_path):
    """A throw-away redis-server that requires PASSWORD; yields its port."""
    port = _free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--requirepass", PASSWORD,
                               "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_worker_never_prints_the_broker_password(tmp_path, redis_with_password):
    port = redis_with_password
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DARKREACH_", "CELERY_")) and k != "DAGSTER_HOME"}
    env.update({"DARKREACH_HOME": str(tmp_path / "home"),
                "DARKREACH_BROKER": f"redis://:{PASSWORD}@127.0.0.1:{port}/0",
                "DARKREACH_BACKEND": f"redis://:{PASSWORD}@127.0.0.1:{port}/1",
                "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}"})
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        worker = subprocess.Popen([str(BIN / "darkreach"), "worker", "-n", "secret", "--concurrency", "1",
                                   "--queues", "nothing_to_do"], env=env, cwd=ROOT, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 120
        while " ready." not in log.read_text():  # celery's "celery@... ready.": it authenticated to the broker
            assert worker.poll() is None, log.read_text()
            assert time.time() < deadline, log.read_text()
            time.sleep(0.3)
        # the command line of the celery process (`darkreach worker` exec'd into it): visible to every user
        command_line = Path(f"/proc/{worker.pid}/cmdline").read_bytes().decode()
        text = log.read_text()
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, 9)
            worker.wait(timeout=10)
    assert PASSWORD not in text, text
    assert "celery" in command_line and PASSWORD not in command_line
    assert f"broker redis://:***@127.0.0.1:{port}/0: reachable" in text  # the start-up wait
    assert f"broker redis://:***@127.0.0.1:{port}/0, result backend redis://:***@127.0.0.1:{port}/1" in text
