"""Claims on blocks: a command runs a block only while it holds the block's claim, so two commands on one
deployment never both run it (a second command waits for the first one's blocks instead).

A claim row names its holder (liveness.ProcessId) and a heartbeat. It is taken over when its holder is gone:
a process of this host that no longer exists, or a heartbeat older than STALE_AFTER seconds. Rows live in the
registry's database (SQLite or PostgreSQL): claiming is one transaction, the primary key settles races.
"""

from __future__ import annotations

import time

import sqlalchemy as sa

from darkreach_pipeline.backoff import Backoff, retrying
from darkreach_pipeline.liveness import ProcessId
from darkreach_pipeline.stores.registry import create_engine, create_tables, store_backoff

STALE_AFTER = 300.0  # seconds without a heartbeat; holders beat every HEARTBEAT seconds
HEARTBEAT = 20.0

_metadata = sa.MetaData()
_claims = sa.Table(
    "darkreach_block_claims",
    _metadata,
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("holder", sa.String(300), nullable=False),
    sa.Column("heartbeat", sa.Float, nullable=False),
)


class ClaimStore:
    def __init__(self, url: str, holder: ProcessId | None = None, backoff: Backoff | None = None):
        self.engine = create_engine(url)
        self.backoff = backoff or store_backoff("block claims", url)
        self.holder = holder or ProcessId.this()
        create_tables(self.engine, _metadata, self.backoff)

    def _stale(self, holder: str, heartbeat: float) -> bool:
        other = ProcessId.parse(holder)
        return other is None or other.is_gone() or time.time() - heartbeat > STALE_AFTER

    @retrying
    def claim(self, keys: list[str]) -> str | None:
        """Claim every one of `keys`, or none: None when claimed, else the live holder of one of them (or
        'another command' when a concurrent claim won the race)."""
        mine = self.holder.token
        try:
            with self.engine.begin() as conn:
                rows = conn.execute(sa.select(_claims).where(_claims.c.key.in_(keys))).mappings().all()
                for row in rows:
                    if row["holder"] != mine and not self._stale(row["holder"], row["heartbeat"]):
                        return row["holder"]
                for row in rows:  # ours or stale: replaced, unless someone else replaced it meanwhile
                    gone = conn.execute(_claims.delete().where(
                        (_claims.c.key == row["key"]) & (_claims.c.holder == row["holder"])))
                    if gone.rowcount != 1:
                        raise _Lost
                now = time.time()
                conn.execute(_claims.insert(), [{"key": k, "holder": mine, "heartbeat": now} for k in keys])
        except (_Lost, sa.exc.IntegrityError):
            return "another command"
        except sa.exc.OperationalError as exc:
            if "locked" not in str(exc):  # SQLite: another writer at this moment
                raise
            return "another command"
        return None

    @retrying
    def heartbeat(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(_claims.update().where(_claims.c.holder == self.holder.token).values(heartbeat=time.time()))

    @retrying
    def release(self, keys: list[str] | None = None) -> None:
        """Give up these claims of ours (all of them when keys is None)."""
        condition = _claims.c.holder == self.holder.token
        if keys is not None:
            condition &= _claims.c.key.in_(keys)
        with self.engine.begin() as conn:
            conn.execute(_claims.delete().where(condition))


class _Lost(Exception):
    """A stale claim was taken over by another process between reading and replacing it."""
