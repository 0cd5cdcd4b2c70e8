"""Shared fixtures: an isolated DARKREACH_HOME, small campaign files, an independent prime oracle (PARI/GP),
and a throw-away PostgreSQL database."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
DATA_ENV = ("DAGSTER_HOME", "DARKREACH_DATA", "DARKREACH_REGISTRY_URL", "DARKREACH_CHECKPOINTS")


def data_env_names() -> list[str]:
    """Variables that move data away from DARKREACH_HOME: the known ones and any other DARKREACH_* override."""
    return sorted(set(DATA_ENV) | {k for k in os.environ if k.startswith("DARKREACH_") and k != "DARKREACH_HOME"})


# `darkreach_pipeline.definitions` builds its resources from the environment when first imported (often at
# collection time). Point that import at a scratch folder so no test can ever touch ~/.darkreach; the tests
# that need a home of their own set it with the `darkreach_home` fixture and build resources themselves.
SESSION_HOME = tempfile.mkdtemp(prefix="darkreach-pytest-session-")
os.environ["DARKREACH_HOME"] = SESSION_HOME
for _name in data_env_names():
    os.environ.pop(_name, None)


def stop_group(process: subprocess.Popen, grace: float = 60) -> None:
    """End a server started with start_new_session=True and all its children: SIGTERM, then SIGKILL after `grace`."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def pytest_unconfigure(config):
    shutil.rmtree(SESSION_HOME, ignore_errors=True)

# Small campaigns: a few blocks each, seconds of work.
PROTH = {"name": "proth", "form": "kbn", "k": 3, "b": 2, "c": 1, "n_min": 1, "n_max": 120, "block_size": 40,
         "sieve_depth": 1000}
RIESEL = {"name": "riesel", "form": "kbn", "k": 3, "b": 2, "c": -1, "n_min": 1, "n_max": 120, "block_size": 40,
          "sieve_depth": 1000}


@pytest.fixture
def darkreach_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh DARKREACH_HOME; DAGSTER_HOME, DARKREACH_DATA, DARKREACH_REGISTRY_URL (and any other DARKREACH_*
    override) are unset so everything derives from it."""
    home = tmp_path / "darkreach-home"
    home.mkdir()
    monkeypatch.setenv("DARKREACH_HOME", str(home))
    for name in data_env_names():
        monkeypatch.delenv(name, raising=False)
    return home


def toml_text(fields: Mapping[str, Any]) -> str:
    """key = value lines; JSON literals are valid TOML for strings, integers and booleans."""
    return "".join(f"{key} = {json.dumps(value)}\n" for key, value in fields.items())


@pytest.fixture
def write_campaign(tmp_path: Path) -> Callable[..., Path]:
    """write_campaign(base=PROTH, path=None, **overrides) -> path of a campaign TOML file.

    A field overridden with None is left out of the file."""

    def write(base: Mapping[str, Any] = PROTH, path: Path | str | None = None, **overrides: Any) -> Path:
        fields = {k: v for k, v in {**base, **overrides}.items() if v is not None}
        target = Path(path) if path is not None else tmp_path / f"{fields.get('name', 'campaign')}.toml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(toml_text(fields))
        return target

    return write


@pytest.fixture(scope="session")
def pari_primes() -> Callable[[int, int, int, int, int], set[int]]:
    """pari_primes(k, b, c, n_min, n_max): the n where k*b^n+c is prime, per PARI/GP's isprime (a proof:
    APR-CL / ECPP inside PARI), sharing no code with the pipeline."""
    from oracles import pari

    cache: dict[tuple, set[int]] = {}

    def primes(k: int, b: int, c: int, n_min: int, n_max: int) -> set[int]:
        key = (k, b, c, n_min, n_max)
        if key not in cache:
            cache[key] = {n for n in range(n_min, n_max + 1) if k * b**n + c > 1 and pari.isprime(k * b**n + c)}
        return cache[key]

    return primes


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database on the local PostgreSQL server (trust auth) for this test session, dropped at the end."""
    import psycopg2

    def admin():  # a new connection each time: the fleet restart test may restart the server in between
        connection = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
        connection.autocommit = True
        return connection

    name = f"darkreach_test_{uuid.uuid4().hex[:12]}"
    connection = admin()
    try:
        with connection.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        for attempt in range(30):
            try:
                connection = admin()
                break
            except psycopg2.OperationalError:
                if attempt == 29:
                    raise
                time.sleep(1)
        try:
            with connection.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            connection.close()


# Hand-written sieve and result files (tests/samples/formats/README.md) for 3*2^n+1, n = 1..120, sieved to 1000.
FORMAT_SAMPLES = REPO / "tests" / "samples" / "formats"


def trial_division_survivors(k: int, b: int, c: int, ns: range, depth: int) -> list[int]:
    """n whose k*b^n+c has no prime factor p <= depth other than itself (PARI's primes, Python's remainders):
    an implementation independent of the product's sieve."""
    from oracles import pari

    primes = [int(p) for p in pari.primes(pari.primepi(depth))]
    return [n for n in ns if not any((k * b**n + c) % p == 0 and k * b**n + c != p for p in primes)]
