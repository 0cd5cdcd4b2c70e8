"""Volunteer credit: core-hours weighted by difficulty, per worker and per account.

The record below is the contract between the work server's store (which produces one per accepted
unit) and the credit, leaderboard and badge summaries (which only read them). Everything here is a pure
function of the accepted units, so the summaries can be recomputed at any time and always agree.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

STAGES = ("sieve", "prp")
# Tests up to this size earn one credit per estimated core-hour (a 1,000-digit number has 3,322 bits).
BASE_BITS = 4096
# Each doubling of the size above BASE_BITS adds this much to the credit per core-hour.
WEIGHT_PER_DOUBLING = 0.25


class CreditError(ValueError):
    """An accepted unit the credit cannot be computed for; the message names the unit, the field and the fix."""

    def __init__(self, unit_id: str, field_name: str, message: str):
        self.field = field_name
        super().__init__(f"accepted unit {unit_id!r} field '{field_name}': {message}")


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

    @property
    def public_name(self) -> str:
        """The name shown publicly: the alias, or a short form of the UUID when the alias is empty or holds the UUID."""
        name = self.worker_name.strip()
        if not name or (self.worker_id and self.worker_id in name):
            return f"volunteer-{self.worker_id[:8]}"
        return name

    @property
    def account_name(self) -> str | None:
        """The linking account, None when there is none (an empty name links nothing)."""
        return (self.account.strip() or None) if self.account else None


def difficulty_weight(bits: int) -> float:
    """Credit per core-hour for a test of this size: 1 up to BASE_BITS, then +WEIGHT_PER_DOUBLING per doubling.

    Bigger tests earn more per hour because they tie a machine up longer for each result, lose more to a
    crash, and are the ones that can enter the lists; a sieve unit (bits 0) earns the base rate.
    """
    if bits <= BASE_BITS:
        return 1.0
    return 1.0 + WEIGHT_PER_DOUBLING * math.log2(bits / BASE_BITS)


def _validate(unit: AcceptedUnit) -> None:
    if unit.stage not in STAGES:
        raise CreditError(unit.unit_id, "stage", f"is {unit.stage!r}; use one of {', '.join(STAGES)}")
    if unit.bits < 0 or (unit.stage == "prp" and unit.bits == 0):
        raise CreditError(
            unit.unit_id, "bits", f"is {unit.bits}; give the largest candidate's size (> 0 for a prp unit)"
        )
    hours = unit.estimated_core_hours
    if not math.isfinite(hours) or hours < 0:
        raise CreditError(
            unit.unit_id, "estimated_core_hours", f"is {hours}; give the cost model's estimate (finite, >= 0)"
        )
    for name in ("candidates", "primes"):
        if getattr(unit, name) < 0:
            raise CreditError(unit.unit_id, name, f"is {getattr(unit, name)}; it counts, so it is >= 0")


def credit_for(unit: AcceptedUnit) -> float:
    """Credit for one accepted unit: the server's estimated core-hours times difficulty_weight(bits).

    Fixed credit, as PrimeGrid does: the client-reported cpu_seconds is untrusted and not used, so a
    client cannot inflate its credit and a fast machine earns as much per unit as a slow one. Example:
    a prp unit of 16,384-bit numbers estimated at 2 core-hours earns 2 x 1.5 = 3.0.
    """
    _validate(unit)
    return unit.estimated_core_hours * difficulty_weight(unit.bits)


@dataclass(frozen=True)
class BadgeRule:
    """A badge earned when a running count first reaches its threshold."""

    key: str
    title: str
    measure: Literal["primes", "units", "credit"]
    threshold: float


BADGE_RULES = (
    BadgeRule("first-prime", "First prime", "primes", 1),
    BadgeRule("10-primes", "10 primes", "primes", 10),
    BadgeRule("100-blocks", "100 blocks", "units", 100),
    BadgeRule("1000-blocks", "1,000 blocks", "units", 1000),
    BadgeRule("1000-core-hours", "1,000 core-hours", "credit", 1000),
    BadgeRule("10000-core-hours", "10,000 core-hours", "credit", 10000),
)


@dataclass(frozen=True)
class Badge:
    key: str
    title: str
    earned_on: date  # the UTC date of the accepted unit that crossed the threshold


@dataclass(frozen=True)
class Totals:
    """What a set of accepted units adds up to (a worker's, an account's, or a participant's in one form)."""

    units: int
    sieve_units: int
    prp_units: int
    candidates: int
    primes: int
    credit: float
    core_hours: float  # the server's estimates, unweighted
    credit_by_form: tuple[tuple[str, float], ...]  # (form, credit), by form name
    first_accepted: date
    last_accepted: date
    badges: tuple[Badge, ...]  # in the order earned


@dataclass(frozen=True)
class WorkerStats:
    """One machine, by its public name (the UUID is never kept here)."""

    name: str
    account: str | None
    totals: Totals


@dataclass(frozen=True)
class AccountStats:
    """Several machines linked by one account name; a machine counts under the account its latest unit names."""

    name: str
    machines: tuple[str, ...]  # the public names of its workers, in the order they first returned work
    totals: Totals


@dataclass(frozen=True)
class LeaderboardRow:
    rank: int  # competition ranking: equal credit, equal rank (1, 1, 3)
    name: str
    kind: Literal["account", "worker"]  # an account, or a worker linked to none
    credit: float
    units: int
    primes: int


@dataclass(frozen=True)
class Leaderboard:
    form: str | None  # None: all forms together
    rows: tuple[LeaderboardRow, ...]


@dataclass(frozen=True)
class VolunteerStats:
    """Everything the public stats page shows; holds no worker UUID."""

    workers: tuple[WorkerStats, ...]  # by credit, highest first
    accounts: tuple[AccountStats, ...]  # by credit, highest first
    total: Leaderboard
    by_form: tuple[Leaderboard, ...]  # by form name
    units: int
    primes: int
    credit: float
    as_of: datetime | None  # the last accepted unit (None when there is none)


def _utc(moment: datetime) -> datetime:
    """The moment in UTC; a naive time is taken as UTC already (so naive and aware times sort together)."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _utc_date(moment: datetime) -> date:
    return _utc(moment).date()


def _badges(units: Sequence[AcceptedUnit], credits: Sequence[float]) -> tuple[Badge, ...]:
    running = {"primes": 0.0, "units": 0.0, "credit": 0.0}
    earned: list[Badge] = []
    pending = list(BADGE_RULES)
    for unit, credit in zip(units, credits, strict=True):
        running["primes"] += unit.primes
        running["units"] += 1
        running["credit"] += credit
        for rule in [r for r in pending if running[r.measure] >= r.threshold]:
            earned.append(Badge(rule.key, rule.title, _utc_date(unit.accepted_at)))
            pending.remove(rule)
    return tuple(earned)


def _totals(units: Sequence[AcceptedUnit]) -> Totals:
    """Add up units already in acceptance order (badges depend on the order)."""
    credits = [credit_for(u) for u in units]
    forms = sorted({u.form for u in units})
    by_form = tuple((f, math.fsum(c for u, c in zip(units, credits, strict=True) if u.form == f)) for f in forms)
    return Totals(
        units=len(units),
        sieve_units=sum(u.stage == "sieve" for u in units),
        prp_units=sum(u.stage == "prp" for u in units),
        candidates=sum(u.candidates for u in units),
        primes=sum(u.primes for u in units),
        credit=math.fsum(credits),
        core_hours=math.fsum(u.estimated_core_hours for u in units),
        credit_by_form=by_form,
        first_accepted=_utc_date(units[0].accepted_at),
        last_accepted=_utc_date(units[-1].accepted_at),
        badges=_badges(units, credits),
    )


Participants = dict[tuple[str, str], tuple[str, list[AcceptedUnit]]]  # (kind, account or UUID) -> (name, units)


def _leaderboard(form: str | None, participants: Participants) -> Leaderboard:
    """Rank participants by credit; ties keep the order in which they first returned work."""
    scored = []
    for (kind, _), (name, units) in participants.items():  # dicts keep first-appearance order
        mine = [u for u in units if form is None or u.form == form]
        if mine:
            scored.append((math.fsum(credit_for(u) for u in mine), kind, name, mine))
    scored.sort(key=lambda entry: -entry[0])
    rows: list[LeaderboardRow] = []
    for position, (credit, kind, name, mine) in enumerate(scored, start=1):
        rank = rows[-1].rank if rows and rows[-1].credit == credit else position
        rows.append(LeaderboardRow(rank, name, kind, credit, len(mine), sum(u.primes for u in mine)))  # type: ignore[arg-type]
    return Leaderboard(form, tuple(rows))


def _once(units: Iterable[AcceptedUnit]) -> list[AcceptedUnit]:
    """Each (unit, worker) once, its first record kept, in input order."""
    first: dict[tuple[str, str], AcceptedUnit] = {}
    for unit in units:
        first.setdefault((unit.unit_id, unit.worker_id), unit)
    return list(first.values())


def summarise(units: Iterable[AcceptedUnit]) -> VolunteerStats:
    """Credit, leaderboards (in total and by form) and badges for every worker and account.

    A worker is known by its UUID internally and shown by the public name and account of its latest
    unit, so linking a machine to an account (or renaming it) carries its whole history along. A unit
    recorded twice for the same worker counts once (a quorum's two workers each earn it).
    Raises CreditError naming the unit and field for a unit that cannot be credited.
    """
    ordered = sorted(_once(units), key=lambda u: _utc(u.accepted_at))  # stable: equal times keep the input order
    by_worker: dict[str, list[AcceptedUnit]] = {}
    for unit in ordered:
        by_worker.setdefault(unit.worker_id, []).append(unit)
    latest = {worker_id: mine[-1] for worker_id, mine in by_worker.items()}

    workers = [
        WorkerStats(latest[w].public_name, latest[w].account_name, _totals(mine)) for w, mine in by_worker.items()
    ]
    by_account: dict[str, list[AcceptedUnit]] = {}
    machines: dict[str, dict[str, str]] = {}  # account -> worker UUID -> public name, in order of first work
    participants: Participants = {}
    for unit in ordered:
        owner = latest[unit.worker_id]
        account = owner.account_name
        if account is not None:
            by_account.setdefault(account, []).append(unit)
            machines.setdefault(account, {}).setdefault(unit.worker_id, owner.public_name)
        key = ("account", account) if account is not None else ("worker", unit.worker_id)
        participants.setdefault(key, (account or owner.public_name, []))[1].append(unit)
    accounts = [AccountStats(name, tuple(machines[name].values()), _totals(mine)) for name, mine in by_account.items()]

    return VolunteerStats(
        workers=tuple(sorted(workers, key=lambda w: -w.totals.credit)),
        accounts=tuple(sorted(accounts, key=lambda a: -a.totals.credit)),
        total=_leaderboard(None, participants),
        by_form=tuple(_leaderboard(form, participants) for form in sorted({u.form for u in ordered})),
        units=len(ordered),
        primes=sum(u.primes for u in ordered),
        credit=math.fsum(w.totals.credit for w in workers),
        as_of=ordered[-1].accepted_at if ordered else None,
    )
