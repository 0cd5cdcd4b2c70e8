"""Checkpoints of a block in progress: finished result rows and the verified state of a long test.

A checkpoint is trusted only if its MAC (HMAC-SHA256 keyed with the deployment's secret, secret.py), campaign
fingerprint, block and software version all match; anything else is reported and ignored (the work is redone,
never trusted). A plain content hash would not do: whoever can write the store (shared in fleet mode) could
forge rows and recompute it.
The residues a test keeps for its proof are a binary file beside the checkpoint (stores/residue_file.py), named
in the MAC'd body with its SHA-256. Local files are written atomically (temp file + rename); a SQL store
(SQLite/PostgreSQL) lets another machine resume a block.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa

from darkreach_pipeline import __version__
from darkreach_pipeline.backoff import Backoff, retrying
from darkreach_pipeline.stores.registry import create_engine, create_tables, store_backoff

FORMAT = 3  # 1: unkeyed sha256, no longer trusted; 2: kept proof residues as hex inside the chain state


@dataclass
class Checkpoint:
    """What survives a crash: rows of finished candidates, and a verified chain state (or None)."""

    campaign_fingerprint: str
    block: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    # {"value": n, "state": {"done": squarings, "x", "d", "start": hex strings, ...}, "residues": the index of the
    # residue file beside the checkpoint (stores/residue_file.py), covered by the MAC through its SHA-256}
    chain: dict[str, Any] | None = None
    software: str = __version__

    def encode(self, secret: bytes) -> bytes:
        body = json.dumps(
            {"format": FORMAT, "fingerprint": self.campaign_fingerprint, "block": self.block, "rows": self.rows,
             "chain": self.chain, "software": self.software},
            sort_keys=True,
        )
        return json.dumps({"hmac_sha256": mac(secret, body), "body": body}).encode()


def mac(secret: bytes, body: str) -> str:
    return hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()


class CheckpointRejected(ValueError):
    """A checkpoint exists but cannot be trusted; the message says why."""


def decode(blob: bytes, fingerprint: str, block: int, secret: bytes) -> Checkpoint:
    try:
        outer = json.loads(blob)
        body = outer["body"]
        claimed = outer.get("hmac_sha256")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CheckpointRejected(f"unreadable checkpoint ({exc!r})") from None
    if not isinstance(body, str) or not isinstance(claimed, str):
        raise CheckpointRejected("no MAC: written by an older version or by someone without the deployment's secret")
    if not hmac.compare_digest(mac(secret, body), claimed):
        raise CheckpointRejected("MAC does not match: the checkpoint is corrupt, forged, or written with another "
                                 "secret (fleet mode: set the same DARKREACH_SECRET on every machine)")
    data = json.loads(body)
    if data.get("format") != FORMAT or data.get("software") != __version__:
        raise CheckpointRejected(f"written by software {data.get('software')!r} in format {data.get('format')}, "
                                 f"this is {__version__} reading format {FORMAT}")
    if data["fingerprint"] != fingerprint or data["block"] != block:
        raise CheckpointRejected("written for other campaign parameters or another block")
    return Checkpoint(fingerprint, block, data["rows"], data["chain"], data["software"])


class CheckpointStore(Protocol):
    def save(self, key: str, blob: bytes) -> None: ...
    def load(self, key: str) -> bytes | None: ...
    def delete(self, key: str) -> None: ...


class FileCheckpointStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / (key.replace("/", "__") + ".ckpt")

    def save(self, key: str, blob: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)

    def load(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


_metadata = sa.MetaData()
_table = sa.Table(
    "darkreach_checkpoints",
    _metadata,
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("blob", sa.LargeBinary, nullable=False),
)


class SqlCheckpointStore:
    """Checkpoints in SQLite or PostgreSQL, so that another machine can resume a block.

    Each operation is one transaction, retried with back-off while the server is unreachable: a checkpoint
    due during a PostgreSQL restart is written when the server is back, the block's tests are not failed."""

    def __init__(self, url: str, backoff: Backoff | None = None):
        self.engine = create_engine(url)
        self.backoff = backoff or store_backoff("checkpoint store", url)
        create_tables(self.engine, _metadata, self.backoff)

    @retrying
    def save(self, key: str, blob: bytes) -> None:
        with self.engine.begin() as conn:
            conn.execute(_table.delete().where(_table.c.key == key))
            conn.execute(_table.insert().values(key=key, blob=blob))

    @retrying
    def load(self, key: str) -> bytes | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(_table.c.blob).where(_table.c.key == key)).scalar()

    @retrying
    def delete(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(_table.delete().where(_table.c.key == key))


def is_database(location: str) -> bool:
    return "://" in location and not location.startswith("file://")


def open_checkpoint_store(location: str) -> CheckpointStore:
    """A folder path (the default), or a database URL (sqlite:///..., postgresql://...)."""
    if is_database(location):
        return SqlCheckpointStore(location)
    return FileCheckpointStore(location.removeprefix("file://"))
