"""Known answers for Carol (2^n-1)^2-2 and Kynea (2^n+1)^2-2: the engine's full result set (exclusions, sieve,
tests, certificates, run exactly as blocks.py runs them) against PARI/GP and gmpy2, which must agree, and OEIS.

No expected answer comes from the engine: every N is decided by PARI (isprime, a proof, up to 600 bits; BPSW
above, where the engine's Morrison certificate must then verify) and by gmpy2.is_prime.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import gmpy2
import numpy as np
import pytest
from oracles import FORM_CASES, BlockRun, case_run, oracle_values, pari
from oracles import is_prime_two_oracles as _two_oracles

from darkreach_pipeline import blocks
from darkreach_pipeline.campaign import load_campaign, parse_campaign
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.forms.carol_kynea import CarolForm, KyneaForm
from darkreach_pipeline.primality.gerbicz import Fault
from darkreach_pipeline.primality.options import TestOptions
from darkreach_pipeline.primality.outcome import COMPOSITE, PRIME
from darkreach_pipeline.sieve.primes import prime_chunks, small_primes
from darkreach_pipeline.sieve.stepwise import sieve_carol_kynea

REPO = Path(__file__).resolve().parents[2]
MASK64 = (1 << 64) - 1
N_MAX = FORM_CASES["carol"].axis_range[1]

FORMS = {"carol": (CarolForm, -1), "kynea": (KyneaForm, 1)}


def number(sign: int, n: int) -> int:
    return (2**n + sign) ** 2 - 2


def is_prime_two_oracles(N: int) -> bool:
    return _two_oracles(N, FORM_CASES["carol"].prove_up_to_bits)


def run(name: str) -> BlockRun:
    """The table case's run (the table test checks its primes against the oracles and OEIS A091515 / A091513)."""
    return case_run(name)


@pytest.mark.parametrize("name", ["carol", "kynea"])
def test_every_prime_is_proven_and_verified(name: str) -> None:
    """Every prime of the table run over n = 0..500 (which finds exactly the oracles' primes) is proven."""
    expected = oracle_values(FORM_CASES[name])
    r = run(name)
    assert sorted(r.certs["n"].astype(int)) == sorted(expected)
    assert r.certs["verified"].all() and (r.certs["status"] == "proven").all(), r.certs


def test_carol_252_is_composite() -> None:
    N = number(-1, 252)
    assert pow(3, N - 1, N) != 1 and not is_prime_two_oracles(N)
    assert CarolForm().test(252).result == COMPOSITE


@pytest.mark.parametrize("name", ["carol", "kynea"])
def test_every_tested_row_is_consistent(name: str) -> None:
    """RES64 is 3^(N-1) mod N (gmpy2's generic powmod); a prime is proven by Morrison (or is below 2^64);
    composites have no certificate."""
    form_cls, sign = FORMS[name]
    rows = run(name).results.to_dict("records")
    assert len(rows) > 50
    for row in rows:
        n = int(row["n"])
        N = number(sign, n)
        assert row["expression"] == f"(2^{n}{'+' if sign == 1 else '-'}1)^2-2"
        assert row["res64"] == format(int(gmpy2.powmod(3, N - 1, N)) & MASK64, "016x"), row
        assert row["digits"] == len(str(N))
        if row["result"] == PRIME:
            assert row["method"] in form_cls.proof_methods, row
            assert row["method"] == ("bpsw-below-2^64" if N < 2**64 else "morrison"), row
            assert json.loads(row["certificate"])["method"] == row["method"]
        else:
            assert row["result"] == COMPOSITE and row["certificate"] == "{}", row


@pytest.mark.parametrize("name", ["carol", "kynea"])
def test_sieve_claims_divide_and_never_hide_a_prime(name: str) -> None:
    _, sign = FORMS[name]
    r = run(name)
    struck = r.sieved[r.sieved["status"] == blocks.FACTOR]
    assert len(struck) > 0.5 * len(r.sieved)
    for n, p in zip(struck["n"].astype(int), struck["factor"].astype(int), strict=True):
        N = number(sign, n)
        assert p <= r.spec.sieve_depth and N % p == 0 and N != p and gmpy2.is_prime(p), (n, p)
        assert p % 8 in (1, 7), (n, p)  # 2 must be a square mod p
    status = dict(zip(r.sieved["n"].astype(int), r.sieved["status"], strict=True))
    primes = {n for n in range(N_MAX + 1) if is_prime_two_oracles(number(sign, n))}
    assert all(status[n] == blocks.SURVIVOR for n in primes), {n: status[n] for n in primes}


