"""The work server's store without HTTP: leases are exclusive under concurrent claims, preferences filter the
units, tokens are kept hashed, and `volunteers open --blocks` parses what it is given."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from volunteer_helpers import RIESEL, prepare_server_home, registry_url

from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.volunteer.commands import parse_blocks
from darkreach_pipeline.volunteer.store import LeaseError, VolunteerStore, serving, token_hash, unit_ram_bytes


def test_concurrent_claims_never_share_a_unit(tmp_path: Path) -> None:
    spec = prepare_server_home(tmp_path)
    store = VolunteerStore(registry_url(tmp_path))
    serving(store.engine)
    workers = [store.register(f"w{i}", None)[0] for i in range(12)]
    leases, barrier = {}, threading.Barrier(len(workers))

    def claim(worker_id: str) -> None:
        barrier.wait()
        leases[worker_id] = store.claim(worker_id, [], 0)

    threads = [threading.Thread(target=claim, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    taken = [lease.unit_id for lease in leases.values() if lease is not None]
    assert sorted(taken) == spec.partition_keys()  # four units, four holders, eight told to wait
    for worker_id, lease in leases.items():
        if lease is not None:
            assert store.claim(worker_id, [], 0) == lease  # asking again returns the lease it holds
            assert store.units()[lease.unit_id]["holder"] == worker_id
    idle = next(w for w, lease in leases.items() if lease is None)
    held = next(lease for lease in leases.values() if lease is not None)
    with pytest.raises(LeaseError):
        store.heartbeat(idle, held.unit_id, held.lease_id)


def test_preferences_and_hashed_tokens(tmp_path: Path) -> None:
    prepare_server_home(tmp_path)
    store = VolunteerStore(registry_url(tmp_path))
    worker_id, token = store.register("ada", "team")
    assert store.claim(worker_id, ["factorial"], 0) is None  # a form it does not offer
    assert store.claim(worker_id, [], unit_ram_bytes(1.0) - 1) is None  # less memory than any unit needs
    assert store.claim(worker_id, ["kbn"], 8 << 30) is not None
    with store.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT token_sha256 FROM darkreach_volunteer_workers").scalar()
    assert stored == token_hash(token) and token not in stored
    assert store.authenticate(token).name == "ada" and store.authenticate("0" * 64) is None


def test_open_blocks_parses_numbers_ranges_and_keys() -> None:
    spec = parse_campaign({**RIESEL, "n_max": 1000})  # ten blocks
    assert parse_blocks(spec, "0, 2-4,vol-riesel/000009") == [0, 2, 3, 4, 9]
    assert parse_blocks(spec, None) == list(range(10))
    with pytest.raises(CampaignError, match="block 10 does not exist"):
        parse_blocks(spec, "10")
    with pytest.raises(CampaignError, match="not a block key"):
        parse_blocks(spec, "other/000001")
