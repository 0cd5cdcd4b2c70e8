from __future__ import annotations

import json
from pathlib import Path

import gmpy2
import pytest
from oracles import FORM_CASES, case_run, oracle_values, pari, run_blocks
from oracles import is_prime_two_oracles as _two_oracles

from darkreach_pipeline.blocks import EXCLUDED, FACTOR, SURVIVOR, certificate_frame
from darkreach_pipeline.campaign import load_campaign, parse_campaign
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.forms.repunit import RepunitForm
from darkreach_pipeline.primality import fermat as fermat_module
from darkreach_pipeline.primality.gerbicz import ChainReport, Fault
from darkreach_pipeline.primality.options import TestOptions
from darkreach_pipeline.primality.outcome import COMPOSITE, PRIME, PROBABLE_PRIME
from darkreach_pipeline.sieve.primes import prime_chunks, small_primes

REPO = Path(__file__).resolve().parents[2]
MASK64 = (1 << 64) - 1
BASES = [10, 3, 2, 5, 6]  # FORM_CASES["repunit-<b>"]: the table test checks their primes against oracles and OEIS
DEPTH = FORM_CASES["repunit-10"].campaign["sieve_depth"]


def repunit(b: int, n: int) -> int:
    return (b**n - 1) // (b - 1)


def is_prime_two_oracles(N: int) -> bool:
    return _two_oracles(N, FORM_CASES["repunit-10"].prove_up_to_bits)


def smallest_factor_by_trial_division(N: int, depth: int) -> int:
    """Smallest prime q <= depth with q | N and q != N, else 0."""
    return next((q for q in map(int, small_primes(depth)) if N % q == 0 and N != q), 0)


def run_pipeline(b: int, n_max: int):
    """Every block of the campaign through the four stages, each block audited as the asset checks do."""
    return run_blocks({**FORM_CASES["repunit-10"].campaign, "name": f"repunit-{b}", "b": b, "n_max": n_max})


@pytest.mark.parametrize("b", BASES, ids=[f"b={b}" for b in BASES])
def test_every_stage_of_the_table_run_is_right(b: int) -> None:
    """The run of FORM_CASES["repunit-<b>"] (whose primes the table test checks): exclusions, sieve factors,
    residues, methods and certificates, each re-derived here."""
    run = case_run(f"repunit-{b}")
    form: RepunitForm = run.form
    sieved, results, certs = run.sieved, run.results, run.certs
    expected = oracle_values(FORM_CASES[f"repunit-{b}"])

    # exclusions: exactly n < 2 and composite n, and never a prime
    for row in sieved.to_dict("records"):
        n = int(row["n"])
        assert (row["status"] == EXCLUDED) == (n < 2 or not gmpy2.is_prime(n)), row
    # the sieve: every factor is a prime <= depth dividing N, never N itself; survivors have none
    for row in sieved.to_dict("records"):
        n, q = int(row["n"]), int(row["factor"])
        N = repunit(b, n)
        if row["status"] == FACTOR:
            assert gmpy2.is_prime(q) and q <= DEPTH and N % q == 0 and q != N, row
            assert not is_prime_two_oracles(N)
        if row["status"] == SURVIVOR:
            assert smallest_factor_by_trial_division(N, DEPTH) == 0, row
    # every tested row: the RES64 of number(n) to the form's Fermat base, by CPython's pow
    a = form.fermat_base(0)
    assert a == (2 if b == 3 else 3) and a not in form.useless_bases(0) and b in form.useless_bases(0)
    for row in results.to_dict("records"):
        n = int(row["n"])
        N = repunit(b, n)
        assert row["res64"] == format(pow(a, N - 1, N) & MASK64, "016x"), row
        assert row["residue_type"] == f"fermat-{a}"
        if row["result"] == PRIME:
            assert row["method"] == ("bpsw-below-2^64" if N < 2**64 else "llr"), row
            assert b == 2 or N < 2**64, row  # only Mersenne numbers have a proof above 2^64
        if row["result"] == PROBABLE_PRIME:
            assert b != 2 and N >= 2**64 and row["method"] == f"fermat-{a}+bpsw", row
            assert json.loads(row["certificate"]) == {"method": "prp", "tests": [f"fermat-{a}", "strong-bpsw"]}
    # certificates: every proof verifies, every probable prime re-checks, none is proven without a proof
    assert certs["verified"].all() and len(certs) == len(expected)
    for row in certs.to_dict("records"):
        certificate = json.loads(row["certificate"])
        assert form.verify(int(row["n"]), certificate)[0] == (row["status"] == "proven"), row