def trial_division(sign: int, lo: int, hi: int, depth: int) -> list[int | None]:
    """Smallest prime p <= depth dividing N with p != N (0: none); None where N < 2."""
    primes = [int(p) for p in small_primes(depth)]
    out: list[int | None] = []
    for n in range(lo, hi):
        N = number(sign, n)
        out.append(None if N < 2 else next((p for p in primes if N % p == 0 and N != p), 0))
    return out


@pytest.mark.parametrize("sign", [-1, 1])
@pytest.mark.parametrize(("lo", "hi", "depth", "segment", "batch"), [
    (0, 200, 3000, 1 << 22, 8192),  # tiny N = p among them: 7, 23, 47, 223, 3967 (never struck by themselves)
    (0, 90, 1500, 7, 5),  # many chunks and batches
    (500, 900, 20_000, 1 << 22, 64),
    (3000, 3001, 5000, 1 << 22, 8192),
])
def test_sieve_equals_trial_division(sign: int, lo: int, hi: int, depth: int, segment: int, batch: int) -> None:
    got = sieve_carol_kynea(sign, lo, hi, prime_chunks(2, depth, segment), batch=batch)
    assert got.dtype == np.int64 and got.shape == (hi - lo,)
    expected = trial_division(sign, lo, hi, depth)
    wrong = [(lo + i, int(g), e) for i, (g, e) in enumerate(zip(got, expected, strict=True)) if e is not None
             and int(g) != e]
    assert not wrong, wrong[:10]


@pytest.mark.parametrize("sign", [-1, 1])
def test_sieve_finds_factors_near_2_to_the_32(sign: int) -> None:
    """Primes between 2^30 and 2^32 (the uint32 and uint64 paths), planted from PARI's factorizations; Kynea
    n = 15 is itself a prime in that range and must stay unstruck."""
    top = 70  # N < 2^140: PARI factors each in milliseconds
    planted: dict[int, list[int]] = {}
    for n in range(2, top):
        for p in pari.factor(number(sign, n))[0]:
            if 2**30 < int(p) < 2**32:
                planted.setdefault(int(p), []).append(n)
    assert any(p > 2**31 for p in planted) and any(p < 2**31 for p in planted), planted
    got = sieve_carol_kynea(sign, 0, top, [np.array(sorted(planted), dtype=np.uint64)])
    expected = np.zeros(top, dtype=np.int64)
    for p in sorted(planted, reverse=True):
        for n in planted[p]:
            if number(sign, n) != p:
                expected[n] = p
    assert np.array_equal(got, expected), [(n, int(got[n]), int(expected[n])) for n in range(top)
                                           if got[n] != expected[n]]


def test_sieve_rejects_primes_from_2_to_the_32() -> None:
    with pytest.raises(ValueError, match="below 2\\^32"):
        sieve_carol_kynea(1, 10, 20, [np.array([2**32 + 15], dtype=np.uint64)])


@pytest.mark.parametrize("name", ["carol", "kynea"])
def test_certificates_verify_and_forgeries_are_rejected(name: str) -> None:
    form_cls, sign = FORMS[name]
    form = form_cls()
    oeis = FORM_CASES[name].oeis
    big = [n for n in oeis if number(sign, n) >= 2**64][:4] + [oeis[-1]]
    for n in big:
        out = form.test(n)
        assert out.result == PRIME and out.method == "morrison", out
        ok, why = form.verify(n, out.certificate)
        assert ok, why
        composite = next(m for m in range(n + 1, n + 50) if not is_prime_two_oracles(number(sign, m)))
        assert not form.verify(composite, out.certificate)[0]  # a proof of one N says nothing of another
        N = number(sign, n)
        P, Q = out.certificate["P"], out.certificate["Q"]
        residue_Q = next(q for q in range(2, 200)
                         if pari.kronecker(q, N) == 1 and pari.kronecker(P * P - 4 * q, N) == -1)
        residue_D = next(p for p in range(1, 200) if pari.kronecker(p * p - 4 * Q, N) == 1)
        forgeries = [
            {**out.certificate, "Q": residue_Q},  # (Q/N) = +1: U_((N+1)/2) = 0 mod N, the q = 2 condition fails
            {**out.certificate, "primes": [3]},  # 3 does not divide N+1: nothing factored
            {**out.certificate, "method": "pocklington"},
            {**out.certificate, "method": "proth"},
            {"method": "morrison"},  # fields missing: rejected, not a crash
            {"method": "bpsw-below-2^64"},
            {"method": "prp", "tests": ["fermat-3"]},
            {**out.certificate, "P": residue_D},  # (D/N) = +1: not Morrison's theorem
        ]
        for forged in forgeries:
            assert not form.verify(n, forged)[0], forged


