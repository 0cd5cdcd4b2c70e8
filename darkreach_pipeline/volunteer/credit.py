"""Volunteer credit: core-hours weighted by difficulty, per worker and per account.

The record below is the contract between the work server's store (which produces one per accepted
unit) and the credit, leaderboard and badge summaries (which only read them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class AcceptedUnit:
    """One unit of work a volunteer returned and the server accepted (by proof, quorum or double check)."""

    unit_id: str
    worker_id: str  # the client's UUID; never shown publicly
    worker_name: str  # the public alias the volunteer chose (or a short form of the UUID)
    account: str | None  # optional account name linking several machines
    form: str  # the campaign's form, e.g. "kbn"
    stage: str  # "sieve" or "prp"
    bits: int  # size in bits of the largest candidate in the unit (0 for a sieve unit)
    candidates: int  # candidates tested (prp) or range length sieved (sieve)
    cpu_seconds: float  # CPU time the client reported (the server caps it)
    estimated_core_hours: float  # the server's own estimate of the unit's cost, from the cost model
    primes: int  # primes and PRPs found in the unit
    accepted_at: datetime
