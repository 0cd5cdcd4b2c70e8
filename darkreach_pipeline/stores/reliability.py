"""Worker trust and reliability, from double-check outcomes (BOINC-style adaptive replication).

- A worker is untrusted until 10 consecutive blocks validate; any invalid block resets that.
- Trusted workers are sampled (1 block in `sample_every`); untrusted ones always double-checked.
- Reliability = valid / total over a rolling 30-day window: below 0.80 all its blocks are re-checked,
  above 0.95 (with the streak) it is trusted.
- A block of an untrusted worker whose every result comes with a Pietrzak proof that verifies needs no double
  check (it counts as a valid block); a proof that fails counts as an invalid block. Records and the 1-in-10
  sample are double-checked whatever the proofs say.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from darkreach_pipeline.backoff import Backoff, retrying
from darkreach_pipeline.stores.registry import create_engine, create_tables, store_backoff

TRUST_STREAK = 10
UNRELIABLE_BELOW = 0.80
TRUSTED_ABOVE = 0.95
WINDOW = timedelta(days=30)

_metadata = sa.MetaData()
_blocks = sa.Table(  # which worker produced each block's results
    "darkreach_block_workers", _metadata,
    sa.Column("partition_key", sa.String(80), primary_key=True),
    sa.Column("worker_id", sa.String(40), nullable=False, index=True),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("max_digits", sa.Integer, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)
_validations = sa.Table(
    "darkreach_validations", _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("partition_key", sa.String(80), nullable=False, index=True),
    sa.Column("worker_id", sa.String(40), nullable=False, index=True),
    sa.Column("valid", sa.Boolean, nullable=False),
    sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class WorkerRecord:
    worker_id: str
    valid: int
    total: int
    streak: int  # consecutive valid blocks, newest first

    @property
    def reliability(self) -> float:
        return self.valid / self.total if self.total else 0.0

    @property
    def trusted(self) -> bool:
        return self.streak >= TRUST_STREAK and self.reliability > TRUSTED_ABOVE

    @property
    def unreliable(self) -> bool:
        return self.total > 0 and self.reliability < UNRELIABLE_BELOW


class ReliabilityStore:
    def __init__(self, url: str, backoff: Backoff | None = None):
        self.engine = create_engine(url)
        self.backoff = backoff or store_backoff("reliability store", url)
        create_tables(self.engine, _metadata, self.backoff)

    @retrying
    def record_block(self, partition_key: str, worker_id: str, host: str, max_digits: int) -> None:
        row = {"partition_key": partition_key, "worker_id": worker_id, "host": host, "max_digits": max_digits,
               "recorded_at": datetime.now(UTC)}
        with self.engine.begin() as conn:
            conn.execute(_blocks.delete().where(_blocks.c.partition_key == partition_key))
            conn.execute(_blocks.insert().values(**row))

    @retrying
    def block_worker(self, partition_key: str) -> tuple[str, int] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(_blocks.c.worker_id, _blocks.c.max_digits)
                               .where(_blocks.c.partition_key == partition_key)).first()
        return None if row is None else (row[0], row[1])

    @retrying
    def record_validation(self, partition_key: str, worker_id: str, valid: bool, at: datetime | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(_validations.insert().values(partition_key=partition_key, worker_id=worker_id, valid=valid,
                                                      checked_at=_aware(at or datetime.now(UTC)).astimezone(UTC)))

    @retrying
    def worker(self, worker_id: str, now: datetime | None = None) -> WorkerRecord:
        since = (now or datetime.now(UTC)) - WINDOW
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(_validations.c.valid, _validations.c.checked_at)
                .where(_validations.c.worker_id == worker_id)
                .order_by(_validations.c.checked_at.desc(), _validations.c.id.desc())
            ).all()
        streak = 0
        for valid, _ in rows:
            if not valid:
                break
            streak += 1
        recent = [valid for valid, at in rows if _aware(at) >= since]
        return WorkerRecord(worker_id, sum(recent), len(recent), streak)

    @retrying
    def workers(self) -> list[WorkerRecord]:
        with self.engine.connect() as conn:
            ids = sorted({r[0] for r in conn.execute(sa.select(_blocks.c.worker_id))}
                         | {r[0] for r in conn.execute(sa.select(_validations.c.worker_id))})
        return [self.worker(i) for i in ids]

    @retrying
    def blocks_of(self, worker_id: str) -> list[str]:
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(sa.select(_blocks.c.partition_key)
                                               .where(_blocks.c.worker_id == worker_id))]

    @retrying
    def checked_blocks(self) -> set[str]:
        with self.engine.connect() as conn:
            return {r[0] for r in conn.execute(sa.select(_validations.c.partition_key))}


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def needs_double_check(record: WorkerRecord, partition_key: str, max_digits: int, sample_every: int = 10,
                       record_digits: int = 100_000) -> str | None:
    """Why this block must be double-checked, or None. Deterministic: the same block, the same answer."""
    if max_digits >= record_digits:
        return f"possible record ({max_digits} digits): always checked"
    if not record.trusted:
        return f"worker {record.worker_id[:8]} is not trusted ({record.streak} valid in a row)"
    return f"sampled 1 in {sample_every}" if sampled(partition_key, sample_every) else None


def sampled(partition_key: str, sample_every: int) -> bool:
    return int(hashlib.sha256(partition_key.encode()).hexdigest(), 16) % sample_every == 0


def proofs_may_replace_double_check(record: WorkerRecord, partition_key: str, max_digits: int,
                                    sample_every: int = 10, record_digits: int = 100_000) -> bool:
    """Whether verified proofs may stand in for this block's double check: an untrusted (not unreliable) worker's
    block that is neither a possible record nor in the 1-in-`sample_every` sample (which keeps catching a worker
    that forges proofs after doing the work, see proofs/pietrzak.py)."""
    return (max_digits < record_digits and not record.trusted and not record.unreliable
            and not sampled(partition_key, sample_every))


@functools.cache
def open_reliability_store(url: str) -> ReliabilityStore:
    return ReliabilityStore(url)
