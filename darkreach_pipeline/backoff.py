"""Exponential back-off for the connections a fleet depends on: PostgreSQL (stores) and the Celery broker.

An outage makes callers wait, never crash (so nothing restarts in a loop): the first retry comes after 10 s,
then 20 s, 40 s, ... up to 5 minutes between attempts, for as long as the outage lasts. Each failed attempt is
logged with the next delay; the first success after failures is logged too and resets the schedule to 10 s.
Only connection failures are retried (server down, restarting, unreachable, connection dropped); errors that a
retry cannot fix (a constraint violation, a bug in a query) propagate at once.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from darkreach_pipeline.redact import redact

FIRST_DELAY = 10.0
FACTOR = 2.0
MAX_DELAY = 300.0

logger = logging.getLogger("darkreach.backoff")
T = TypeVar("T")


def _summary(exc: BaseException) -> str:
    text = redact(str(getattr(exc, "orig", None) or exc))  # a driver's message may quote its URL
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0] if lines else 'no message'}"


class Backoff:
    """The retry schedule of one connection (a store's database, the broker): 10 s -> 20 s -> ... -> 5 min.

    `sleep` and `clock` are injectable (tests run the schedule in milliseconds); `log` receives every message
    (default: the "darkreach.backoff" logger at WARNING). `give_up_after` (seconds since the first failure of an
    outage, None = never) makes `call` re-raise instead of waiting longer: for interactive commands.
    """

    def __init__(
        self,
        what: str,
        *,
        first: float = FIRST_DELAY,
        factor: float = FACTOR,
        cap: float = MAX_DELAY,
        give_up_after: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        log: Callable[[str], None] | None = None,
    ):
        if first <= 0 or factor < 1 or cap < first:
            raise ValueError(f"back-off needs first > 0, factor >= 1, cap >= first (got {first}, {factor}, {cap})")
        self.what, self.first, self.factor, self.cap = what, first, factor, cap
        self.give_up_after = give_up_after
        self.sleep, self.clock = sleep, clock
        self.log = log or logger.warning
        self.failures = 0  # failed attempts in the current outage
        self.delay = first  # the wait after the next failure
        self.outage_start: float | None = None
        self._lock = threading.Lock()

    def failure(self, exc: BaseException) -> float:
        """Record a failed attempt; returns how long to wait before the next one (and logs it)."""
        with self._lock:
            wait = self.delay
            self.failures += 1
            if self.outage_start is None:
                self.outage_start = self.clock()
            self.delay = min(self.cap, self.delay * self.factor)
            failures = self.failures
        capped = " (the maximum)" if wait >= self.cap else ""
        self.log(f"{self.what} unavailable ({_summary(exc)}); attempt {failures} failed, "
                 f"next attempt in {wait:g} s{capped}")
        return wait

    def success(self) -> None:
        """The connection works: log the recovery if there was an outage, and start the schedule over."""
        with self._lock:
            failures, start = self.failures, self.outage_start
            self.failures, self.delay, self.outage_start = 0, self.first, None
        if failures:
            down = self.clock() - start if start is not None else 0.0
            self.log(f"{self.what} reachable again after {failures} failed attempts ({down:.0f} s)")

    def outage_seconds(self) -> float:
        return 0.0 if self.outage_start is None else self.clock() - self.outage_start

    def call(self, fn: Callable[[], T], retry_if: Callable[[BaseException], bool] = lambda exc: True) -> T:
        """fn(), retried on the schedule while it raises an exception `retry_if` accepts."""
        while True:
            try:
                result = fn()
            except Exception as exc:
                if not retry_if(exc):
                    raise
                wait = self.failure(exc)
                if self.give_up_after is not None and self.outage_seconds() + wait > self.give_up_after:
                    self.log(f"{self.what}: giving up after {self.failures} failed attempts")
                    with self._lock:
                        self.failures, self.delay, self.outage_start = 0, self.first, None
                    raise
                self.sleep(wait)
                continue
            self.success()
            return result


def is_connection_error(exc: BaseException) -> bool:
    """True for failures a later attempt can fix: the database server down, restarting or unreachable, a
    connection dropped (SQLAlchemy's wrappers of psycopg2 OperationalError/InterfaceError, disconnects), and
    socket-level errors (broker). SQLite's OperationalError ("no such table", "database is locked") is not one:
    it is a bug or has its own timeout."""
    import sqlalchemy.exc as sa_exc

    if isinstance(exc, sa_exc.DBAPIError):
        return bool(exc.connection_invalidated) or _is_driver_connection_error(exc.orig)
    if isinstance(exc, sa_exc.DisconnectionError):
        return True
    return isinstance(exc, (ConnectionError, TimeoutError)) or (
        isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError | PermissionError)
    )


def _is_driver_connection_error(orig: BaseException | None) -> bool:
    try:
        import psycopg2
    except ImportError:  # pragma: no cover - psycopg2 comes with dagster-postgres
        return isinstance(orig, ConnectionError)
    return isinstance(orig, psycopg2.OperationalError | psycopg2.InterfaceError | ConnectionError)


def retrying(method: Callable[..., T]) -> Callable[..., T]:
    """For methods of a store with a `backoff` attribute: the whole method (one transaction) is retried on
    connection errors."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> T:
        return self.backoff.call(lambda: method(self, *args, **kwargs), retry_if=is_connection_error)

    return wrapper
