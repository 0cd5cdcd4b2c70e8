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

import httpx
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
        stats, page = httpx.get(f"{url}/stats", timeout=30), httpx.get(f"{url}/stats.html", timeout=30)
    finally:
        for process in (*clients, server):
            stop(process)
    assert stats.status_code == page.status_code == 200
    board = {row["name"]: row for row in stats.json()["leaderboard"]}  # no accounts here: one row a machine
    assert set(board) == {u.worker_name for u in store.accepted_units()}  # everyone credited, under their alias
    assert all(row["units"] > 0 for row in board.values()) and all(name in page.text for name in board)
    assert not any(u.worker_id in stats.text + page.text for u in store.accepted_units())  # UUIDs stay private
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


WOODALL = {"name": "vol-woodall", "form": "woodall", "n_min": 3001, "n_max": 3200, "block_size": 200,
           "sieve_depth": 1000}


def test_killed_volunteer_resumes_or_loses_its_lease(tmp_path: Path) -> None:
    """Two volunteers killed (kill -9) mid-unit: one restarted resumes from its checkpoint; the other is not,
    its lease expires and a third volunteer finishes its unit. --forms keeps each on its own unit."""
    server_home = tmp_path / "server"
    url_db = registry_url(server_home)
    kbn, woodall = parse_campaign(SLOW), parse_campaign(WOODALL)
    store = VolunteerStore(url_db)
    for spec in (kbn, woodall):
        CampaignRegistry(url_db).register(spec)
        store.open_blocks(spec, [0], CostStore(url_db))
    resumed_unit, lost_unit = kbn.partition_key(0), woodall.partition_key(0)
    server, url = start_server(server_home, "--claim-retry-seconds", "0.3", "--lease-floor", "4")
    a_home, c_home, b_home = tmp_path / "a", tmp_path / "c", tmp_path / "b"
    processes = []
    try:
        slow = [start_client(a_home, url, "--forms", "kbn", "--max-cpu", "2"),
                start_client(c_home, url, "--forms", "woodall", "--max-cpu", "2")]
        processes += slow
        checkpoints = a_home / "volunteer" / "checkpoints"
        wait_for(lambda: checkpoints.exists() and any(checkpoints.glob("*.ckpt"))
                 and _holder(store, lost_unit) == _worker_id(c_home), 90, "a checkpoint and both units leased")
        for process in slow:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        resumed = start_client(a_home, url, "--units", "1", "--forms", "kbn")
        other = start_client(b_home, url, "--units", "1", "--forms", "woodall")
        processes += [resumed, other]
        assert resumed.wait(timeout=90) == 0 and other.wait(timeout=90) == 0
        assert "resumed from its checkpoint" in (a_home / "join.log").read_text()
        assert store.accepted_result(resumed_unit)[0] == _worker_id(a_home)
        assert store.accepted_result(lost_unit)[0] == _worker_id(b_home)  # the killed one's lease expired
        assert store.units()[lost_unit]["leases"] == 2
    finally:
        for process in (*processes, server):
            stop(process)
