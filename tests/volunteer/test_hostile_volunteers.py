"""Hostile clients against one real work server (module scope): each attack is refused with a clear status,
lowers the worker's reliability where it is a wrong result, and changes no stored result."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest
from volunteer_helpers import RIESEL, honest_submission, prepare_server_home, registry_url, start_server, stop

from darkreach_pipeline.stores.reliability import ReliabilityStore
from darkreach_pipeline.volunteer.protocol import PROTOCOL_VERSION
from darkreach_pipeline.volunteer.store import VolunteerStore

HOSTILE = {**RIESEL, "name": "vol-hostile", "n_min": 101, "n_max": 1100}  # ten blocks, all above 2^64
MAX_RESULT = 2_000_000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("hostile-server")
    prepare_server_home(home, HOSTILE)
    process, url = start_server(home, "--claim-retry-seconds", "0.3", "--max-result-bytes", str(MAX_RESULT),
                                "--per-worker-rate", "10", "--per-worker-burst", "40", "--per-ip-rate", "1000",
                                "--per-ip-burst", "1000")
    yield url, home
    stop(process)


class Volunteer:
    """A client written by hand, to send what the real one never would."""

    def __init__(self, url: str):
        self.http = httpx.Client(base_url=url, timeout=60)
        reply = self.http.post("/v1/register", json={"protocol": PROTOCOL_VERSION}).json()
        self.worker_id, self.token = reply["worker_id"], reply["token"]

    def post(self, path: str, body, token: str | None = None) -> httpx.Response:
        content = body if isinstance(body, (str, bytes)) else json.dumps(body)
        bearer = self.token if token is None else token
        return self.http.post(path, content=content, headers={"Authorization": f"Bearer {bearer}"})

    def claim(self) -> dict:
        offer = self.post("/v1/claim", {"forms": [], "max_ram_bytes": 0}).json()["unit"]
        assert offer is not None
        return offer

    def honest_result(self, offer: dict) -> dict:
        return json.loads(honest_submission(offer["campaign"], offer["block"], offer["unit_id"],
                                            offer["lease_id"]).model_dump_json())


def stored(home: Path) -> tuple[dict, dict]:
    store = VolunteerStore(registry_url(home))
    units = store.units()
    return {key: store.accepted_result(key) for key in units}, {k: u["status"] for k, u in units.items()}


def invalid_validations(home: Path, worker_id: str) -> int:
    record = ReliabilityStore(registry_url(home)).worker(worker_id)
    return record.total - record.valid


def composite_above_2_64(result: dict) -> dict:
    return next(t for t in result["tests"] if t["result"] == "composite" and t["proof"])


def test_wrong_residue_is_rejected_and_lowers_trust(server) -> None:
    url, home = server
    mallory = Volunteer(url)
    offer = mallory.claim()
    result = mallory.honest_result(offer)
    row = composite_above_2_64(result)
    row["res64"] = format(int(row["res64"], 16) ^ 1, "016x")
    before = stored(home)
    response = mallory.post("/v1/result", result)
    assert response.status_code == 422 and response.json()["status"] == "rejected"
    assert "RES64" in response.json()["reason"] or "res64" in response.json()["reason"].lower()
    assert invalid_validations(home, mallory.worker_id) == 1
    assert stored(home) == before


def test_tampered_proof_is_rejected(server) -> None:
    url, home = server
    mallory = Volunteer(url)
    result = mallory.honest_result(mallory.claim())
    row = composite_above_2_64(result)
    proof = bytearray(base64.b64decode(row["proof"]))
    proof[-1] ^= 0x01  # one bit of the last middle value
    row["proof"] = base64.b64encode(bytes(proof)).decode()
    before = stored(home)
    response = mallory.post("/v1/result", result)
    assert response.status_code == 422 and "residue rejected" in response.json()["reason"]
    assert invalid_validations(home, mallory.worker_id) == 1
    assert stored(home) == before


def test_forged_proof_without_the_work_is_rejected(server) -> None:
    url, home = server
    mallory = Volunteer(url)
    offer = mallory.claim()
    result = mallory.honest_result(offer)
    other = composite_above_2_64(result)
    for row in result["tests"]:  # every proof replaced by another candidate's
        if row["proof"] and row is not other:
            row["proof"] = other["proof"]
    response = mallory.post("/v1/result", result)
    assert response.status_code == 422 and "another" in response.json()["reason"]
    assert invalid_validations(home, mallory.worker_id) == 1


def test_false_sieve_factor_is_rejected(server) -> None:
    url, home = server
    mallory = Volunteer(url)
    result = mallory.honest_result(mallory.claim())
    dropped = result["tests"].pop()  # a survivor claimed struck by a prime that does not divide it
    result["struck"].append([dropped["value"], 7])
    response = mallory.post("/v1/result", result)
    assert response.status_code == 422 and "does not divide" in response.json()["reason"]
    assert invalid_validations(home, mallory.worker_id) == 1


def test_oversized_payload_is_refused(server) -> None:
    url, home = server
    mallory = Volunteer(url)
    before = stored(home)
    response = mallory.post("/v1/result", b"{" + b" " * (MAX_RESULT + 1) + b"}")
    assert response.status_code == 413
    response = mallory.post("/v1/claim", json.dumps({"forms": [], "pad": "x" * 100_000}))
    assert response.status_code == 413
    assert stored(home) == before


def test_malformed_payloads_are_refused_naming_the_field(server) -> None:
    url, home = server
    mallory = Volunteer(url)
    offer = mallory.claim()
    result = mallory.honest_result(offer)
    before = stored(home)
    for body, field in (({**result, "admin": True}, "admin"), ({**result, "cpu_seconds": "lots"}, "cpu_seconds"),
                        ({**result, "lease_id": "../../etc"}, "lease_id"), ("not json", "body"),
                        ({**result, "tests": [{**result["tests"][0], "res64": "zz"}]}, "res64")):
        response = mallory.post("/v1/result", body)
        assert response.status_code == 400, body if isinstance(body, str) else field
        assert field in response.json()["detail"] or field == "body"
    assert invalid_validations(home, mallory.worker_id) == 0  # malformed is refused, not judged
    assert mallory.post("/v1/result", result).status_code in (200, 202)  # the lease was still intact
    assert {k: v for k, v in stored(home)[0].items() if k != offer["unit_id"]} == {
        k: v for k, v in before[0].items() if k != offer["unit_id"]}


def test_replayed_result_is_refused(server) -> None:
    url, home = server
    alice = Volunteer(url)
    result = alice.honest_result(alice.claim())
    assert alice.post("/v1/result", result).status_code in (200, 202)
    before = stored(home)
    response = alice.post("/v1/result", result)
    assert response.status_code == 409 and "lease" in response.json()["detail"]
    assert stored(home) == before


def test_result_for_a_unit_never_leased_is_refused(server) -> None:
    url, home = server
    mallory = Volunteer(url)
    alice = Volunteer(url)
    offer = alice.claim()
    result = alice.honest_result(offer)
    before = stored(home)
    response = mallory.post("/v1/result", {**result, "lease_id": "0" * 32})
    assert response.status_code == 409
    assert stored(home) == before


def test_someone_elses_token_or_lease_is_refused(server) -> None:
    url, home = server
    alice, mallory = Volunteer(url), Volunteer(url)
    offer = alice.claim()
    result = alice.honest_result(offer)
    before = stored(home)
    assert mallory.post("/v1/result", result).status_code == 409  # Alice's lease under Mallory's token
    beat = {"unit_id": offer["unit_id"], "lease_id": offer["lease_id"]}
    assert mallory.post("/v1/heartbeat", beat).status_code == 409
    assert mallory.post("/v1/result", result, token="f" * 64).status_code == 401  # a guessed token
    assert mallory.http.post("/v1/claim", content="{}").status_code == 401  # no token at all
    assert stored(home) == before
    assert alice.post("/v1/result", result).status_code in (200, 202)  # Alice's own result still goes in


def test_request_flood_is_throttled(server) -> None:
    url, home = server
    mallory = Volunteer(url)
    codes = [mallory.post("/v1/heartbeat", {"unit_id": "vol-hostile/000000", "lease_id": "0" * 32}).status_code
             for _ in range(80)]
    assert 429 in codes
    throttled = mallory.post("/v1/heartbeat", {"unit_id": "vol-hostile/000000", "lease_id": "0" * 32})
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) >= 1
    assert set(codes) <= {409, 429}


def test_false_probable_prime_claim_is_rejected_by_its_proof(server) -> None:
    url, home = server
    mallory = Volunteer(url)
    result = mallory.honest_result(mallory.claim())
    row = composite_above_2_64(result)
    row.update(result="probable-prime", method="fermat-3", res64="0000000000000001")
    before = stored(home)
    response = mallory.post("/v1/result", result)
    assert response.status_code == 422 and "residue rejected" in response.json()["reason"]
    assert invalid_validations(home, mallory.worker_id) == 1
    assert stored(home) == before