def test_n_plus_1_is_more_than_half_factored() -> None:
    """N + 1 = 2^(n+1) * (2^(n-1) -+ 1), and F = 2^(n+1) > sqrt(N) + 1: Morrison with the prime 2 alone."""
    for form in (CarolForm(), KyneaForm()):
        for n in range(2, 400):
            N = number(form.sign, n)
            F = 2 ** (n + 1)
            assert (N + 1) % F == 0 and (N + 1) // F == 2 ** (n - 1) + form.sign
            assert F > math.isqrt(N) + 1
            K, e, c = form.binary_shape(n)
            assert K % 2 == 1 and K * 2**e + c == N and e == n + 1 and c == -1


def test_tiny_n() -> None:
    """Carol n = 0, 1 give N = -2, -1 (excluded with the reason); Kynea n = 0 gives N = 2 (prime); everything
    below 2^64 is decided by the deterministic test and never struck by its own value."""
    carol, kynea = CarolForm(), KyneaForm()
    assert "N < 2" in carol.excluded(0) and "= -2" in carol.excluded(0)
    assert "N < 2" in carol.excluded(1) and "= -1" in carol.excluded(1)
    assert kynea.excluded(0) is None and kynea.excluded(1) is None
    for form in (carol, kynea):
        assert number(form.sign, 31) < 2**64 < number(form.sign, 33)
        for n in range(0, 33):
            N = number(form.sign, n)
            if N < 2:
                continue
            out = form.test(n)
            if N >= 2**64:
                assert out.method != "bpsw-below-2^64"
                continue
            assert (out.result == PRIME) == is_prime_two_oracles(N), (form.name, n)
            assert out.method == "bpsw-below-2^64" and out.res64 == format(pow(3, N - 1, N) & MASK64, "016x")
            if out.result == PRIME:
                assert form.verify(n, out.certificate)[0]
                assert form.is_tiny_prime_equal(n, N) and form.residue_mod(n, N) == 0
    assert kynea.test(0).result == PRIME and kynea.number(0) == 2


def test_gerbicz_checks_pass_through_and_catch_a_fault() -> None:
    """test() hands check/faults to the shared checked Fermat test: a transient fault is rolled back."""
    form = KyneaForm()
    clean = form.test(467)
    faulty = form.test(467, TestOptions(faults=[Fault(iteration=300, bit=5)]))
    assert clean.result == faulty.result == PRIME and clean.res64 == faulty.res64
    assert faulty.rollbacks >= 1 and faulty.checks >= 1
    unchecked = form.test(467, TestOptions(check=False, faults=[Fault(iteration=300, bit=5)]))
    assert unchecked.res64 != clean.res64


def test_templates_parse_and_validation_names_the_fix() -> None:
    for name in ("carol", "kynea"):
        path = REPO / "campaigns" / f"{name}.toml"
        assert path.read_text().startswith("# ")
        spec = load_campaign(path)
        assert spec.form == name and spec.params == {} and 1_000 <= spec.sieve_depth < 2**32
        base = {"name": "x", "form": name, "n_min": 0, "n_max": 100, "block_size": 10}
        with pytest.raises(CampaignError, match="n_max.*lower n_max"):
            parse_campaign({**base, "n_max": 10**8})
        with pytest.raises(CampaignError, match="'c'"):
            parse_campaign({**base, "c": 1})


@pytest.mark.parametrize("form_cls", [CarolForm, KyneaForm])
def test_auto_sieve_depth_and_survival_fit_the_form(form_cls) -> None:
    """The depth model is deterministic and grows with n; survival_fraction matches what the sieve leaves."""
    ns = (1_000, 100_000, 1_000_000, 5_000_000)
    depths = [form_cls.auto_sieve_depth({}, n, n + 10_000, 1000) for n in ns]
    assert depths == [form_cls.auto_sieve_depth({}, n, n + 10_000, 1000) for n in ns]
    assert depths == sorted(depths) and 1_000 <= depths[0] and depths[-1] <= 2**32 - 1, depths
    form = form_cls()
    assert math.isclose(form.bits(1000), math.log2(number(form.sign, 1000)), abs_tol=1e-3)
    for depth in (1_000, 30_000):
        factors = form.sieve(20_000, 24_000, prime_chunks(2, depth))
        survived = float(np.mean(factors == 0))
        assert abs(survived / form.survival_fraction(depth) - 1) < 0.15, (depth, survived)
