"""The campaign registry: maps a campaign name (the prefix of every block key) to its exact spec.

Persisted with SQLAlchemy Core, so the same code serves SQLite (the embedded default) and
PostgreSQL (fleet mode). A name, once registered, keeps its definition forever: registering it
again with other parameters is refused, so results from two definitions never mix.

Every store (registry, checkpoints, costs, reliability) opens its engine with `create_engine` and retries
each transaction through a `Backoff` (backoff.py): a PostgreSQL restart or outage makes callers wait
(10 s, 20 s, ... up to 5 min between attempts), it does not fail the block.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from darkreach_pipeline.backoff import Backoff, is_connection_error, retrying
from darkreach_pipeline.campaign import CampaignSpec, parse_campaign, split_partition_key
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.redact import redact

metadata = sa.MetaData()
campaigns = sa.Table(
    "darkreach_campaigns",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("fingerprint", sa.String(32), nullable=False),
    sa.Column("definition", sa.Text, nullable=False),
    sa.Column("sieve_depth_requested", sa.String(32), nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("registered_at", sa.String(40), nullable=False),
)


def sqlalchemy_url(url: str) -> str:
    """SQLAlchemy 2.1 maps postgresql:// to psycopg 3, which is not installed: use psycopg2."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg2://" + url.split("://", 1)[1]
    return url


def create_engine(url: str) -> sa.Engine:
    """An engine for a store. pool_pre_ping: a pooled connection that died with a server restart is noticed
    and replaced before use, instead of failing the first statement after the restart. A SQLite file's folder
    is created first (a new DARKREACH_HOME beside an existing DAGSTER_HOME: "unable to open database file")."""
    parsed = sa.engine.make_url(sqlalchemy_url(url))
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return sa.create_engine(parsed, pool_pre_ping=True)


def store_backoff(what: str, url: str) -> Backoff:
    """The back-off of one store's database; the log names the store and its URL (password hidden)."""
    return Backoff(f"{what} database {redact(sqlalchemy_url(url))}")


def create_tables(engine: sa.Engine, tables: sa.MetaData, backoff: Backoff) -> None:
    """Create missing tables, waiting (with back-off) for the server if it is not reachable yet.

    Two processes opening a new store at once both see a table missing and both create it: the loser's
    "already exists" is harmless, so it checks again instead of failing (a block would fail with it)."""

    def create() -> None:
        for attempt in range(3):
            try:
                tables.create_all(engine, checkfirst=True)
                return
            except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.IntegrityError) as exc:
                if attempt == 2 or ("already exists" not in str(exc) and "duplicate" not in str(exc).lower()):
                    raise

    backoff.call(create, retry_if=is_connection_error)


class CampaignRegistry:
    def __init__(self, url: str, backoff: Backoff | None = None):
        self.url = sqlalchemy_url(url)
        self.engine = create_engine(self.url)
        self.backoff = backoff or store_backoff("campaign registry", self.url)
        create_tables(self.engine, metadata, self.backoff)

    def register(self, spec: CampaignSpec) -> bool:
        """Record the campaign; True if new, False if already registered identically."""
        existing = self.find(spec.name)
        if existing is not None:
            if existing.fingerprint() == spec.fingerprint():
                return False
            old, new = existing.definition(), spec.definition()
            changed = [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in sorted(set(old) | set(new))
                       if old.get(k) != new.get(k)]
            raise CampaignError(
                changed[0].split(":")[0] if changed else "name",
                f"campaign '{spec.name}' is already registered with other parameters ({'; '.join(changed)}); "
                "results of two definitions must not mix: give the new campaign another name",
            )
        row = {
            "name": spec.name,
            "fingerprint": spec.fingerprint(),
            "definition": json.dumps(spec.definition(), sort_keys=True),
            "sieve_depth_requested": str(spec.sieve_depth_requested),
            "description": spec.description,
            "registered_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        try:
            self._insert(row)
        except sa.exc.IntegrityError:  # registered concurrently by another process: compare again
            return self.register(spec)
        return True

    @retrying
    def _insert(self, row: dict) -> None:
        with self.engine.begin() as conn:
            conn.execute(campaigns.insert().values(**row))

    @retrying
    def find(self, name: str) -> CampaignSpec | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(campaigns).where(campaigns.c.name == name)).mappings().first()
        return None if row is None else self._spec(row)

    def get(self, name: str) -> CampaignSpec:
        spec = self.find(name)
        if spec is None:
            known = ", ".join(self.names()) or "none yet"
            raise CampaignError(
                "name", f"no campaign named '{name}' is registered (registered: {known}); "
                "register it with `darkreach register FILE` or `darkreach run FILE`"
            )
        return spec

    @retrying
    def names(self) -> list[str]:
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(sa.select(campaigns.c.name).order_by(campaigns.c.name))]

    @retrying
    def all(self) -> list[CampaignSpec]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(campaigns).order_by(campaigns.c.name)).mappings().all()
        return [self._spec(r) for r in rows]

    def resolve(self, partition_key: str) -> tuple[CampaignSpec, int]:
        """Map a block key back to its campaign and block, or explain why the key is stale."""
        name, block = split_partition_key(partition_key)
        spec = self.find(name)
        if spec is None:
            raise CampaignError(
                "partition_key",
                f"{partition_key!r} belongs to campaign '{name}', which is not in the registry at {redact(self.url)}: "
                "register the campaign again, or delete this stale partition key",
            )
        if block >= spec.block_count:
            raise CampaignError(
                "partition_key",
                f"{partition_key!r}: campaign '{name}' has blocks 000000..{spec.block_count - 1:06d} only; "
                "this key is stale, delete it",
            )
        return spec, block

    @staticmethod
    def _spec(row) -> CampaignSpec:
        definition = json.loads(row["definition"])
        spec = parse_campaign({**definition, "description": row["description"]})
        requested = row["sieve_depth_requested"]
        return CampaignSpec(**{**spec.__dict__, "sieve_depth_requested": int(requested) if requested.isdigit()
                               else requested})


@functools.cache
def open_registry(url: str) -> CampaignRegistry:
    """One registry (engine, connection pool, schema check) per URL and process."""
    return CampaignRegistry(url)
