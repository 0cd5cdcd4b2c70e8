"""The work server's state: volunteers (tokens hashed), units (blocks open to volunteers), leases, results.

SQLAlchemy Core in the registry's database by default (SQLite embedded, PostgreSQL in fleet mode), so a
restarted server loses nothing and several server processes may share one database. A lease is taken by one
conditional UPDATE (the unit is free or its lease expired), so a unit is never leased twice at once whatever
the concurrency; a result is bound to its lease: the UPDATE that ends the lease must find this worker holding
this lease, so a replayed, foreign or expired lease's result is refused. Times are UNIX seconds (floats).
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
import sqlite3
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from darkreach_pipeline.backoff import Backoff, retrying
from darkreach_pipeline.campaign import CampaignSpec
from darkreach_pipeline.forms import form_for
from darkreach_pipeline.stores.costs import CostStore
from darkreach_pipeline.stores.registry import create_engine, create_tables, store_backoff
from darkreach_pipeline.volunteer.credit import AcceptedUnit

OPEN, ACCEPTED = "open", "accepted"
CPU_CAP = 3.0  # credit never counts more CPU than 3x the server's own estimate of the unit (plus a minute)

_metadata = sa.MetaData()
_workers = sa.Table(
    "darkreach_volunteer_workers", _metadata,
    sa.Column("worker_id", sa.String(36), primary_key=True),
    sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(32), nullable=False),
    sa.Column("account", sa.String(32)),
    sa.Column("created_at", sa.Float, nullable=False),
)
_units = sa.Table(
    "darkreach_volunteer_units", _metadata,
    sa.Column("unit_id", sa.String(80), primary_key=True),  # the block's partition key
    sa.Column("form", sa.String(32), nullable=False),
    sa.Column("bits", sa.Float, nullable=False),
    sa.Column("estimated_seconds", sa.Float, nullable=False),
    sa.Column("ram_bytes", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("holder", sa.String(36)),
    sa.Column("lease_id", sa.String(32)),
    sa.Column("lease_seconds", sa.Float),
    sa.Column("deadline", sa.Float),
    sa.Column("leases", sa.Integer, nullable=False, default=0),  # how many times it was handed out
    sa.Column("opened_at", sa.Float, nullable=False),
)
_results = sa.Table(
    "darkreach_volunteer_results", _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("unit_id", sa.String(80), nullable=False, index=True),
    sa.Column("worker_id", sa.String(36), nullable=False, index=True),
    sa.Column("lease_id", sa.String(32), nullable=False, unique=True),
    sa.Column("verdict", sa.String(16), nullable=False),  # accepted / pending / rejected
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("rows", sa.Text, nullable=False),  # JSON test rows (never pickled)
    sa.Column("tests", sa.Integer, nullable=False),
    sa.Column("primes", sa.Integer, nullable=False),
    sa.Column("bits", sa.Float, nullable=False),
    sa.Column("cpu_seconds", sa.Float, nullable=False),
    sa.Column("submitted_at", sa.Float, nullable=False),
)


class LeaseError(LookupError):
    """A request names a lease this worker does not hold (never leased, expired, replayed or someone else's)."""


@dataclass(frozen=True)
class Worker:
    worker_id: str
    name: str
    account: str | None


@dataclass(frozen=True)
class Lease:
    unit_id: str
    lease_id: str
    lease_seconds: float
    estimated_seconds: float


@dataclass(frozen=True)
class Settled:
    """What storing a result decided: its verdict and reason, the workers whose results were accepted (valid
    blocks for their records) and those whose results a quorum overruled (invalid blocks)."""

    verdict: str
    reason: str
    valid: list[str]
    invalid: list[str]


@dataclass(frozen=True)
class StoredResult:
    worker_id: str
    verdict: str
    digest: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def unit_ram_bytes(bits: float) -> int:
    """Memory a unit needs: the interpreter and sieve (~200 MB) plus the proof's 2^8 kept residues and the
    arithmetic's buffers (a few dozen residues) of the largest candidate."""
    return int(200e6 + (256 + 64) * bits / 8)


class VolunteerStore:
    def __init__(self, url: str, lease_floor: float = 120.0, backoff: Backoff | None = None):
        self.engine = create_engine(url)
        self.backoff = backoff or store_backoff("volunteer store", url)
        self.lease_floor = lease_floor  # the shortest lease (and heartbeat extension), in seconds
        create_tables(self.engine, _metadata, self.backoff)

    # --- units -------------------------------------------------------------------------------------------
    @retrying
    def open_blocks(self, spec: CampaignSpec, blocks: Iterable[int], costs: CostStore) -> int:
        """Open these blocks to volunteers (an already open or accepted one is left as it is); how many were new."""
        from darkreach_pipeline.blocks import block_estimate_seconds  # blocks imports pandas: only when opening

        form = form_for(spec)
        now, added = time.time(), 0
        with self.engine.begin() as conn:
            known = {r[0] for r in conn.execute(sa.select(_units.c.unit_id).where(
                _units.c.unit_id.like(f"{spec.name}/%")))}
            for block in blocks:
                key = spec.partition_key(block)
                if key in known:
                    continue
                lo, hi = spec.block_range(block)
                bits = form.bits(hi - 1)
                conn.execute(_units.insert().values(
                    unit_id=key, form=spec.form, bits=bits,
                    estimated_seconds=block_estimate_seconds(spec, block, costs),
                    ram_bytes=unit_ram_bytes(bits), status=OPEN, leases=0, opened_at=now))
                added += 1
        return added

    @retrying
    def units(self) -> dict[str, dict]:
        """Every unit by id: status, holder, deadline, how often leased (operator's view; never sent to clients)."""
        with self.engine.connect() as conn:
            return {r["unit_id"]: dict(r) for r in conn.execute(sa.select(_units)).mappings()}

    # --- workers -----------------------------------------------------------------------------------------
    @retrying
    def register(self, name: str | None, account: str | None) -> tuple[str, str]:
        """A new volunteer: (worker id, token). Only the token's SHA-256 is stored."""
        worker_id, token = str(uuid.uuid4()), secrets.token_hex(32)
        with self.engine.begin() as conn:
            conn.execute(_workers.insert().values(worker_id=worker_id, token_sha256=token_hash(token),
                                                  name=name or worker_id[:8], account=account, created_at=time.time()))
        return worker_id, token

    @retrying
    def authenticate(self, token: str) -> Worker | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(_workers.c.worker_id, _workers.c.name, _workers.c.account)
                               .where(_workers.c.token_sha256 == token_hash(token))).first()
        return None if row is None else Worker(*row)

    # --- leases ------------------------------------------------------------------------------------------
    @retrying
    def claim(self, worker_id: str, forms: list[str], max_ram_bytes: int) -> Lease | None:
        """Lease one free unit (never leased, or its lease expired) this worker has not already returned. A worker
        that still holds a live lease gets that one again (its claim's reply was lost, e.g. to a server restart):
        a client works on one unit at a time, so a lease it asks past is one it never heard of."""
        now = time.time()
        with self.engine.connect() as conn:
            held = conn.execute(sa.select(_units.c.unit_id, _units.c.lease_id, _units.c.lease_seconds,
                                          _units.c.estimated_seconds)
                                .where(_units.c.holder == worker_id, _units.c.status == OPEN,
                                       _units.c.deadline >= now).limit(1)).first()
        if held is not None:
            return Lease(*held)
        query = (sa.select(_units.c.unit_id, _units.c.estimated_seconds, _units.c.lease_id)
                 .where(_units.c.status == OPEN, sa.or_(_units.c.holder.is_(None), _units.c.deadline < now),
                        _units.c.unit_id.not_in(sa.select(_results.c.unit_id).where(
                            _results.c.worker_id == worker_id)))
                 .order_by(_units.c.leases, _units.c.unit_id).limit(16))
        if forms:
            query = query.where(_units.c.form.in_(forms))
        if max_ram_bytes:
            query = query.where(_units.c.ram_bytes <= max_ram_bytes)
        with self.engine.connect() as conn:
            offers = conn.execute(query).all()
        for unit_id, estimate, old_lease in secrets.SystemRandom().sample(offers, len(offers)):
            lease_seconds = max(self.lease_floor, CPU_CAP * estimate)
            lease_id = secrets.token_hex(16)
            with self.engine.begin() as conn:
                taken = conn.execute(
                    _units.update().where(
                        _units.c.unit_id == unit_id, _units.c.status == OPEN,
                        sa.or_(_units.c.holder.is_(None), _units.c.deadline < now),
                        _units.c.lease_id.is_(None) if old_lease is None else _units.c.lease_id == old_lease)
                    .values(holder=worker_id, lease_id=lease_id, lease_seconds=lease_seconds,
                            deadline=now + lease_seconds, leases=_units.c.leases + 1)).rowcount
            if taken == 1:
                return Lease(unit_id, lease_id, lease_seconds, estimate)
        return None

    @retrying
    def heartbeat(self, worker_id: str, unit_id: str, lease_id: str) -> float:
        """Extend a live lease by its length; the lease length. LeaseError if this worker does not hold it."""
        now = time.time()
        with self.engine.begin() as conn:
            held = _held(unit_id, lease_id, worker_id, now)
            row = conn.execute(sa.select(_units.c.lease_seconds).where(*held)).first()
            if row is None:
                raise LeaseError(f"no live lease {lease_id} of unit {unit_id} held by this worker")
            conn.execute(_units.update().where(*held).values(deadline=now + row[0]))
        return float(row[0])

    def check_lease(self, worker_id: str, unit_id: str, lease_id: str) -> None:
        """LeaseError unless this worker holds this unit's live lease (before the costly examination)."""
        with self.engine.connect() as conn:
            if conn.execute(sa.select(_units.c.unit_id).where(
                    *_held(unit_id, lease_id, worker_id, time.time()))).first() is None:
                raise LeaseError(f"unit {unit_id}: lease {lease_id} is not held by this worker (never leased, "
                                 "expired and handed to another, already returned, or someone else's)")

    # --- results -----------------------------------------------------------------------------------------
    @retrying
    def record_result(self, worker_id: str, unit_id: str, lease_id: str, verdict: str, reason: str, digest: str,
                      rows: list[dict], primes: int, bits: float, cpu_seconds: float) -> Settled:
        """End the lease and store the result, in one transaction: LeaseError (nothing stored) if the lease is
        no longer this worker's. An accepted result closes the unit. A pending one that matches another worker's
        pending result makes a quorum of two: both are accepted, the disagreeing ones rejected, the unit closed,
        in the same transaction (so the unit is never handed out again in between)."""
        now = time.time()
        with self.engine.begin() as conn:
            ended = conn.execute(_units.update().where(*_held(unit_id, lease_id, worker_id, now))
                                 .values(holder=None, lease_id=None, deadline=None,
                                         status=ACCEPTED if verdict == "accepted" else OPEN)).rowcount
            if ended != 1:
                raise LeaseError(f"unit {unit_id}: lease {lease_id} ended before the result was stored")
            conn.execute(_results.insert().values(
                unit_id=unit_id, worker_id=worker_id, lease_id=lease_id, verdict=verdict, reason=reason, digest=digest,
                rows=json.dumps(rows if verdict != "rejected" else []), tests=len(rows), primes=primes, bits=bits,
                cpu_seconds=cpu_seconds, submitted_at=now))
            if verdict != "pending":
                return Settled(verdict, reason, [worker_id] if verdict == "accepted" else [], [])
            pending = conn.execute(sa.select(_results.c.worker_id, _results.c.digest).where(
                _results.c.unit_id == unit_id, _results.c.verdict == "pending")).all()
            agreeing = sorted({w for w, d in pending if d == digest and w != worker_id})
            if not agreeing:
                return Settled("pending", reason, [], [])
            reason = f"quorum of two: matches the result of worker {agreeing[0][:8]}"
            losers = sorted({w for w, d in pending if d != digest})
            mine = _results.c.unit_id == unit_id, _results.c.verdict == "pending"
            conn.execute(_results.update().where(*mine, _results.c.digest == digest)
                         .values(verdict="accepted", reason=reason))
            conn.execute(_results.update().where(*mine)
                         .values(verdict="rejected", reason="disagrees with a quorum of two other results"))
            conn.execute(_units.update().where(_units.c.unit_id == unit_id).values(status=ACCEPTED))
        return Settled("accepted", reason, [worker_id, *agreeing], losers)

    @retrying
    def results_of(self, unit_id: str) -> list[StoredResult]:
        """Every result stored for a unit, oldest first (the operator's and the benchmark's view)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(_results.c.worker_id, _results.c.verdict, _results.c.digest)
                                .where(_results.c.unit_id == unit_id).order_by(_results.c.id)).all()
        return [StoredResult(*r) for r in rows]

    @retrying
    def accepted_result(self, unit_id: str) -> tuple[str, str, list[dict]] | None:
        """(worker id, worker name, test rows) of the first accepted result of a unit, None if it has none."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(_results.c.worker_id, _workers.c.name, _results.c.rows)
                .join(_workers, _workers.c.worker_id == _results.c.worker_id)
                .where(_results.c.unit_id == unit_id, _results.c.verdict == "accepted")
                .order_by(_results.c.id).limit(1)).first()
        return None if row is None else (row[0], row[1], json.loads(row[2]))

    @retrying
    def accepted_since(self, after_id: int) -> list[tuple[int, str, str]]:
        """(result id, unit id, worker id) of accepted results with an id above `after_id` (the sensor's cursor)."""
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(
                sa.select(_results.c.id, _results.c.unit_id, _results.c.worker_id)
                .where(_results.c.id > after_id, _results.c.verdict == "accepted").order_by(_results.c.id))]

    @retrying
    def accepted_units(self) -> list[AcceptedUnit]:
        """One record per accepted result (both workers of a quorum are credited), for credit and leaderboards."""
        query = (sa.select(_results, _workers.c.name, _workers.c.account, _units.c.form, _units.c.estimated_seconds)
                 .join(_workers, _workers.c.worker_id == _results.c.worker_id)
                 .join(_units, _units.c.unit_id == _results.c.unit_id)
                 .where(_results.c.verdict == "accepted").order_by(_results.c.id))
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [AcceptedUnit(
            unit_id=r["unit_id"], worker_id=r["worker_id"], worker_name=r["name"], account=r["account"],
            form=r["form"], stage="prp", bits=int(r["bits"]), candidates=r["tests"],
            cpu_seconds=min(r["cpu_seconds"], CPU_CAP * r["estimated_seconds"] + 60.0),
            estimated_core_hours=r["estimated_seconds"] / 3600.0, primes=r["primes"],
            accepted_at=datetime.fromtimestamp(r["submitted_at"], UTC)) for r in rows]


