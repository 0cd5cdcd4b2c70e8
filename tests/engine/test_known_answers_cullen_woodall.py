"""Known answers for Cullen n*2^n+1 and Woodall n*2^n-1: the engine's full result set (exclusions, sieve, tests,
certificates, run exactly as blocks.py runs them) against PARI/GP and gmpy2, which must agree, and OEIS.

No expected answer comes from the engine: every N is decided by PARI (isprime, a proof, up to 600 bits; BPSW
above, where the engine's proof certificate must then verify) and by gmpy2.is_prime.
"""

from __future__ import annotations

import math
from pathlib import Path

import gmpy2
import numpy as np
import pytest
from gmpy2 import mpz
from oracles import FORM_CASES, BlockRun, case_run, oracle_values, pari
from oracles import is_prime_two_oracles as _two_oracles

from darkreach_pipeline import blocks
from darkreach_pipeline.campaign import load_campaign, parse_campaign
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.forms.cullen_woodall import CullenForm, WoodallForm
from darkreach_pipeline.primality.gerbicz import Fault
from darkreach_pipeline.primality.options import TestOptions
from darkreach_pipeline.primality.outcome import COMPOSITE, PRIME
from darkreach_pipeline.sieve.primes import prime_chunks, small_primes
from darkreach_pipeline.sieve.stepwise import sieve_cullen_woodall

REPO = Path(__file__).resolve().parents[2]
MASK64 = (1 << 64) - 1

def number(c: int, n: int) -> int:
    return n * 2**n + c


def is_prime_two_oracles(N: int) -> bool:
    return _two_oracles(N, FORM_CASES["cullen"].prove_up_to_bits)


def runs(name: str) -> tuple[BlockRun, ...]:
    """The table case's run (the table test checks its primes against the oracles and OEIS A005849 / A002234)."""
    return (case_run(name),)


FORMS = {"cullen": (CullenForm, 1), "woodall": (WoodallForm, -1)}


@pytest.mark.parametrize("name", ["cullen", "woodall"])
def test_every_prime_is_proven_and_verified(name: str) -> None:
    """Every prime of the table run (which finds exactly the oracles' primes) has a verified proof."""
    total = 0
    for run in runs(name):
        expected = oracle_values(FORM_CASES[name])
        assert sorted(run.certs["n"].astype(int)) == sorted(expected)
        assert run.certs["verified"].all() and (run.certs["status"] == "proven").all(), run.certs
        total += len(expected)
    assert total >= (2 if name == "cullen" else 10)  # a range without primes would prove little


@pytest.mark.parametrize("name", ["cullen", "woodall"])
def test_every_tested_row_is_consistent(name: str) -> None:
    """RES64 is 3^(N-1) mod N (gmpy2's generic powmod); proofs use this form's methods; composites have no
    certificate."""
    form_cls, c = FORMS[name]
    for run in runs(name):
        assert len(run.results) > 0
        for row in run.results.to_dict("records"):
            n = int(row["n"])
            N = number(c, n)
            assert row["expression"] == f"{n}*2^{n}{'+' if c == 1 else '-'}1"
            assert row["res64"] == format(int(gmpy2.powmod(3, N - 1, N)) & MASK64, "016x"), row
            assert row["digits"] == len(str(N))
            if row["result"] == PRIME:
                assert row["method"] in form_cls.proof_methods, row
                assert row["method"] == ("bpsw-below-2^64" if N < 2**64 else "proth" if c == 1 else "llr"), row
            else:
                assert row["result"] == COMPOSITE and row["certificate"] == "{}", row


@pytest.mark.parametrize("name", ["cullen", "woodall"])
def test_sieve_claims_divide_and_never_hide_a_prime(name: str) -> None:
    _, c = FORMS[name]
    for run in runs(name):
        struck = run.sieved[run.sieved["status"] == blocks.FACTOR]
        assert len(struck) > 0.5 * len(run.sieved)
        for n, p in zip(struck["n"].astype(int), struck["factor"].astype(int), strict=True):
            N = number(c, n)
            assert 2 < p <= run.spec.sieve_depth and N % p == 0 and N != p and gmpy2.is_prime(p), (n, p)
        primes = {n for n in range(run.spec.axis_min, run.spec.axis_max + 1) if is_prime_two_oracles(number(c, n))}
        status = dict(zip(run.sieved["n"].astype(int), run.sieved["status"], strict=True))
        assert all(status[n] == blocks.SURVIVOR for n in primes), {n: status[n] for n in primes}


def trial_division(c: int, lo: int, hi: int, depth: int) -> list[int | None]:
    """Smallest prime p <= depth dividing N with p != N (0: none); None where N < 2."""
    primes = [int(p) for p in small_primes(depth)]
    out: list[int | None] = []
    for n in range(lo, hi):
        N = number(c, n)
        out.append(None if N < 2 else next((p for p in primes if N % p == 0 and N != p), 0))
    return out


