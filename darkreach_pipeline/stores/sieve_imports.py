"""Sieve files imported into a campaign (`darkreach import-sieve`), per block, next to the campaign specs.

Each block's row holds the survivors and the verified factors the file gave for that block's range, the depth
the file claims and where it came from (format, file name, SHA-256 of the file), and a SHA-256 over all of it.
A row whose checksum fails is reported, never used: the block's sieve_survivors step fails with the fix (import
the file again). A new import of a campaign replaces the previous one; blocks already sieved keep what they
stored (the sieve_survivors asset reads an import only when it runs).
"""

from __future__ import annotations

import functools
import hashlib
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import sqlalchemy as sa

from darkreach_pipeline.backoff import Backoff, retrying
from darkreach_pipeline.stores.registry import create_engine, create_tables, store_backoff

_metadata = sa.MetaData()
_imports = sa.Table(
    "darkreach_sieve_imports", _metadata,
    sa.Column("campaign", sa.String(64), primary_key=True),
    sa.Column("block", sa.Integer, primary_key=True),
    sa.Column("format", sa.String(16), nullable=False),
    sa.Column("source", sa.String(255), nullable=False),
    sa.Column("source_sha256", sa.String(64), nullable=False),
    sa.Column("sieved_to", sa.BigInteger, nullable=False),
    sa.Column("imported_at", sa.String(40), nullable=False),
    sa.Column("survivors", sa.LargeBinary, nullable=False),  # zlib of little-endian int64 axis values
    sa.Column("factors", sa.LargeBinary, nullable=False),  # zlib of little-endian int64 (axis value, p) pairs
    sa.Column("checksum", sa.String(64), nullable=False),
)


CAMPAIGN_SIEVE_FORMAT = "darkreach"  # a row written by the product's own campaign-wide sieve (campaign_sieve.py)


class DamagedImportError(ValueError):
    """An imported block whose stored row fails its checksum or cannot be decoded."""


@dataclass(frozen=True)
class ImportedBlock:
    """What a sieve file says about one block: its survivors, the factors it gave (verified at import)."""

    campaign: str
    block: int
    format: str
    source: str
    source_sha256: str
    sieved_to: int
    survivors: np.ndarray  # int64 axis values
    factors: dict[int, int]  # axis value -> a prime dividing it
    imported_at: str = ""

    def describe(self) -> str:
        if self.format == CAMPAIGN_SIEVE_FORMAT:
            return (f"campaign sieve {self.source_sha256[:12]} ({self.source}) to depth {self.sieved_to}, "
                    f"stored {self.imported_at}")
        return (f"{self.format} file {self.source} (sha256 {self.source_sha256[:12]}) sieved to {self.sieved_to}, "
                f"imported {self.imported_at}")


def _pack(values: np.ndarray) -> bytes:
    return zlib.compress(np.ascontiguousarray(values, dtype="<i8").tobytes())


def _unpack(data: bytes) -> np.ndarray:
    return np.frombuffer(zlib.decompress(data), dtype="<i8").astype(np.int64)


def _checksum(row: dict) -> str:
    h = hashlib.sha256()
    for key in ("campaign", "block", "format", "source", "source_sha256", "sieved_to", "imported_at"):
        h.update(f"{key}={row[key]}\n".encode())
    h.update(hashlib.sha256(row["survivors"]).digest() + hashlib.sha256(row["factors"]).digest())
    return h.hexdigest()


def _decode(row: dict) -> ImportedBlock:
    """A stored row as an ImportedBlock, its checksum verified (DamagedImportError: never used)."""
    campaign, block = row["campaign"], row["block"]
    where = f"the imported sieve of campaign '{campaign}' block {block}"
    if _checksum(row) != row["checksum"]:
        raise DamagedImportError(f"{where} fails its checksum (damaged in the database): import the sieve file "
                                 "again (`darkreach import-sieve`), or remove the import to sieve it here")
    try:
        survivors, pairs = _unpack(row["survivors"]), _unpack(row["factors"]).reshape(-1, 2)
    except (zlib.error, ValueError) as exc:
        raise DamagedImportError(f"{where} cannot be decoded ({exc}): import the sieve file again") from None
    return ImportedBlock(campaign, block, row["format"], row["source"], row["source_sha256"],
                         int(row["sieved_to"]), survivors, {int(n): int(p) for n, p in pairs}, row["imported_at"])


class SieveImportStore:
    def __init__(self, url: str, backoff: Backoff | None = None):
        self.engine = create_engine(url)
        self.backoff = backoff or store_backoff("sieve import store", url)
        create_tables(self.engine, _metadata, self.backoff)

    @retrying
    def replace(self, campaign: str, blocks: list[ImportedBlock]) -> None:
        """The campaign's import becomes exactly `blocks` (one transaction: never half an import)."""
        rows = self._rows(campaign, blocks)
        with self.engine.begin() as conn:
            conn.execute(_imports.delete().where(_imports.c.campaign == campaign))
            if rows:
                conn.execute(_imports.insert(), rows)

    @staticmethod
    def _rows(campaign: str, blocks: list[ImportedBlock]) -> list[dict]:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        rows = []
        for b in blocks:
            pairs = np.array(sorted(b.factors.items()), dtype=np.int64).reshape(-1, 2)
            row = {"campaign": campaign, "block": b.block, "format": b.format, "source": b.source[:255],
                   "source_sha256": b.source_sha256, "sieved_to": b.sieved_to, "imported_at": now,
                   "survivors": _pack(np.sort(b.survivors)), "factors": _pack(pairs.ravel())}
            rows.append({**row, "checksum": _checksum(row)})
        return rows

    @retrying
    def update(self, campaign: str, blocks: list[ImportedBlock]) -> None:
        """These blocks' rows become `blocks`; the campaign's other rows stay as they are (a deepened campaign
        sieve rewrites only the blocks not yet tested). One transaction."""
        rows = self._rows(campaign, blocks)
        with self.engine.begin() as conn:
            conn.execute(_imports.delete().where(_imports.c.campaign == campaign,
                                                 _imports.c.block.in_([b.block for b in blocks])))
            if rows:
                conn.execute(_imports.insert(), rows)

    @retrying
    def all_blocks(self, campaign: str) -> dict[int, ImportedBlock]:
        """Every stored block of the campaign, verified (a damaged row raises DamagedImportError)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(_imports).where(_imports.c.campaign == campaign)).mappings().all()
        return {int(row["block"]): _decode(dict(row)) for row in rows}

    @retrying
    def block(self, campaign: str, block: int) -> ImportedBlock | None:
        """The import of one block, verified; None when the campaign has no import."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(_imports).where(_imports.c.campaign == campaign,
                                                         _imports.c.block == block)).mappings().first()
        return None if row is None else _decode(dict(row))

    @retrying
    def summary(self, campaign: str) -> dict | None:
        """Where the campaign's import came from and how many blocks it covers, or None."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(_imports.c.format, _imports.c.source, _imports.c.source_sha256,
                                          _imports.c.sieved_to, _imports.c.imported_at)
                                .where(_imports.c.campaign == campaign)).all()
        if not rows:
            return None
        fmt, source, sha, depth, at = rows[0]
        return {"format": fmt, "source": source, "source_sha256": sha, "sieved_to": int(depth), "imported_at": at,
                "blocks": len(rows)}


@functools.cache
def open_sieve_import_store(url: str) -> SieveImportStore:
    return SieveImportStore(url)
