"""CampaignRegistry on SQLite (a temporary file) and on the local PostgreSQL server (a fresh database)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from conftest import PROTH, RIESEL

from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.stores.registry import CampaignRegistry, campaigns, open_registry, sqlalchemy_url


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    url = request.getfixturevalue("postgres_url")
    engine = sa.create_engine(sqlalchemy_url(url))
    with engine.begin() as conn:  # one database per session: start every test from an empty table
        conn.execute(sa.text("DROP TABLE IF EXISTS darkreach_campaigns"))
    engine.dispose()
    return url


@pytest.fixture
def registry(registry_url):
    reg = CampaignRegistry(registry_url)
    yield reg
    reg.engine.dispose()


def rows(registry: CampaignRegistry) -> list[dict]:
    with registry.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(campaigns).order_by(campaigns.c.name)).mappings()]


def test_backend(registry, registry_url):
    expected = "sqlite" if registry_url.startswith("sqlite") else "postgresql"
    assert registry.engine.dialect.name == expected
    if expected == "postgresql":
        assert registry.engine.url.drivername == "postgresql+psycopg2"
        assert registry.engine.url.database.startswith("darkreach_test_")


def test_register_new_then_identical(registry):
    spec = parse_campaign({**PROTH, "description": "first"})
    assert registry.register(spec) is True
    assert registry.register(spec) is False
    assert registry.register(parse_campaign({**PROTH, "description": "other words"})) is False  # not identity
    assert len(rows(registry)) == 1
    stored = registry.get("proth")
    assert stored == spec
    assert stored.fingerprint() == spec.fingerprint()
    assert stored.sieve_depth_requested == 1000


def test_auto_sieve_depth_survives_the_round_trip(registry):
    spec = parse_campaign({**RIESEL, "sieve_depth": "auto", "description": "auto depth"})
    assert registry.register(spec) is True
    stored = registry.get("riesel")
    assert stored == spec
    assert stored.sieve_depth_requested == "auto"
    assert registry.register(stored) is False


def test_same_name_other_parameters_is_refused(registry):
    spec = parse_campaign(PROTH)
    registry.register(spec)
    before = rows(registry)
    changed = parse_campaign({**PROTH, "n_max": 200})
    with pytest.raises(CampaignError) as info:
        registry.register(changed)
    assert info.value.field == "n_max"
    assert "n_max: 120 -> 200" in str(info.value)
    assert "already registered" in str(info.value)
    assert rows(registry) == before  # nothing changed, not even the timestamp
    assert registry.get("proth") == spec
    assert registry.get("proth").axis_max == 120


@pytest.mark.parametrize("field,value", [("c", -1), ("sieve_depth", 2000), ("block_size", 20), ("k", 5)])
def test_each_defining_field_is_named_when_it_changes(registry, field, value):
    registry.register(parse_campaign(PROTH))
    with pytest.raises(CampaignError) as info:
        registry.register(parse_campaign({**PROTH, field: value}))
    assert info.value.field == field


def test_resolve(registry):
    spec = parse_campaign(PROTH)
    registry.register(spec)
    assert registry.resolve("proth/000002") == (spec, 2)
    assert registry.resolve("proth/000000") == (spec, 0)


def test_resolve_unknown_campaign_is_stale(registry):
    registry.register(parse_campaign(PROTH))
    with pytest.raises(CampaignError) as info:
        registry.resolve("gone/000000")
    assert info.value.field == "partition_key"
    assert "not in the registry" in str(info.value) and "stale" in str(info.value)


def test_resolve_block_out_of_range_is_stale(registry):
    registry.register(parse_campaign(PROTH))
    with pytest.raises(CampaignError) as info:
        registry.resolve("proth/000003")
    assert info.value.field == "partition_key"
    assert "stale" in str(info.value) and "000000..000002" in str(info.value)


def test_resolve_malformed_key(registry):
    with pytest.raises(CampaignError) as info:
        registry.resolve("proth-3")
    assert info.value.field == "partition_key"


def test_get_unknown_lists_registered_names(registry):
    with pytest.raises(CampaignError) as info:
        registry.get("nothing")
    assert "none yet" in str(info.value)
    registry.register(parse_campaign(PROTH))
    registry.register(parse_campaign(RIESEL))
    with pytest.raises(CampaignError) as info:
        registry.get("nothing")
    assert info.value.field == "name"
    assert "registered: proth, riesel" in str(info.value)
    assert registry.names() == ["proth", "riesel"]
    assert [s.name for s in registry.all()] == ["proth", "riesel"]
    assert registry.find("nothing") is None


def test_a_second_registry_object_sees_the_same_data(registry, registry_url):
    registry.register(parse_campaign(PROTH))
    other = CampaignRegistry(registry_url)  # schema creation is idempotent
    try:
        assert other.get("proth") == parse_campaign(PROTH)
        assert other.register(parse_campaign(PROTH)) is False
        with pytest.raises(CampaignError):
            other.register(parse_campaign({**PROTH, "n_max": 200}))
    finally:
        other.engine.dispose()


def test_concurrent_registration_of_one_campaign(registry_url):
    """Two processes registering the same campaign at once: one True, the rest False, one row."""
    spec = parse_campaign(PROTH)
    registries = [CampaignRegistry(registry_url) for _ in range(4)]
    outcomes: list[object] = []
    barrier = threading.Barrier(len(registries))

    def go(reg):
        barrier.wait()
        try:
            outcomes.append(reg.register(spec))
        except Exception as exc:  # noqa: BLE001 - reported below
            outcomes.append(exc)

    threads = [threading.Thread(target=go, args=(r,)) for r in registries]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert sorted(outcomes, key=str) == [False, False, False, True], outcomes
        assert len(rows(registries[0])) == 1
    finally:
        for r in registries:
            r.engine.dispose()


def test_open_registry_is_one_object_per_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    assert open_registry(url) is open_registry(url)
    assert open_registry(url) is not open_registry(f"sqlite:///{tmp_path / 'other.db'}")


@pytest.mark.parametrize(
    "url,expected",
    [("postgresql://u@h/db", "postgresql+psycopg2://u@h/db"), ("postgres://u@h/db", "postgresql+psycopg2://u@h/db"),
     ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2://u@h/db"), ("sqlite:///x.db", "sqlite:///x.db")],
)
def test_sqlalchemy_url(url, expected):
    assert sqlalchemy_url(url) == expected