@pytest.mark.parametrize("c", [1, -1])
@pytest.mark.parametrize(("lo", "hi", "depth", "segment", "batch"), [
    (0, 200, 3000, 1 << 22, 8192),  # tiny N = p among them: 3, 7, 23, 383 (never struck by themselves)
    (0, 90, 1500, 7, 5),  # many chunks and batches, primes below and above n mixed in one batch
    (500, 900, 20_000, 1 << 22, 64),  # p < n: the n mod p counter wraps
    (3000, 3001, 5000, 1 << 22, 8192),
])
def test_sieve_equals_trial_division(c: int, lo: int, hi: int, depth: int, segment: int, batch: int) -> None:
    got = sieve_cullen_woodall(c, lo, hi, prime_chunks(2, depth, segment), batch=batch)
    assert got.dtype == np.int64 and got.shape == (hi - lo,)
    expected = trial_division(c, lo, hi, depth)
    wrong = [(lo + i, int(g), e) for i, (g, e) in enumerate(zip(got, expected, strict=True)) if e is not None
             and int(g) != e]
    assert not wrong, wrong[:10]


@pytest.mark.parametrize("c", [1, -1])
def test_sieve_finds_factors_near_2_to_the_32(c: int) -> None:
    """Primes between 2^30 and 2^32 (the uint32 and uint64 paths), planted from PARI's factorizations."""
    planted: dict[int, list[int]] = {}
    for n in range(2, 100):
        for p in pari.factor(number(c, n))[0]:
            if 2**30 < int(p) < 2**32:
                planted.setdefault(int(p), []).append(n)
    assert any(p > 2**31 for p in planted) and any(p < 2**31 for p in planted), planted
    got = sieve_cullen_woodall(c, 0, 100, [np.array(sorted(planted), dtype=np.uint64)])
    expected = np.zeros(100, dtype=np.int64)
    for p in sorted(planted, reverse=True):
        for n in planted[p]:
            if number(c, n) != p:
                expected[n] = p
    assert np.array_equal(got, expected), [(n, int(got[n]), int(expected[n])) for n in range(100)
                                           if got[n] != expected[n]]


def test_sieve_rejects_primes_from_2_to_the_32() -> None:
    with pytest.raises(ValueError, match="below 2\\^32"):
        sieve_cullen_woodall(1, 10, 20, [np.array([2**32 + 15], dtype=np.uint64)])


@pytest.mark.parametrize(("form_cls", "c"), [(CullenForm, 1), (WoodallForm, -1)])
def test_certificates_verify_and_forgeries_are_rejected(form_cls, c: int) -> None:
    form = form_cls()
    proven = [n for n in (141, 4713) if c == 1] or [75, 81, 512, 822]
    for n in proven:
        out = form.test(n)
        assert out.result == PRIME, out
        ok, why = form.verify(n, out.certificate)
        assert ok, why
        N = number(c, n)
        forged = []
        if c == 1:
            residue = next(a for a in range(3, 100) if pari.kronecker(a, N) == 1)  # a^((N-1)/2) = +1, not -1
            forged.append({"method": "proth", "witness": residue})
            forged.append({"method": "llr", "P": 4})
        else:
            other = next(P for P in range(3, 100) if P != out.certificate["P"]
                         and not (pari.kronecker(P - 2, N) == 1 and pari.kronecker(P + 2, N) == -1))
            forged.append({"method": "llr", "P": other})
            forged.append({"method": "proth", "witness": 3})
        forged.append({"method": "bpsw-below-2^64"})
        forged.append({"method": "prp", "tests": ["fermat-3"]})
        forged.append({"method": out.certificate["method"]})  # fields missing: rejected, not a crash
        for certificate in forged:
            ok, why = form.verify(n, certificate)
            assert not ok, (n, certificate, why)
        # The right certificate for another n proves nothing about this one.
        assert not form.verify(n + 2, out.certificate)[0] or is_prime_two_oracles(number(c, n + 2))


def test_even_n_and_powers_of_two_have_the_right_binary_shape() -> None:
    """N = K*2^e + c with K the odd part of n and e = n + v2(n): e > n for even n, K = 1 for n = 2^j."""
    for form in (CullenForm(), WoodallForm()):
        for n in range(1, 1100):
            K, e, c = form.binary_shape(n)
            v2 = (n & -n).bit_length() - 1
            assert K % 2 == 1 and K * 2**e + c == number(form.c, n) and c == form.c
            assert e == n + v2 and (e > n) == (n % 2 == 0)
            assert (K == 1) == (n & (n - 1) == 0)
        assert form.binary_shape(0) is None


def test_woodall_512_is_the_mersenne_prime_2_to_the_521_minus_1() -> None:
    """n = 512 = 2^9: K = 1, e = 521; LLR on K = 1 (Lucas-Lehmer) must prove it, from a Fermat residue of 1."""
    form = WoodallForm()
    assert number(-1, 512) == 2**521 - 1
    out = form.test(512)
    assert out.result == PRIME and out.method == "llr" and out.res64 == "0000000000000001", out
    assert form.verify(512, out.certificate)[0]
    assert 2 in form.useless_bases(512) and 2 not in form.useless_bases(511)
    assert pow(2, 2**37 - 2, 2**37 - 1) == 1 and not is_prime_two_oracles(2**37 - 1)  # n = 32: why base 2 is useless
    assert form.test(32).result == COMPOSITE


