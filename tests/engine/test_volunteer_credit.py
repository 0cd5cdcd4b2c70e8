"""Volunteer credit, leaderboards, badges and the public stats page (issue #14), from hand-computed cases."""

from __future__ import annotations

import json
import math
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from darkreach_pipeline.volunteer.credit import (
    AcceptedUnit,
    CreditError,
    credit_for,
    difficulty_weight,
    summarise,
)
from darkreach_pipeline.volunteer.stats_page import render_html, render_json

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def unit(worker: str, *, name: str | None = None, account: str | None = None, form: str = "kbn",
         stage: str = "prp", bits: int = 2000, hours: float = 1.0, primes: int = 0, cpu_seconds: float = 3600.0,
         at: datetime = T0) -> AcceptedUnit:  # fmt: skip
    return AcceptedUnit(
        unit_id=f"u-{uuid.uuid4()}",
        worker_id=worker,
        worker_name=name if name is not None else f"alias-{worker[:4]}",
        account=account,
        form=form,
        stage=stage,
        bits=bits if stage == "prp" else 0,
        candidates=10,
        cpu_seconds=cpu_seconds,
        estimated_core_hours=hours,
        primes=primes,
        accepted_at=at,
    )


W1, W2, W3 = (str(uuid.uuid4()) for _ in range(3))


def test_credit_is_the_estimate_times_the_size_weight_and_ignores_reported_time() -> None:
    assert difficulty_weight(0) == 1.0 and difficulty_weight(4096) == 1.0
    assert difficulty_weight(8192) == 1.25 and difficulty_weight(16384) == 1.5 and difficulty_weight(65536) == 2.0
    assert credit_for(unit(W1, bits=16384, hours=2.0)) == 3.0
    assert credit_for(unit(W1, bits=8192, hours=0.5)) == 0.625
    assert credit_for(unit(W1, stage="sieve", hours=3.0)) == 3.0
    # the client's own time changes nothing: neither an inflated nor a fast machine's report
    assert credit_for(unit(W1, bits=16384, hours=2.0, cpu_seconds=1e9)) == 3.0
    assert credit_for(unit(W1, bits=16384, hours=2.0, cpu_seconds=1.0)) == 3.0
    # a 10,000-digit test earns more per core-hour than a 1,000-digit one (and than a sieve range)
    ten_k, one_k = math.ceil(10_000 * math.log2(10)), math.ceil(1_000 * math.log2(10))
    assert credit_for(unit(W1, bits=ten_k)) > credit_for(unit(W1, bits=one_k)) == credit_for(unit(W1, stage="sieve"))


@pytest.mark.parametrize(
    ("field", "changes"),
    [("stage", {"stage": "ecm"}), ("bits", {"bits": 0}), ("estimated_core_hours", {"estimated_core_hours": math.nan}),
     ("estimated_core_hours", {"estimated_core_hours": -1.0}), ("primes", {"primes": -1})],
)  # fmt: skip
def test_a_unit_that_cannot_be_credited_is_refused_naming_the_field(field: str, changes: dict) -> None:
    bad = AcceptedUnit(**{**unit(W1).__dict__, **changes})
    with pytest.raises(CreditError, match=f"field '{field}'") as refused:
        summarise([unit(W2), bad])
    assert refused.value.field == field and bad.unit_id in str(refused.value)


def test_leaderboards_in_total_and_by_form_sorted_with_stable_ties() -> None:
    units = [
        unit(W1, name="ann", form="kbn", hours=2.0, at=T0),
        unit(W2, name="bob", form="kbn", hours=3.0, at=T0 + timedelta(hours=1)),
        unit(W3, name="cid", form="factorial", hours=2.0, at=T0 + timedelta(hours=2)),
        unit(W1, name="ann", form="factorial", hours=1.0, primes=1, at=T0 + timedelta(hours=3)),
    ]
    stats = summarise(reversed(units))  # input order does not matter: acceptance time does
    total = [(r.rank, r.name, r.credit, r.units, r.primes) for r in stats.total.rows]
    assert total == [(1, "ann", 3.0, 2, 1), (1, "bob", 3.0, 1, 0), (3, "cid", 2.0, 1, 0)]  # ann returned work first
    boards = {b.form: [(r.rank, r.name, r.credit) for r in b.rows] for b in stats.by_form}
    assert boards == {"factorial": [(1, "cid", 2.0), (2, "ann", 1.0)], "kbn": [(1, "bob", 3.0), (2, "ann", 2.0)]}
    assert (stats.units, stats.primes, stats.credit) == (4, 1, 8.0)
    assert [w.name for w in stats.workers] == ["ann", "bob", "cid"]
    assert dict(stats.workers[0].totals.credit_by_form) == {"factorial": 1.0, "kbn": 2.0}


