"""Where a deployment keeps its data: everything hangs off one folder, DARKREACH_HOME.

Two runs with different DARKREACH_HOME values share nothing (registry, Dagster instance, parquet).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def darkreach_home() -> Path:
    return Path(os.environ.get("DARKREACH_HOME") or Path.home() / ".darkreach").expanduser().resolve()


def dagster_home() -> Path:
    """DAGSTER_HOME if set, else DARKREACH_HOME/dagster (resources/instance_config.py writes its dagster.yaml)."""
    if os.environ.get("DAGSTER_HOME"):
        return Path(os.environ["DAGSTER_HOME"]).expanduser().resolve()
    return darkreach_home() / "dagster"


@contextmanager
def setup_lock() -> Iterator[None]:
    """Held while a process creates or migrates the deployment's databases (Dagster's SQLite storages, the
    registry's tables): two commands starting at once on a new home otherwise both stamp Dagster's schema
    ("alembic_version has more than one head", the instance broken for good). An flock on
    DARKREACH_HOME/.setup.lock: released by the kernel if its holder dies, so it can never stay stuck."""
    home = darkreach_home()
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".setup.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def registry_url() -> str:
    return os.environ.get("DARKREACH_REGISTRY_URL") or f"sqlite:///{darkreach_home() / 'registry.db'}"


def data_path() -> str:
    """Root of the parquet results: a local folder by default, any fsspec URL via DARKREACH_DATA."""
    return os.environ.get("DARKREACH_DATA") or str(darkreach_home() / "data")


def inbox_path() -> Path:
    """Campaign files dropped here are registered by the campaign_files_sensor."""
    return darkreach_home() / "campaigns"


def ensure_inbox() -> Path:
    """The watched folder, created if missing, so that a user can drop a file into the folder the UI names."""
    folder = inbox_path()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def progress_path() -> Path:
    return darkreach_home() / "progress"


def checkpoint_location() -> str:
    """A folder (default DARKREACH_HOME/checkpoints) or a database URL (DARKREACH_CHECKPOINTS)."""
    return os.environ.get("DARKREACH_CHECKPOINTS") or str(darkreach_home() / "checkpoints")


def backfill_blocks_per_run() -> int:
    """Blocks per run of backfills launched in the UI or with `dagster job backfill` (the campaign assets'
    BackfillPolicy); DARKREACH_BLOCKS_PER_RUN, default 1. Campaign files set their own (`blocks_per_run`)
    for the runs the sensor and `darkreach run` launch."""
    text = os.environ.get("DARKREACH_BLOCKS_PER_RUN") or "1"
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"DARKREACH_BLOCKS_PER_RUN={text!r}: use a whole number >= 1")
    return int(text)