def test_corrupted_certificates_are_rejected() -> None:
    mersenne = RepunitForm(2)
    out = mersenne.test(127)
    assert out.result == PRIME and out.method == "llr" and mersenne.verify(127, out.certificate)[0]
    assert mersenne.binary_shape(127) == (1, 127, -1)
    assert not mersenne.verify(131, out.certificate)[0]  # 2^131-1 is composite
    bad_p = next(P for P in range(3, 100) if pari.kronecker(P - 2, 2**127 - 1) != 1)
    assert not mersenne.verify(127, {"method": "llr", "P": bad_p})[0]
    assert not mersenne.verify(127, {"method": "prp", "tests": ["fermat-3", "strong-bpsw"]})[0]

    form = RepunitForm(10)
    assert form.verify(19, {"method": "bpsw-below-2^64"})[0]
    assert not form.verify(17, {"method": "bpsw-below-2^64"})[0]  # R17 = 2071723 * 5363222357
    assert not form.verify(23, {"method": "bpsw-below-2^64"})[0]  # prime, but above 2^64
    assert not form.verify(23, {"method": "llr", "P": 4})[0]
    assert not form.verify(19, {})[0]
    run = run_pipeline(10, 30)
    tampered = run.results[run.results["n"] == 19].copy()
    tampered["certificate"] = json.dumps({"method": "proth", "witness": 3})
    row = certificate_frame(run.spec, tampered).iloc[0]
    assert row["status"] == "rejected" and not row["verified"], row  # never listed: the block is re-tested


@pytest.mark.parametrize(("b", "a"), [(10, 3), (3, 2), (2, 3), (7, 3), (12, 3)])
def test_composite_repunits_pass_base_b_and_the_engine_still_says_composite(b: int, a: int) -> None:
    """Every R_n (n prime, n not dividing b-1) is a base-b Fermat probable prime; the engine's base is another."""
    form = RepunitForm(b)
    assert form.fermat_base(0) == a
    composites = 0
    for n in range(3, 220):
        if not gmpy2.is_prime(n) or (b - 1) % n == 0:
            continue
        N = repunit(b, n)
        assert pow(b, N - 1, N) == 1, (b, n)
        if N < 2**64 or is_prime_two_oracles(N):
            continue
        composites += 1
        out = form.test(n)
        assert out.result == COMPOSITE, (b, n, out)
        assert out.res64 == format(pow(a, N - 1, N) & MASK64, "016x")
    assert composites > 20


def test_a_fooled_fermat_test_alone_never_makes_a_probable_prime(monkeypatch: pytest.MonkeyPatch) -> None:
    """Were the Fermat test fooled, the strong BPSW test after it must still call a composite composite."""
    monkeypatch.setattr(fermat_module, "fermat_prp", lambda N, base, **_: (True, "0000000000000001", ChainReport()))
    for b, n in ((10, 29), (10, 31), (3, 67), (7, 37)):
        assert not is_prime_two_oracles(repunit(b, n))
        out = RepunitForm(b).test(n)
        assert out.result == COMPOSITE and out.method == "bpsw", out


@pytest.mark.parametrize(("b", "n"), [(10, 317), (3, 103), (2, 607), (10, 313)])
def test_the_fermat_residue_is_gerbicz_checked(b: int, n: int) -> None:
    """A transient fault in the chain is caught and rolled back (same RES64); unchecked, it corrupts the RES64."""
    form = RepunitForm(b)
    clean = form.test(n)
    healed = form.test(n, TestOptions(faults=[Fault(iteration=100, bit=5)]))
    assert healed.res64 == clean.res64 and healed.result == clean.result and healed.rollbacks >= 1
    assert clean.checks >= 1 and clean.rollbacks == 0
    broken = form.test(n, TestOptions(check=False, faults=[Fault(iteration=100, bit=5)]))
    assert broken.res64 != clean.res64


@pytest.mark.parametrize(("b", "lo", "hi", "depth", "segment"), [
    (10, 0, 200, 20_000, 1 << 22), (2, 0, 150, 50_000, 1 << 22), (3, 0, 120, 3_000, 5), (11, 0, 60, 2_000, 1 << 22),
    (31, 0, 80, 5_000, 100), (60, 0, 100, 10_000, 1 << 22), (5, 100, 400, 200_000, 1 << 22), (4, 0, 40, 1000, 1 << 22),
    (2**31 - 1, 0, 50, 20_000, 1 << 22), (15, 2, 4, 300, 1 << 22), (1000, 0, 60, 3000, 17), (20, 0, 90, 5000, 1 << 22),
])
def test_sieve_agrees_with_trial_division(b: int, lo: int, hi: int, depth: int, segment: int) -> None:
    """Includes the traps: b = 60, n = 29 (59 | b-1, so 60^29 = 1 mod 59, yet 59 does not divide R_29);
    b = 11, 31 (n | b-1 divides R_n); b = 15, n = 3 (R_3 = 241 is prime though 15^3 = 1 mod 7)."""
    form = RepunitForm(b)
    seen = []
    factors = form.sieve(lo, hi, prime_chunks(2, depth, segment), seen.append)
    assert factors.dtype.kind == "i" and factors.shape == (hi - lo,)
    assert sum(seen) == len(small_primes(depth))
    tested = 0
    for n in range(lo, hi):
        if form.excluded(n) is None:
            tested += 1
            q = int(factors[n - lo])
            assert q == smallest_factor_by_trial_division(repunit(b, n), depth), (b, n, q)
            assert q == 0 or form.residue_mod(n, q) == 0
    assert tested > 0
    for n, q in ((29, 59), (5, 5), (7, 2), (13, 53), (3, 7)):
        assert form.residue_mod(n, q) == repunit(b, n) % q


