"""Known answers for NearRepdigitForm (10^(2k+1) - 1 - d*(10^(k+m) + 10^(k-m))) against two oracles.

The expected answers are never taken from the engine: each number is written here as a string of nines with
two digits replaced, every (k, d, m) is decided by PARI/GP (isprime, a proof, up to 512 bits; ispseudoprime,
its BPSW, above) and by gmpy2.is_prime, which must agree. The engine runs as the pipeline runs it:
parse_campaign, then candidate_frame, sieve_frame, test_frame and certificate_frame for every block,
audited by checks.py. No OEIS sequence lists exactly this family, so none is quoted.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import gmpy2
import pytest
from oracles import BlockRun, run_blocks
from oracles import is_prime_two_oracles as two_oracles

from darkreach_pipeline.blocks import EXCLUDED, FACTOR
from darkreach_pipeline.campaign import load_campaign, parse_campaign
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.forms.near_repdigit import NearRepdigitForm
from darkreach_pipeline.primality.gerbicz import Fault
from darkreach_pipeline.primality.options import TestOptions
from darkreach_pipeline.primality.outcome import COMPOSITE, PRIME, PROBABLE_PRIME
from darkreach_pipeline.proofs import ecpp as shared_test
from darkreach_pipeline.proofs.ecpp import ECPP_MAX_DIGITS
from darkreach_pipeline.sieve.primes import prime_chunks, small_primes

REPO = Path(__file__).resolve().parents[2]
MASK64 = (1 << 64) - 1
PROOF_BITS = 512


def near_repdigit(k: int, d: int, m: int) -> int:
    """2k+1 nines, the digits at positions k-m and k+m (from the left) replaced by 9-d."""
    digits = ["9"] * (2 * k + 1)
    digits[k - m] = digits[k + m] = str(9 - d)
    return int("".join(digits))


def all_candidates(k_min: int, k_max: int) -> list[tuple[int, int, int]]:
    """(k, d, m) in the engine's index order: k, then d, then m."""
    return [(k, d, m) for k in range(k_min, k_max + 1) for d in range(1, 9) for m in range(1, k + 1)]


def is_prime_two_oracles(N: int) -> bool:
    """PARI (isprime up to 512 bits, ispseudoprime above) and gmpy2.is_prime, which must agree."""
    return two_oracles(N, PROOF_BITS)


@functools.cache
def primes_and_product(depth: int) -> tuple[list[int], gmpy2.mpz]:
    primes = [int(q) for q in small_primes(depth)]
    return primes, functools.reduce(lambda x, y: x * y, map(gmpy2.mpz, primes), gmpy2.mpz(1))


def smallest_factor_by_trial_division(N: int, depth: int) -> int:
    """Smallest prime q <= depth with q | N and q != N, else 0 (a gcd with the primorial first, for speed)."""
    primes, product = primes_and_product(depth)
    g = int(gmpy2.gcd(N, product))
    if g == 1 or g == N:
        return 0 if g == 1 or gmpy2.is_prime(N) else next(q for q in primes if N % q == 0)
    return next(q for q in primes if g % q == 0 and q != N)


def run_pipeline(digits_min: int, digits_max: int, block_size: int, depth: int | str) -> BlockRun:
    """Every block of the campaign through the four stages, each audited as the asset checks do."""
    return run_blocks({"name": "nrd", "form": "near_repdigit", "digits_min": digits_min,
                       "digits_max": digits_max, "block_size": block_size, "sieve_depth": depth})


def check_run(run: BlockRun, k_min: int, k_max: int) -> set[int]:
    """Full result set equals the oracles'; exclusions, sieve, RES64 and certificates hold. Returns the primes."""
    form: NearRepdigitForm = run.form
    sieved, results, certs, spec = run.sieved, run.results, run.certs, run.spec
    triples = all_candidates(k_min, k_max)
    numbers = [near_repdigit(*t) for t in triples]
    assert [int(form.number(int(v))) for v in sieved["candidate"]] == numbers  # index order (k, d, m)
    expected = {N for N in numbers if is_prime_two_oracles(N)}
    found = {int(form.number(int(v))) for v in results.loc[results["result"].isin([PRIME, PROBABLE_PRIME]),
                                                          "candidate"]}
    assert found == expected, f"missed {sorted(expected - found)[:10]}, extra {sorted(found - expected)[:10]}"
    for row, (k, d, m), N in zip(sieved.to_dict("records"), triples, numbers, strict=True):
        q = int(row["factor"])
        trivial = d in (3, 6) or (m == k and d in (1, 4, 5, 7)) or (d == 1 and (k + m) % 2 == 1)
        assert (row["status"] == EXCLUDED) == trivial, row
        if row["status"] == EXCLUDED:
            stated = int(row["reason"].split(" ")[0])  # "3 | N: ...": the prime the reason names
            assert N % stated == 0 and N != stated and not is_prime_two_oracles(N), row
        if row["status"] == FACTOR:
            assert gmpy2.is_prime(q) and q <= spec.sieve_depth and N % q == 0 and q != N, row
        if q:
            assert q == smallest_factor_by_trial_division(N, spec.sieve_depth), row
    for row in results.to_dict("records"):
        N = int(form.number(int(row["candidate"])))
        assert row["res64"] == format(pow(3, N - 1, N) & MASK64, "016x") and row["residue_type"] == "fermat-3"
        if row["result"] == PRIME:
            assert row["method"] == ("bpsw-below-2^64" if N < 2**64 else "ecpp"), row
        if row["result"] == PROBABLE_PRIME:
            assert len(str(N)) > shared_test.ECPP_MAX_DIGITS and row["method"] == "fermat-3+bpsw", row
            assert json.loads(row["certificate"]) == {"method": "prp", "tests": ["fermat-3", "strong-bpsw"]}
    assert certs["verified"].all() and len(certs) == len(expected)
    for row in certs.to_dict("records"):
        ok = form.verify(int(row["candidate"]), json.loads(row["certificate"]))[0]
        assert ok == (row["status"] == "proven"), row
    return expected


