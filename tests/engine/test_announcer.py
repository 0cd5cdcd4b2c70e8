"""The announcer on known primes taken through the engine's own stages (test, certificate, verified status):
the announcement and the Top 5000 draft carry the right digits (counted by Python and by PARI), form, proof
method and OEIS sequence; probable primes are never announced as proven; unverified or listed primes get
their extra verification queued."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from oracles import pari

from darkreach_pipeline import blocks
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.strategy.announcer import announcements, verification_queue
from darkreach_pipeline.strategy.snapshot import SNAPSHOT_FILE, load_snapshot
from darkreach_pipeline.verification.verified_primes import PENDING, PRP_DOUBLE_CHECKED, verified_primes_frame


def certificates_of(raw: dict) -> pd.DataFrame:
    """One known prime through test_frame -> certificate_frame."""
    spec = parse_campaign({**raw, "block_size": 1, "sieve_depth": 1000})
    sieved = pd.DataFrame({spec.axis: [spec.axis_min], "status": [blocks.SURVIVOR]})
    return blocks.certificate_frame(spec, blocks.test_frame(spec, 0, sieved))


def verified_row(raw: dict) -> dict:
    """... and verified_primes_frame: its verified_primes row."""
    frame = verified_primes_frame(certificates_of(raw), pd.DataFrame())
    assert len(frame) == 1
    return frame.to_dict("records")[0]


@pytest.fixture
def snapshot(tmp_path):
    """The shipped snapshot with the Top 5000 and factorial top-20 cut-offs lowered, so that small known primes
    qualify (the real ones would need numbers too large for a test)."""
    raw = json.loads(SNAPSHOT_FILE.read_text())
    raw["forms"]["factorial"]["top20_min_digits"] = 800
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps({**raw, "top5000_min_digits": 600}))
    return load_snapshot(path)


def digits_by_two(N: int) -> int:
    by_python, by_pari = len(str(N)), len(pari.digits(N))
    assert by_python == by_pari
    return by_python


def test_proth_prime_announcement_and_draft(snapshot):
    row = verified_row({"name": "ann-proth", "form": "kbn", "k": 3, "b": 2, "c": 1, "n_min": 2208, "n_max": 2208})
    (a,) = announcements([row], snapshot)
    digits = digits_by_two(3 * 2**2208 + 1)
    assert a.digits == digits == 666
    assert a.status == "proven-verified" and a.method == "proth" and a.top5000
    assert "A002253 (n = 2208" in a.oeis
    assert f"- digits: {digits:,}" in a.text and "Proth's theorem" in a.text
    assert a.t5k_draft is not None
    lines = dict(line.split(": ", 1) for line in a.t5k_draft.splitlines() if not line.startswith("#"))
    assert lines["prime"] == "3*2^2208+1" and lines["digits"] == str(digits) and lines["comment"] == ""
    assert lines["proof"].startswith("Proth's theorem")


def test_factorial_prime_gets_its_list_label_and_top20(snapshot):
    row = verified_row({"name": "ann-fact", "form": "factorial", "c": 1, "n_min": 399, "n_max": 399})
    (a,) = announcements([row], snapshot)
    digits = digits_by_two(int(pari("399!+1")))
    assert a.digits == digits > 800
    assert a.method == "pocklington" and a.top20
    assert "A002981 (n = 399" in a.oeis and "Factorial top 20" in a.text
    assert "comment: Factorial" in a.t5k_draft and f"digits: {digits}\n" in a.t5k_draft


def test_the_shipped_snapshot_draws_no_draft_below_its_cutoff():
    row = verified_row({"name": "ann-small", "form": "kbn", "k": 3, "b": 2, "c": 1, "n_min": 2208, "n_max": 2208})
    (a,) = announcements([row], load_snapshot())
    assert not a.top5000 and a.t5k_draft is None and "below" in a.text


def test_probable_primes_are_never_announced_as_proven(snapshot):
    row = verified_row({"name": "ann-proth", "form": "kbn", "k": 3, "b": 2, "c": 1, "n_min": 2208, "n_max": 2208})
    prp = {**row, "status": PRP_DOUBLE_CHECKED, "method": "prp-bpsw"}
    (a,) = announcements([prp], snapshot)
    assert a.t5k_draft is None and "Probable prime" in a.text and "proven" not in a.text.lower()
    assert announcements([{**row, "status": PENDING}], snapshot) == []


def test_verification_queue(snapshot):
    row = verified_row({"name": "ann-proth", "form": "kbn", "k": 3, "b": 2, "c": 1, "n_min": 2208, "n_max": 2208})
    small = {**row, "campaign": "other", "digits": 50}
    pending = {**small, "campaign": "third", "status": PENDING}
    assert verification_queue([row, small, pending], set(), snapshot) == ["ann-proth/000000", "third/000000"]
    assert verification_queue([row], {"ann-proth/000000"}, snapshot) == []


def test_a_damaged_snapshot_is_refused(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"source": "x", "date": "2024", "forms": {}, "oeis": []}))
    with pytest.raises(ValueError, match="top5000_min_digits"):
        load_snapshot(path)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="cannot be read"):
        load_snapshot(path)


def test_campaigns_of_other_axes_are_announced_together(snapshot):
    """verified_primes holds every campaign: a p#+1 prime (axis p, no n column) beside a k*2^n+1 one."""
    certs = pd.concat([
        certificates_of({"name": "ann-proth", "form": "kbn", "k": 3, "b": 2, "c": 1, "n_min": 2208, "n_max": 2208}),
        certificates_of({"name": "ann-prim", "form": "primorial", "c": 1, "p_min": 379, "p_max": 379}),
    ], ignore_index=True)
    made = announcements(verified_primes_frame(certs, pd.DataFrame()).to_dict("records"), snapshot)
    assert [a.expression for a in made] == ["3*2^2208+1", "379#+1"]
    assert "A005234 (p = 379" in made[1].oeis and made[1].method == "pocklington"
