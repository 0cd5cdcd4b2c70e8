"""Fleet mode plumbing without Dagster: the Celery settings that make a killed worker's step run again, and the
start-up wait of `darkreach worker` for the broker, the result backend and PostgreSQL.

A step is a Celery task. It is acknowledged only when it has finished (`task_acks_late`), and given back to the
broker if the pool process running it dies (`task_reject_on_worker_lost`): a worker killed mid-step (kill -9,
power loss, OOM) leaves the task unacknowledged, and the broker hands it to another worker. With RabbitMQ this
happens as soon as the dead worker's connection drops; with Redis when the task's visibility timeout has passed
(DARKREACH_VISIBILITY_TIMEOUT, default 3600 s: it must exceed the longest step, or a step still running is
handed out a second time). The run waits for the same task id and gets the second worker's result. The step
resumes from the block's checkpoint (a database checkpoint store in fleet mode), so finished tests are not
redone and none is recorded twice.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from darkreach_pipeline.backoff import Backoff, is_connection_error
from darkreach_pipeline.redact import redact

DEFAULT_BROKER = "redis://127.0.0.1:6379/0"
DEFAULT_BACKEND = "redis://127.0.0.1:6379/1"
DEFAULT_VISIBILITY_TIMEOUT = 3600


def celery_urls() -> tuple[str, str]:
    """Broker and result backend shared by the fleet's runs and its `darkreach worker` processes."""
    return (os.environ.get("DARKREACH_BROKER") or DEFAULT_BROKER,
            os.environ.get("DARKREACH_BACKEND") or DEFAULT_BACKEND)


def visibility_timeout() -> int:
    text = os.environ.get("DARKREACH_VISIBILITY_TIMEOUT") or str(DEFAULT_VISIBILITY_TIMEOUT)
    if not text.isdigit() or int(text) < 60:
        raise ValueError(f"DARKREACH_VISIBILITY_TIMEOUT={text!r}: use whole seconds >= 60, above the longest step")
    return int(text)


def celery_config() -> dict[str, Any]:
    """Celery settings of the fleet, the same for the runs' executor and the workers."""
    return {
        # A step's task is acknowledged when it finished, and requeued if the process running it dies.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # One reserved task per worker process: nothing waits behind a long step on a busy worker.
        "worker_prefetch_multiplier": 1,
        # A broker outage: the worker reconnects forever (Celery's own retry), it does not exit.
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,
        # Publishing a step when the broker blips: retried for about a minute before the run fails.
        "task_publish_retry_policy": {"max_retries": 6, "interval_start": 1, "interval_step": 2,
                                      "interval_max": 15},
        # dagster-celery's transport defaults, plus the Redis visibility timeout (ignored by RabbitMQ).
        "broker_transport_options": {"max_retries": 3, "interval_start": 0, "interval_step": 0.2,
                                     "interval_max": 0.5, "visibility_timeout": visibility_timeout()},
    }


def is_sql_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://", "postgresql+"))


def probe_broker(url: str) -> None:
    """Connect to a Celery broker or Redis result backend once (raises if it is unreachable)."""
    from kombu import Connection

    with Connection(url, connect_timeout=5) as conn:
        conn.ensure_connection(max_retries=1)
        conn.default_channel  # noqa: B018 - opening a channel talks to the server (Redis: PING)


def probe_database(url: str) -> None:
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    from darkreach_pipeline.stores.registry import sqlalchemy_url

    engine = sa.create_engine(sqlalchemy_url(url), poolclass=NullPool, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    finally:
        engine.dispose()


def worker_dependencies(more_databases: Sequence[tuple[str, str]] = ()
                        ) -> list[tuple[str, str, Callable[[str], None]]]:
    """(what, url, probe) for everything a worker needs before it can take a step: the broker, the result
    backend, the registry and checkpoint databases, and `more_databases` ((what, url): the orchestrator's own,
    which the caller knows)."""
    broker, backend = celery_urls()
    needs: list[tuple[str, str, Callable[[str], None]]] = [("broker", broker, probe_broker)]
    if backend.split("://", 1)[0] in ("redis", "rediss", "amqp", "pyamqp"):
        needs.append(("result backend", backend, probe_broker))
    databases = {}
    for what, url in (("campaign registry", os.environ.get("DARKREACH_REGISTRY_URL", "")),
                      ("checkpoint store", os.environ.get("DARKREACH_CHECKPOINTS", "")), *more_databases):
        if is_sql_url(url):
            databases.setdefault(url, what)
    needs += [(what, url, probe_database) for url, what in databases.items()]
    return needs


def is_service_error(exc: BaseException) -> bool:
    """A dependency that is down or unreachable (worth waiting for), as opposed to a configuration error."""
    from kombu.exceptions import OperationalError as KombuOperationalError

    return is_connection_error(exc) or isinstance(exc, KombuOperationalError) or (
        type(exc).__module__.startswith("redis") and "Connection" in type(exc).__name__
    )


def wait_for_services(
    log: Callable[[str], None],
    backoff: Callable[[str], Backoff] | None = None,
    needs: list[tuple[str, str, Callable[[str], None]]] | None = None,
) -> None:
    """Block until every dependency answers, each retried on the back-off schedule (a worker started before
    its broker or database waits for them instead of exiting and being restarted in a loop)."""
    make = backoff or (lambda what: Backoff(what, log=log))
    for what, url, probe in worker_dependencies() if needs is None else needs:
        make(f"{what} {redact(url)}").call(lambda probe=probe, url=url: probe(url), retry_if=is_service_error)
        log(f"{what} {redact(url)}: reachable")
