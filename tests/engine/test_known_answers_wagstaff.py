"""Known answers for WagstaffForm ((2^p+1)/3): the pipeline's full result set against two oracles and OEIS.

The expected answers are never taken from the engine: every N is decided by PARI/GP (isprime, a proof,
up to 512 bits; its own BPSW, ispseudoprime, above) and by gmpy2.is_prime, which must agree. The
engine runs exactly as the pipeline runs it: parse_campaign, then candidate_frame, sieve_frame,
test_frame and certificate_frame for every block, with the block audits of checks.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import gmpy2
import pytest
from gmpy2 import mpz
from oracles import FORM_CASES, BlockRun, case_run, fermat3_res64, pari
from oracles import is_prime_two_oracles as _two_oracles

from darkreach_pipeline.blocks import EXCLUDED, FACTOR, SURVIVOR, certificate_frame
from darkreach_pipeline.campaign import load_campaign, parse_campaign
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.forms.wagstaff import MAX_P, WagstaffForm
from darkreach_pipeline.primality import fermat as fermat_module
from darkreach_pipeline.primality.gerbicz import ChainReport, Fault
from darkreach_pipeline.primality.options import TestOptions
from darkreach_pipeline.primality.outcome import COMPOSITE, PRIME, PROBABLE_PRIME
from darkreach_pipeline.sieve.primes import prime_chunks, small_primes

REPO = Path(__file__).resolve().parents[2]
CASE = FORM_CASES["wagstaff"]  # p = 0..800 (the table test checks its primes against the oracles and A000978)
CAMPAIGN = CASE.campaign
DEPTH = CAMPAIGN["sieve_depth"]
wagstaff = CASE.number


def is_prime_two_oracles(N: int) -> bool:
    return _two_oracles(N, CASE.prove_up_to_bits)


def smallest_factor_by_trial_division(N: int, depth: int) -> int:
    """Smallest prime q <= depth with q | N and q != N, else 0."""
    return next((q for q in map(int, small_primes(depth)) if N % q == 0 and N != q), 0)


@pytest.fixture(scope="module")
def pipeline() -> BlockRun:
    """Every block of the campaign through the four stages, each block audited as the asset checks do."""
    return case_run("wagstaff")


def test_every_result_row_carries_the_residue_method_and_certificate(pipeline: BlockRun) -> None:
    results = pipeline.results
    for row in results.to_dict("records"):
        N = wagstaff(int(row["p"]))
        assert row["res64"] == fermat3_res64(N), row  # CPython's pow, not gmpy2
        assert row["residue_type"] == "fermat-3"
        assert row["expression"] == f"(2^{row['p']}+1)/3"
        if row["result"] == PRIME:
            assert N < 2**64 and row["method"] == "bpsw-below-2^64", row
        if row["result"] == PROBABLE_PRIME:  # no proof is known for this form: never "prime" above 2^64
            assert N >= 2**64 and row["method"] == "fermat-3+bpsw", row
            assert json.loads(row["certificate"]) == {"method": "prp", "tests": ["fermat-3", "strong-bpsw"]}
    assert {"p", "campaign", "block", "form", "expression", "digits", "result"} <= set(results.columns)


def test_exclusions_are_exactly_the_p_that_are_not_odd_primes(pipeline: BlockRun) -> None:
    sieved = pipeline.sieved
    for row in sieved.to_dict("records"):
        p = int(row["p"])
        odd_prime = p >= 3 and bool(pari.isprime(p))
        assert (row["status"] == EXCLUDED) == (not odd_prime), row
        if not odd_prime:
            assert row["reason"] == "p is not an odd prime"
            if p % 2 == 1:  # p = 1 or an odd composite: N = 1 or has the factor (2^a+1)/3
                assert not is_prime_two_oracles(wagstaff(p))


def test_sieve_factors_divide_and_never_strike_a_prime(pipeline: BlockRun) -> None:
    sieved = pipeline.sieved
    struck = sieved[sieved["status"] == FACTOR]
    assert len(struck) > 40
    for p, q in zip(struck["p"].astype(int), struck["factor"].astype(int), strict=True):
        N = wagstaff(p)
        assert gmpy2.is_prime(q) and q <= DEPTH and N % q == 0 and q != N, (p, q)
        assert (q - 1) % (2 * p) == 0  # the order argument: q = 1 mod 2p
        assert not is_prime_two_oracles(N)
    survivors = sieved.loc[sieved["status"] == SURVIVOR, "p"].astype(int)
    for p in survivors:  # a survivor has no prime factor up to the depth (other than N itself)
        assert smallest_factor_by_trial_division(wagstaff(p), DEPTH) == 0, p
    assert {5, 7, 11, 13, 17} <= set(survivors), "a tiny Wagstaff prime was struck by itself"


def test_every_prime_certificate_verifies_and_corruptions_are_rejected(pipeline: BlockRun) -> None:
    form: WagstaffForm = pipeline.form
    certs = pipeline.certs
    assert set(certs["status"]) == {"proven", "prp"}
    assert certs["verified"].all()
    for row in certs.to_dict("records"):
        p = int(row["p"])
        certificate = json.loads(row["certificate"])
        if row["status"] == "proven":
            assert form.verify(p, certificate)[0]
        else:  # a probable-prime certificate is no proof
            assert not form.verify(p, certificate)[0]
    good = {"method": "bpsw-below-2^64"}
    assert form.verify(61, good)[0]
    assert not form.verify(29, good)[0]  # (2^29+1)/3 = 59 * 3033169
    assert not form.verify(79, good)[0]  # a prime, but above 2^64: no deterministic claim
    assert not form.verify(61, {"method": "proth", "witness": 3})[0]
    assert not form.verify(61, {"method": "prp", "tests": ["fermat-3", "strong-bpsw"]})[0]
    assert not form.verify(61, {})[0]

    results = pipeline.results
    tampered = results[results["p"] == 61].copy()
    tampered["certificate"] = json.dumps({"method": "bpsw-below-2^64-forged"})
    row = certificate_frame(pipeline.spec, tampered).iloc[0]
    assert row["status"] == "rejected" and not row["verified"], row  # never listed: the block is re-tested


def test_base_2_is_useless_every_composite_passes_it_and_the_engine_still_says_composite() -> None:
    """Every Wagstaff number is a strong base-2 probable prime (2^p = -1 mod N, N-1 = 2 * odd multiple
    of p): the engine must never rely on base 2."""
    form = WagstaffForm()
    assert 2 in form.useless_bases(101) and form.fermat_base(101) not in form.useless_bases(101)
    composites = 0
    for p in range(67, 500):
        if not gmpy2.is_prime(p):
            continue
        N = wagstaff(p)
        assert pow(2, N - 1, N) == 1 and gmpy2.is_strong_prp(mpz(N), 2), p
        if is_prime_two_oracles(N):
            continue
        composites += 1
        out = form.test(p)
        assert out.result == COMPOSITE and out.method in ("fermat-3", "bpsw"), (p, out)
        assert out.res64 == fermat3_res64(N)
    assert composites > 60


def test_a_fooled_fermat_test_alone_never_makes_a_probable_prime(monkeypatch: pytest.MonkeyPatch) -> None:
    """Were the base-3 Fermat test fooled (no Wagstaff base-3 pseudoprime is known), BPSW must still catch it."""
    monkeypatch.setattr(fermat_module, "fermat_prp", lambda N, base, **_: (True, "0000000000000001", ChainReport()))
    for p in (83, 97, 103):
        assert not is_prime_two_oracles(wagstaff(p))
        out = WagstaffForm().test(p)
        assert out.result == COMPOSITE and out.method == "bpsw", out


def test_the_fermat_residue_is_gerbicz_checked() -> None:
    """A transient fault in the chain is caught and rolled back (same RES64); unchecked, it corrupts the RES64."""
    form = WagstaffForm()
    for p in (701, 709):
        clean = form.test(p)
        healed = form.test(p, TestOptions(faults=[Fault(iteration=300, bit=5)]))
        assert healed.res64 == clean.res64 and healed.result == clean.result and healed.rollbacks >= 1
        assert clean.checks >= 1 and clean.rollbacks == 0
        broken = form.test(p, TestOptions(check=False, faults=[Fault(iteration=300, bit=5)]))
        assert broken.res64 != clean.res64


def test_tiny_wagstaff_numbers_are_decided_deterministically() -> None:
    form = WagstaffForm()
    for p, N in ((3, 3), (5, 11), (7, 43), (11, 683), (13, 2731)):
        assert form.number(p) == N and form.excluded(p) is None
        out = form.test(p)
        assert out.result == PRIME and out.method == "bpsw-below-2^64", (p, out)
        assert out.res64 == format(pow(3, N - 1, N), "016x")
        assert form.verify(p, out.certificate)[0]
        assert form.is_tiny_prime_equal(p, N)
    factors = form.sieve(0, 20, prime_chunks(2, 10_000))
    assert all(f == 0 for f in factors[[3, 5, 7, 11, 13, 17, 19]])  # all prime, some equal to a sieve prime
    for p in (0, 1, 2, 4, 9, 15):
        assert form.excluded(p) == "p is not an odd prime"
    out = form.test(29)
    assert out.result == COMPOSITE and out.method == "bpsw-below-2^64" and out.certificate == {}


@pytest.mark.parametrize(("lo", "hi", "depth", "segment"), [
    (0, 120, 3_000, 1 << 22), (0, 70, 2_000, 7), (100, 400, 100_000, 1 << 22), (3, 4, 5, 1), (40, 90, 20_000, 1000),
    (1000, 1100, 300_000, 50_000),
])
def test_sieve_agrees_with_trial_division(lo: int, hi: int, depth: int, segment: int) -> None:
    form = WagstaffForm()
    seen = []
    factors = form.sieve(lo, hi, prime_chunks(2, depth, segment), seen.append)
    assert factors.dtype.kind == "i" and factors.shape == (hi - lo,)
    assert sum(seen) == len(small_primes(depth))
    for p in range(lo, hi):
        if form.excluded(p) is None:
            assert int(factors[p - lo]) == smallest_factor_by_trial_division(wagstaff(p), depth), p
            assert int(factors[p - lo]) == 0 or form.residue_mod(p, int(factors[p - lo])) == 0
    for p, q in ((5, 3), (7, 3), (101, 3), (29, 59), (29, 7), (101, 607), (3, 3)):
        assert form.residue_mod(p, q) == wagstaff(p) % q


def test_campaign_validation_and_template() -> None:
    spec = load_campaign(REPO / "campaigns" / "wagstaff.toml")
    assert spec.form == "wagstaff" and spec.axis == "p" and spec.params == {}
    first = (REPO / "campaigns" / "wagstaff.toml").read_text().splitlines()[0]
    assert first.startswith("#")
    assert 10**3 <= spec.sieve_depth <= 2**32 - 1
    assert spec.sieve_depth == WagstaffForm.auto_sieve_depth({}, spec.axis_min, spec.axis_max, spec.block_size)
    with pytest.raises(CampaignError) as err:
        parse_campaign({**CAMPAIGN, "p_max": MAX_P + 2})
    assert err.value.field == "p_max" and str(MAX_P) in str(err.value).replace(",", "")
    with pytest.raises(CampaignError) as err:
        parse_campaign({**CAMPAIGN, "p_min": 24, "p_max": 28})
    assert err.value.field == "p_min" and "no odd prime" in str(err.value)
    with pytest.raises(CampaignError) as err:
        parse_campaign({**CAMPAIGN, "k": 3})
    assert err.value.field == "k"


def test_bits_and_survival_fraction_match_the_form() -> None:
    form = WagstaffForm()
    for p in (3, 5, 67, 101, 1000, 4423):
        assert abs(form.bits(p) - wagstaff(p).bit_length()) <= 1
    lo, hi, depth = 2000, 6000, 100_000
    factors = form.sieve(lo, hi, prime_chunks(2, depth))
    share = sum(1 for p in range(lo, hi) if form.excluded(p) is None and factors[p - lo] == 0) / (hi - lo)
    assert 0.8 < share / form.survival_at((lo + hi) / 2, depth) < 1.25, share
    assert 0.8 < share / form.survival_fraction(depth) < 1.25, share