def test_digits_3_to_41_full_result_set_equals_the_oracles() -> None:
    run = run_pipeline(3, 41, 420, "auto")
    expected = check_run(run, 1, 20)
    assert len(expected) >= 50 and {191, 797, 19991} <= expected
    assert (run.certs["status"] == "proven").all()
    assert any(len(str(N)) > 20 for N in expected)  # the ECPP path ran


def test_shallow_sieve_and_probable_prime_labels(monkeypatch: pytest.MonkeyPatch) -> None:
    """Depth 3: almost everything reaches the test. With the ECPP limit lowered to 25 digits the larger primes
    must come out as labelled probable primes, re-checked by verify_probable_prime and refused by verify()."""
    monkeypatch.setattr(shared_test, "ECPP_MAX_DIGITS", 25)
    run = run_pipeline(21, 35, 300, 3)
    expected = check_run(run, 10, 17)
    certs = run.certs
    prp = certs[certs["status"] == "prp"]
    assert len(prp) >= 5 and prp["digits"].min() > 25 and prp["verified"].all()
    assert (certs.loc[certs["digits"] <= 25, "status"] == "proven").all() and len(expected) > len(prp)
    assert (run.results["result"] == COMPOSITE).sum() > 200


def test_above_the_ecpp_limit_primes_are_probable_primes() -> None:
    """303 digits (k = 151): two rows of (d, m), the sieve, Fermat + BPSW, labelled PRPs only."""
    form = NearRepdigitForm()
    k = 151
    assert 2 * k + 1 > ECPP_MAX_DIGITS
    lo = 4 * k * (k - 1) + 6 * k  # d = 7 and d = 8
    hi = lo + 2 * k
    depth = 20_000
    factors = form.sieve(lo, hi, prime_chunks(2, depth))
    found = set()
    for v, q in zip(range(lo, hi), factors.tolist(), strict=True):
        k_, d, m = form.locate(v)
        N = near_repdigit(k_, d, m)
        assert form.number(v) == N and d in (7, 8)
        if q:
            assert N % q == 0 and form.residue_mod(v, q) == 0
            continue
        if form.excluded(v):
            continue
        out = form.test(v)
        assert out.res64 == format(pow(3, N - 1, N) & MASK64, "016x")
        if out.result != COMPOSITE:
            found.add(N)
            assert out.result == PROBABLE_PRIME and out.method == "fermat-3+bpsw", out
            assert not form.verify(v, out.certificate)[0]
    expected = {near_repdigit(*form.locate(v)) for v in range(lo, hi)
                if form.excluded(v) is None and is_prime_two_oracles(near_repdigit(*form.locate(v)))}
    assert found == expected and len(found) >= 1


def test_exclusions_are_true_divisors_and_cover_the_traps() -> None:
    """d = 3, 6: digit sum divisible by 3; m = k: last digit 9-d even or 5; d = 1, k+m odd: 11 | N."""
    form = NearRepdigitForm()
    seen = set()
    for v, (k, d, m) in enumerate(all_candidates(1, 30)):
        N = near_repdigit(k, d, m)
        reason = form.excluded(v)
        assert (reason is not None) == (d in (3, 6) or (m == k and d in (1, 4, 5, 7)) or (d == 1 and (k + m) % 2))
        if reason is not None:
            q = int(reason.split(" ")[0])
            assert N % q == 0 and not gmpy2.is_prime(N), (k, d, m, reason)
            seen.add(q)
        if d in (3, 6):
            assert sum(map(int, str(N))) % 3 == 0
    assert seen == {2, 3, 5, 11}


@pytest.mark.parametrize(("lo", "hi", "depth"), [(0, 8 * 10, 2000), (0, 1680, 30_000), (9800, 10600, 50_000),
                                                 (4 * 200 * 199 + 500, 4 * 200 * 199 + 1900, 10_000)])