def test_accounts_link_machines_and_the_leaderboard_ranks_the_account() -> None:
    units = [
        unit(W1, name="laptop", account="team-x", hours=1.0, at=T0),
        unit(W2, name="desktop", hours=2.0, at=T0 + timedelta(hours=1)),  # linked later: its history comes along
        unit(W2, name="desktop", account="team-x", hours=2.0, primes=1, at=T0 + timedelta(hours=2)),
        unit(W3, name="solo", hours=4.5, at=T0 + timedelta(hours=3)),
    ]
    stats = summarise(units)
    (account,) = stats.accounts
    assert (account.name, account.machines) == ("team-x", ("laptop", "desktop"))
    assert (account.totals.credit, account.totals.units, account.totals.primes) == (5.0, 3, 1)
    assert [(r.name, r.kind, r.credit) for r in stats.total.rows] == [
        ("team-x", "account", 5.0),
        ("solo", "worker", 4.5),
    ]
    assert {w.name: w.account for w in stats.workers} == {"laptop": "team-x", "desktop": "team-x", "solo": None}


def test_two_unlinked_machines_with_the_same_alias_stay_two_rows() -> None:
    stats = summarise([unit(W1, name="same", hours=1.0), unit(W2, name="same", hours=1.0)])
    assert [(r.name, r.credit) for r in stats.total.rows] == [("same", 1.0), ("same", 1.0)]


def test_badges_at_their_thresholds_with_the_date_earned() -> None:
    day = timedelta(days=1)
    ninety_nine = [unit(W1, stage="sieve", hours=10.0, at=T0 + i * day) for i in range(99)]
    stats = summarise(ninety_nine)
    assert [b.key for b in stats.workers[0].totals.badges] == []  # 99 blocks, 990 core-hours, no prime
    hundredth = unit(W1, stage="sieve", hours=10.0, primes=1, at=T0 + 99 * day)
    badges = summarise([*ninety_nine, hundredth]).workers[0].totals.badges
    expected_day = (T0 + 99 * day).date()
    assert [(b.key, b.earned_on) for b in badges] == [
        ("first-prime", expected_day), ("100-blocks", expected_day), ("1000-core-hours", expected_day),
    ]  # fmt: skip
    early_prime = summarise([unit(W1, primes=1, at=T0), *ninety_nine[1:]]).workers[0].totals.badges
    assert [(b.key, b.earned_on) for b in early_prime] == [("first-prime", T0.date())]


def test_the_public_page_escapes_names_and_never_shows_a_worker_uuid() -> None:
    hostile = "<script>alert('x')</script>"
    units = [
        unit(W1, name=hostile, account="<b>acct</b>", primes=1),
        unit(W2, name="", form="<i>form</i>"),  # no alias: a short form of the UUID
        unit(W3, name=f"me {W3}", hours=2.0),  # an alias holding the UUID is replaced too
    ]
    stats = summarise(units)
    page = render_html(stats)
    data = render_json(stats)
    text = json.dumps(data)  # JSON-serialisable as it is
    assert json.loads(text) == data
    for worker_id in (W1, W2, W3):
        assert worker_id not in page and worker_id not in text and worker_id not in repr(stats)
    assert f"volunteer-{W2[:8]}" in page and f"volunteer-{W3[:8]}" in page
    assert "<script>" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "<b>" not in page and "<i>" not in page and "&lt;i&gt;form&lt;/i&gt;" in page
    assert "http://" not in page and "https://" not in page and "src=" not in page  # self-contained
    assert data["leaderboard"][0] == {"rank": 1, "name": f"volunteer-{W3[:8]}", "kind": "worker", "credit": 2.0,
                                      "units": 1, "primes": 0}  # fmt: skip
    assert data["accounts"][0]["badges"] == [{"key": "first-prime", "title": "First prime", "earned_on": "2026-11-01"}]


def test_no_work_yet_renders_an_empty_page() -> None:
    stats = summarise([])
    assert render_json(stats)["leaderboard"] == [] and render_json(stats)["as_of"] is None
    assert "no work yet" in render_html(stats)


def test_a_unit_recorded_twice_counts_once_and_naive_times_sort_with_aware_ones() -> None:
    first = unit(W1, hours=2.0, at=T0)
    naive_later = unit(W1, hours=1.0, at=(T0 + timedelta(hours=1)).replace(tzinfo=None))
    quorum_partner = AcceptedUnit(**{**first.__dict__, "worker_id": W2, "worker_name": "partner"})
    stats = summarise([naive_later, first, first, quorum_partner])
    assert [(w.name, w.totals.units, w.totals.credit) for w in stats.workers] == [
        (f"alias-{W1[:4]}", 2, 3.0), ("partner", 1, 2.0)]  # fmt: skip
    assert stats.units == 3 and stats.as_of == naive_later.accepted_at