def test_algebraic_exclusions_are_real_and_complete() -> None:
    """Every n excluded as algebraic has n*2^n a perfect power x^m with a proper factor x -+ 1 (or the
    Aurifeuillean 4x^4+1 split), found here by gmpy2 roots; and every such n above 2^64 is excluded."""
    hits = {1: 0, -1: 0}
    for form in (CullenForm(), WoodallForm()):
        c = form.c
        for n in range(2, 2500):
            m_N = mpz(n) << n
            N = m_N + c
            factors = []
            e = m_N.bit_length() - 1 if m_N & (m_N - 1) == 0 else n + (n & -n).bit_length() - 1
            for m in [d for d in range(2, e + 1) if e % d == 0]:  # n*2^n = x^m needs m | e (e = exponent of 2)
                x, exact = gmpy2.iroot(m_N, m)
                if exact and (c == -1 or m % 2 == 1):
                    factors.append(x - 1 if c == -1 else x + 1)
            if c == 1 and m_N % 4 == 0:
                x, exact = gmpy2.iroot(m_N // 4, 4)
                if exact:
                    factors.append(2 * x * x + 2 * x + 1)
            proper = [f for f in factors if 1 < f < N and N % f == 0]
            reason = form.excluded(n) or ""
            if reason.startswith("algebraic"):
                assert proper, (form.name, n, reason)
                assert not is_prime_two_oracles(int(N))
                hits[c] += 1
            elif N >= 2**64:
                assert not proper, (form.name, n, "has an algebraic factor but was not excluded")
    assert hits[1] >= 10 and hits[-1] >= 20, hits


def test_tiny_n() -> None:
    """N < 2 is excluded with a reason; small N (primes 3, 7, 23, 383, ...) go to the deterministic test."""
    cullen, woodall = CullenForm(), WoodallForm()
    assert "N < 2" in cullen.excluded(0) and "N < 2" in woodall.excluded(0) and "N < 2" in woodall.excluded(1)
    for form in (cullen, woodall):
        assert number(form.c, 58) < 2**64 < number(form.c, 59)
        assert form.test(59).method != "bpsw-below-2^64"
        for n in range(1, 59):
            if form.excluded(n) is not None:
                continue
            N = number(form.c, n)
            out = form.test(n)
            assert (out.result == PRIME) == is_prime_two_oracles(N), (form.name, n)
            assert out.method == "bpsw-below-2^64" and out.res64 == format(pow(3, N - 1, N) & MASK64, "016x")
            if out.result == PRIME:
                assert form.verify(n, out.certificate)[0]
                assert form.is_tiny_prime_equal(n, N) and form.residue_mod(n, N) == 0


def test_gerbicz_checks_pass_through_and_catch_a_fault() -> None:
    """test() hands check/faults to the checked chain: a transient fault is rolled back, the answer stands."""
    form = WoodallForm()
    clean = form.test(751)
    faulty = form.test(751, TestOptions(faults=[Fault(iteration=300, bit=5)]))
    assert clean.result == faulty.result == PRIME and clean.res64 == faulty.res64
    assert faulty.rollbacks >= 1 and faulty.checks >= 1
    unchecked = form.test(751, TestOptions(check=False, faults=[Fault(iteration=300, bit=5)]))
    assert unchecked.res64 != clean.res64


def test_templates_parse_and_validation_names_the_fix() -> None:
    for name in ("cullen", "woodall"):
        path = REPO / "campaigns" / f"{name}.toml"
        assert path.read_text().startswith("# ")
        spec = load_campaign(path)
        assert spec.form == name and spec.params == {} and 1_000 <= spec.sieve_depth < 2**32
        base = {"name": "x", "form": name, "n_min": 1, "n_max": 100, "block_size": 10}
        with pytest.raises(CampaignError, match="n_max.*lower n_max"):
            parse_campaign({**base, "n_max": 10**9})
        with pytest.raises(CampaignError, match="'k'"):
            parse_campaign({**base, "k": 3})


@pytest.mark.parametrize("form_cls", [CullenForm, WoodallForm])
def test_auto_sieve_depth_and_survival_fit_the_form(form_cls) -> None:
    """The depth model is deterministic and grows with n; below n the sieve leaves what survival_fraction says."""
    depths = [form_cls.auto_sieve_depth({}, n, n + 10_000, 1000) for n in (1_000, 100_000, 1_000_000, 10_000_000)]
    assert depths == [form_cls.auto_sieve_depth({}, n, n + 10_000, 1000) for n in (1_000, 100_000, 1_000_000,
                                                                                   10_000_000)]
    assert depths == sorted(depths) and 1_000 <= depths[0] and depths[-1] <= 2**32 - 1, depths
    form = form_cls()
    assert math.isclose(form.bits(1000), math.log2(number(form.c, 1000)), abs_tol=1e-6)
    for depth in (1_000, 30_000):
        factors = form.sieve(200_000, 204_000, prime_chunks(2, depth))
        survived = float(np.mean(factors == 0))
        assert abs(survived / form.survival_fraction(depth) - 1) < 0.15, (depth, survived)
