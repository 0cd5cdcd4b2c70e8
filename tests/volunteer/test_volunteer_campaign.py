"""Volunteers end to end: a real work server on 127.0.0.1 and real `darkreach join` processes.

- several volunteers complete a campaign and its primes equal the embedded block stages' (and PARI/GP's);
  block 3 of it is in the 1-in-10 sample, so it is accepted by a quorum of two different volunteers;
  the server is killed and restarted mid-campaign, and loses nothing;
- a volunteer killed (kill -9) mid-unit and restarted resumes from its checkpoint; killed and not restarted,
  it loses the lease and another volunteer finishes the unit.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from volunteer_helpers import RIESEL, prepare_server_home, registry_url, start_client, start_server, stop

from darkreach_pipeline import blocks
from darkreach_pipeline.campaign import CampaignSpec, parse_campaign
from darkreach_pipeline.stores.costs import CostStore
from darkreach_pipeline.stores.registry import CampaignRegistry
from darkreach_pipeline.stores.reliability import ReliabilityStore, sampled
from darkreach_pipeline.volunteer.store import VolunteerStore


def wait_for(condition, timeout: float, what: str, processes=()) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            logs = "\n".join(p.args[-1] for p in processes)
            raise AssertionError(f"timed out waiting for {what} {logs}")
        time.sleep(0.1)


def embedded_primes(spec: CampaignSpec) -> set[int]:
    """The primes the block stages find when run here (what `darkreach run` computes per block)."""
    found = set()
    for block in range(spec.block_count):
        sieved = blocks.sieve_frame(spec, block, blocks.candidate_frame(spec, block))
        certs = blocks.certificate_frame(spec, blocks.test_frame(spec, block, sieved))
        found |= set(certs.loc[certs["verified"], spec.axis].astype(int))
    return found


def volunteer_primes(store: VolunteerStore, spec: CampaignSpec) -> tuple[set[int], set[str]]:
    primes, workers = set(), set()
    for key in spec.partition_keys():
        accepted = store.accepted_result(key)
        assert accepted is not None, f"{key} was not accepted"
        workers.add(accepted[0])
        primes |= {row[spec.axis] for row in accepted[2] if row["result"] != "composite"}
    return primes, workers


def test_volunteers_complete_a_campaign_with_the_embedded_primes(tmp_path: Path, pari_primes) -> None:
    """Three volunteers; the server is killed (kill -9) and restarted once the first unit is accepted."""
    server_home = tmp_path / "server"
    spec = prepare_server_home(server_home)
    store = VolunteerStore(registry_url(server_home))
    serve_args = ("--claim-retry-seconds", "0.3", "--lease-floor", "60")
    server, url = start_server(server_home, *serve_args)
    clients = [start_client(tmp_path / f"volunteer{i}", url, "--units", "2", "--idle-exit", "3", "--max-cpu", "30",
                            "--name", f"v{i}") for i in range(3)]
    try:
        wait_for(lambda: any(u["status"] == "accepted" for u in store.units().values()), 120, "a first unit")
        before = {key: store.accepted_result(key) for key in spec.partition_keys()}
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        time.sleep(1.0)  # the clients meet an outage and back off
        server, _ = start_server(server_home, *serve_args, sock=server.sock)
        for client in clients:
            assert client.wait(timeout=180) == 0
    finally:
        for process in (*clients, server):
            stop(process)
    assert None in before.values(), "the campaign was finished before the server restart: nothing was tested"
    for key, accepted in before.items():
        if accepted is not None:
            assert store.accepted_result(key) == accepted  # nothing accepted before the restart was lost
    primes, workers = volunteer_primes(store, spec)
    assert primes == embedded_primes(spec) == pari_primes(3, 2, -1, 1, 400)
    assert len(workers) >= 2
    assert all(unit["status"] == "accepted" for unit in store.units().values())
    sampled_key = spec.partition_key(3)
    assert sampled(sampled_key, 10)
    credited = [u for u in store.accepted_units() if u.unit_id == sampled_key]
    assert len({u.worker_id for u in credited}) == 2  # a quorum of two different volunteers
    assert {u.worker_name for u in store.accepted_units()} <= {"v0", "v1", "v2"}
    reliability = ReliabilityStore(registry_url(server_home))
    assert all(reliability.worker(u.worker_id).valid >= 1 for u in credited)
    for i in range(3):  # identity kept private, results all handed in
        volunteer = tmp_path / f"volunteer{i}" / "volunteer"
        assert (volunteer / "identity.json").stat().st_mode & 0o077 == 0
        assert not list((volunteer / "spool").glob("*.json"))


SLOW = {**RIESEL, "name": "vol-slow", "n_min": 3001, "n_max": 3200, "block_size": 100}


def _holder(store: VolunteerStore, key: str) -> str | None:
    unit = store.units()[key]
    return unit["holder"] if unit["holder"] and unit["deadline"] >= time.time() else None


def _worker_id(home: Path) -> str:
    path = home / "volunteer" / "identity.json"
    return json.loads(path.read_text())["worker_id"] if path.exists() else ""


def test_killed_volunteer_resumes_or_loses_its_lease(tmp_path: Path) -> None:
    server_home = tmp_path / "server"
    spec = parse_campaign(SLOW)
    url_db = registry_url(server_home)
    CampaignRegistry(url_db).register(spec)
    store = VolunteerStore(url_db)
    first, second = spec.partition_keys()
    store.open_blocks(spec, [0], CostStore(url_db))  # one unit first: a restarted client can only get that one
    server, url = start_server(server_home, "--claim-retry-seconds", "0.3", "--lease-floor", "4")
    a_home, b_home = tmp_path / "a", tmp_path / "b"
    processes = []
    try:
        # kill -9 mid-unit (a checkpoint written), restart: it resumes from its checkpoint and finishes the unit
        slow = start_client(a_home, url, "--units", "1", "--max-cpu", "3")
        processes.append(slow)
        checkpoints = a_home / "volunteer" / "checkpoints"
        wait_for(lambda: checkpoints.exists() and any(checkpoints.glob("*.ckpt")), 90, "a checkpoint")
        os.killpg(slow.pid, signal.SIGKILL)
        slow.wait()
        resumed = start_client(a_home, url, "--units", "1")
        processes.append(resumed)
        assert resumed.wait(timeout=90) == 0
        assert "resumed from its checkpoint" in (a_home / "join.log").read_text()
        assert store.accepted_result(first)[0] == _worker_id(a_home)
        # kill -9 and not restarted: the lease expires, another volunteer finishes the unit
        store.open_blocks(spec, [1], CostStore(url_db))
        slow = start_client(a_home, url, "--units", "1", "--max-cpu", "3")
        processes.append(slow)
        wait_for(lambda: _holder(store, second) == _worker_id(a_home), 60, "the second unit leased")
        os.killpg(slow.pid, signal.SIGKILL)
        slow.wait()
        other = start_client(b_home, url, "--units", "1")
        processes.append(other)
        assert other.wait(timeout=90) == 0
        assert store.accepted_result(second)[0] == _worker_id(b_home)
        assert store.units()[second]["leases"] == 2
    finally:
        for process in (*processes, server):
            stop(process)
