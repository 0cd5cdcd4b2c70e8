"""The volunteer HTTP protocol: every request and reply as a strict pydantic model (JSON only, never pickled).

Strict: an unknown field, a wrong type or an out-of-range size is refused (422) before any handler runs, so a
hostile client can only ever reach the server's logic with well-formed, bounded data. PROTOCOL_VERSION goes up
when a change would make an older client compute or send something the server cannot accept; the server
states the oldest client it still accepts and the client refuses to work for a newer one (with the upgrade
command).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

PROTOCOL_VERSION = 1
MIN_CLIENT_PROTOCOL = 1  # the oldest client the server works with
UPGRADE_COMMAND = 'pip install --upgrade "darkreach-pipeline"'
PROTOCOL_HEADER = "X-Darkreach-Protocol"

MAX_TESTS = 200_000  # test rows in one result (a block is at most 1,000,000 candidates, most sieved out)
MAX_STRUCK = 1_000_000  # sieve strikes in one result (one per candidate at most)
MAX_PROOF_CHARS = 90 << 20  # base64 of the verifier's 64 MiB limit

Alias = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")]
FormName = Annotated[str, Field(pattern=r"^[a-z_]{1,32}$")]
LeaseId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
UnitId = Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,63}/[0-9]{6}$")]
Short = Annotated[str, Field(max_length=200)]
Count = Annotated[int, Field(ge=0, le=1 << 62)]
Seconds = Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)]


@dataclass(frozen=True)
class Limits:
    """Request limits; the defaults suit a public server (a test or the load benchmark sets its own)."""

    max_result_bytes: int = 96 << 20  # a result carries proofs: up to the verifier's 64 MiB one, base64
    max_request_bytes: int = 64 << 10  # every other request
    per_ip_rate: float = 20.0  # requests per second, sustained ...
    per_ip_burst: float = 60.0  # ... and in a burst
    per_worker_rate: float = 5.0
    per_worker_burst: float = 20.0
    claim_retry_seconds: float = 30.0  # what a client is told to wait when there is no work


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Hello(Strict):
    """GET /v1/hello: what the server speaks (the client checks this before anything else)."""

    protocol: int
    min_client_protocol: int
    upgrade: str


class RegisterRequest(Strict):
    protocol: Annotated[int, Field(ge=1, le=1000)]
    name: Alias | None = None  # public alias; default: the first 8 characters of the worker id
    account: Alias | None = None  # links several machines for credit


class RegisterReply(Strict):
    worker_id: str
    token: str  # shown once; the server keeps only its SHA-256


class ClaimRequest(Strict):
    forms: Annotated[list[FormName], Field(max_length=32)] = []  # empty: any form
    max_ram_bytes: Count = 0  # 0: no limit


class UnitOffer(Strict):
    unit_id: str
    lease_id: str
    campaign: dict[str, int | str]  # the campaign's definition (CampaignSpec.definition())
    block: int
    lease_seconds: float
    heartbeat_seconds: float
    estimated_seconds: float


class ClaimReply(Strict):
    unit: UnitOffer | None
    retry_after: float  # seconds to wait before asking again when no unit was given


class Heartbeat(Strict):
    unit_id: UnitId
    lease_id: LeaseId
    done: Count = 0
    total: Count = 0


class HeartbeatReply(Strict):
    lease_seconds: float


class TestRow(Strict):
    """One candidate's test as the client ran it. Everything the server can derive from the campaign
    (expression, digits, parameters) it derives itself: those fields are not sent."""

    value: Annotated[int, Field(ge=0, le=(1 << 63) - 1)]
    result: Literal["prime", "probable-prime", "composite"]
    method: Annotated[str, Field(max_length=64)]
    res64: Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")]
    residue_type: Annotated[str, Field(max_length=32)]
    certificate: Annotated[str, Field(max_length=1 << 20)]
    seconds: Seconds
    gerbicz_checks: Count = 0
    rollbacks: Count = 0
    arithmetic: Annotated[str, Field(max_length=32)] = ""
    max_roundoff: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.0
    software: Short = ""
    proof: Annotated[str, Field(max_length=MAX_PROOF_CHARS)] = ""
    proof_note: Annotated[str, Field(max_length=500)] = ""


class ResultSubmission(Strict):
    unit_id: UnitId
    lease_id: LeaseId
    struck: Annotated[list[tuple[Count, Count]], Field(max_length=MAX_STRUCK)]  # (value, factor) the sieve removed
    tests: Annotated[list[TestRow], Field(max_length=MAX_TESTS)]
    cpu_seconds: Seconds


class ResultVerdict(Strict):
    status: Literal["accepted", "pending", "rejected"]
    reason: str