def test_tiny_repunits() -> None:
    """N = b+1, 7, 13, 3: decided deterministically and never struck by the sieve prime they equal."""
    for b, n, N, prime in ((10, 2, 11, 1), (2, 2, 3, 1), (2, 3, 7, 1), (6, 2, 7, 1), (3, 3, 13, 1), (3, 2, 4, 0),
                           (5, 2, 6, 0), (20, 2, 21, 0), (11, 5, 16105, 0), (10, 3, 111, 0), (2**31 - 1, 2, 2**31, 0)):
        form = RepunitForm(b)
        assert form.number(n) == N and form.excluded(n) is None
        out = form.test(n)
        assert out.result == (PRIME if prime else COMPOSITE) and out.method == "bpsw-below-2^64", (b, n, out)
        a = form.fermat_base(n)
        assert out.res64 == format(pow(a, N - 1, N), "016x")
        assert form.verify(n, out.certificate)[0] == bool(prime)
        factor = int(form.sieve(n, n + 1, prime_chunks(2, 1000))[0])
        assert factor == smallest_factor_by_trial_division(N, 1000), (b, n, factor)
    for b, n in ((10, 0), (10, 1), (2, 0), (2, 1)):
        assert RepunitForm(b).excluded(n) == "N < 2: neither prime nor composite"
    assert "algebraic" in RepunitForm(10).excluded(9) and "algebraic" in RepunitForm(2).excluded(4)


@pytest.mark.parametrize("b", [4, 8, 9, 27, 32, 64, 100, 216])
def test_perfect_power_bases_exclude_their_algebraic_factors(b: int) -> None:
    """b = d^r: R_n(d) divides R_n(b) for prime n != r (the only exception: n = r), and no prime is lost."""
    form = RepunitForm(b)
    roots = {r: round(b ** (1 / r)) for r in (2, 3, 5) if round(b ** (1 / r)) ** r == b}
    for n in range(2, 80):
        if not gmpy2.is_prime(n):
            continue
        N = repunit(b, n)
        reason = form.excluded(n)
        algebraic = [d for r, d in roots.items() if n != r]
        assert (reason is not None) == bool(algebraic), (b, n, reason)
        if reason is not None:
            factor = repunit(algebraic[0], n)
            assert 1 < factor < N and N % factor == 0
            assert not is_prime_two_oracles(N)
        else:
            assert (form.test(n).result != COMPOSITE) == is_prime_two_oracles(N)
    with pytest.raises(CampaignError) as err:
        parse_campaign({"name": "pp", "form": "repunit", "b": b, "n_min": 2, "n_max": 100, "block_size": 50,
                        "sieve_depth": 1000})
    assert err.value.field == "b" and "perfect power" in str(err.value)


def test_campaign_validation_and_template() -> None:
    spec = load_campaign(REPO / "campaigns" / "repunit.toml")
    assert spec.form == "repunit" and spec.axis == "n" and spec.params == {"b": 10}
    assert (REPO / "campaigns" / "repunit.toml").read_text().startswith("#")
    assert 10**3 <= spec.sieve_depth <= 2**32 - 1
    assert spec.sieve_depth == RepunitForm.auto_sieve_depth({"b": 10}, spec.axis_min, spec.axis_max, spec.block_size)
    base = {"name": "r", "form": "repunit", "b": 10, "n_min": 2, "n_max": 1000, "block_size": 100,
            "sieve_depth": "auto"}
    for field, overrides, words in (
        ("b", {"b": 1}, "between 2"), ("b", {"b": 2**31 + 1}, "between 2"), ("b", {"b": 1000}, "10^3"),
        ("n_max", {"n_max": 20_000_000, "block_size": 10_000}, "n_max <= 15051499"),
        ("n_min", {"n_min": 24, "n_max": 28}, "no prime"),
    ):
        with pytest.raises(CampaignError) as err:
            parse_campaign({**base, **overrides})
        assert err.value.field == field and words in str(err.value), str(err.value)
    with pytest.raises(CampaignError) as err:
        parse_campaign({k: v for k, v in base.items() if k != "b"})
    assert err.value.field == "b"


def test_bits_and_survival_fraction_match_the_form() -> None:
    for b in (2, 3, 10, 2**31 - 1):
        form = RepunitForm(b)
        for n in (2, 3, 67, 101, 1000):
            assert abs(form.bits(n) - repunit(b, n).bit_length()) <= 1, (b, n)
    form = RepunitForm(10)
    lo, hi, depth = 2000, 6000, 100_000
    factors = form.sieve(lo, hi, prime_chunks(2, depth))
    share = sum(1 for n in range(lo, hi) if form.excluded(n) is None and factors[n - lo] == 0) / (hi - lo)
    assert 0.8 < share / form.survival_at((lo + hi) / 2, depth) < 1.25, share
    assert 0.8 < share / form.survival_fraction(depth) < 1.25, share