def serving(engine: sa.Engine) -> sa.Engine:
    """The engine, set up for the work server's many small writes when it is SQLite (see below); the other
    stores the server writes to (worker reliability) get the same."""
    if engine.dialect.name == "sqlite" and not sa.event.contains(engine, "connect", _sqlite_for_a_server):
        sa.event.listen(engine, "connect", _sqlite_for_a_server)
        engine.dispose()  # connections opened before (creating the tables) are replaced by set-up ones
    return engine


def _sqlite_for_a_server(connection, _record) -> None:
    """SQLite serving many small write transactions (a claim, a heartbeat, a result each): the write-ahead log
    lets readers go on during a write and commits without a full fsync each (20 ms -> well under 1 ms); a
    killed server process still loses no committed transaction (only a power cut may lose the last ones, whose
    leases then simply expire and are handed out again). A busy database is waited for, not an error."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    try:
        cursor.execute("PRAGMA journal_mode=WAL")  # kept by the file: once set, every process uses it
    except sqlite3.OperationalError:  # another process holds the database right now: stay as it is
        pass
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _held(unit_id: str, lease_id: str, worker_id: str, now: float) -> tuple:
    """The WHERE clause of 'this worker holds this live lease of this unit'."""
    return (_units.c.unit_id == unit_id, _units.c.lease_id == lease_id, _units.c.holder == worker_id,
            _units.c.status == OPEN, _units.c.deadline >= now)


@functools.cache
def open_volunteer_store(url: str) -> VolunteerStore:
    return VolunteerStore(url)