def test_sieve_agrees_with_trial_division(lo: int, hi: int, depth: int) -> None:
    """Including k <= 4, where N (191, 797, 19991, ...) is below the depth and must not be struck by itself."""
    form = NearRepdigitForm()
    seen: list[int] = []
    factors = form.sieve(lo, hi, prime_chunks(2, depth), seen.append)
    assert factors.dtype.kind == "i" and factors.shape == (hi - lo,)
    assert sum(seen) == len(small_primes(depth))
    for v in range(lo, hi):
        N = near_repdigit(*form.locate(v))
        q = int(factors[v - lo])
        assert q == smallest_factor_by_trial_division(N, depth), (v, form.locate(v), q)
        assert q == 0 or form.residue_mod(v, q) == 0
        if N <= depth and gmpy2.is_prime(N):
            assert q == 0


def test_certificates_are_checked_and_tampering_is_rejected() -> None:
    form = NearRepdigitForm()
    proofs = []
    for v in range(4 * 15 * 14, 4 * 16 * 15):  # 31 digits
        if form.excluded(v) is None:
            out = form.test(v)
            if out.result == PRIME:
                proofs.append((v, out.certificate))
    (v, cert), (w, other) = proofs[:2]
    assert cert["method"] == "ecpp" and form.verify(v, cert)[0] and form.verify(w, other)[0]
    assert not form.verify(w, cert)[0]
    steps = json.loads(cert["certificate"])
    steps[-1][1] += 2  # a wrong trace in the last step
    assert not form.verify(v, {**cert, "certificate": json.dumps(steps)})[0]
    assert not form.verify(v, {**cert, "certificate": "[" + cert["certificate"] + "]"})[0]
    assert not form.verify(v, {**cert, "certificate": 'readstr("/etc/passwd")'})[0]
    assert not form.verify(v, {"method": "bpsw-below-2^64"})[0]
    assert not form.verify(v, {"method": "prp", "tests": ["fermat-3", "strong-bpsw"]})[0]
    assert not form.verify(v, {"method": "morrison"})[0]
    assert form.verify(1, {"method": "bpsw-below-2^64"})[0]  # 797
    assert not form.verify(0, {"method": "bpsw-below-2^64"})[0]  # 898


def test_fermat_residue_goes_through_the_checked_chain() -> None:
    """A transient fault in the Fermat chain is caught and rolled back: the RES64 is still right."""
    form = NearRepdigitForm()
    v = next(v for v in range(4 * 40 * 39, 4 * 41 * 40) if form.excluded(v) is None)
    N = int(form.number(v))
    clean = form.test(v)
    faulty = form.test(v, TestOptions(faults=[Fault(iteration=20, bit=3)]))
    assert clean.res64 == faulty.res64 == format(pow(3, N - 1, N) & MASK64, "016x")
    assert clean.result == faulty.result and faulty.rollbacks >= 1 and faulty.checks >= 1


def test_campaign_validation_and_template() -> None:
    path = REPO / "campaigns" / "near_repdigit.toml"
    assert path.read_text().startswith("#")
    spec = load_campaign(path)
    assert spec.form == "near_repdigit" and spec.axis == "candidate" and spec.params == {}
    assert (spec.axis_min, spec.axis_max) == (0, 1679)
    assert spec.sieve_depth == NearRepdigitForm.auto_sieve_depth({}, spec.axis_min, spec.axis_max, spec.block_size)
    base = {"name": "n", "form": "near_repdigit", "digits_min": 3, "digits_max": 41, "block_size": 500,
            "sieve_depth": "auto"}
    assert parse_campaign({**base, "digits_min": 4, "digits_max": 5}).axis_min == 8  # k = 2 only
    for field, overrides, words in (
        ("digits_max", {"digits_min": 1, "digits_max": 2}, "odd digit count >= 3"),
        ("digits_min", {"digits_min": 10, "digits_max": 10}, "digits_min = digits_max = 11"),
        ("digits_max", {"digits_max": 300_001, "block_size": 10**6}, "must be <= 200001"),
    ):
        with pytest.raises(CampaignError) as err:
            parse_campaign({**base, **overrides})
        assert err.value.field == field and words in str(err.value), str(err.value)
    with pytest.raises(CampaignError) as err:
        parse_campaign({**base, "base": 10})
    assert err.value.field == "base"


def test_bits_survival_and_auto_depth_match_the_form() -> None:
    form = NearRepdigitForm()
    for v in (0, 7, 100, 5000, 123_456):
        assert abs(form.bits(v) - int(form.number(v)).bit_length()) <= 1.5, v
    lo, hi, depth = 4 * 300 * 299, 4 * 300 * 299 + 2400, 50_000
    factors = form.sieve(lo, hi, prime_chunks(2, depth))
    survivors = sum(1 for v in range(lo, hi) if factors[v - lo] == 0 and form.excluded(v) is None)
    share = survivors / (hi - lo)
    assert 0.8 < share / form.survival_fraction(depth) < 1.2, share
    first, last = NearRepdigitForm.axis_bounds({}, 1001, 2001)
    depth_a = NearRepdigitForm.auto_sieve_depth({}, first, last, 1000)
    assert depth_a == NearRepdigitForm.auto_sieve_depth({}, first, last, 1000) and 10**5 < depth_a < 2**32
