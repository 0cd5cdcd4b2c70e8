"""Known answers for FactorialForm (n!+1, n!-1), checked against two independent oracles and OEIS.

The expected primes are never typed in from the engine: each n!+c is built with math.factorial
and decided by PARI/GP (isprime: a proof; for n!+1 its own Pocklington-Lehmer test, flag 1) and by
gmpy2.is_prime, which must agree. The engine then runs exactly as the pipeline does (candidate,
sieve, test and certificate frames of a parsed campaign), and its full result set must equal the
oracles', which must equal OEIS A002981 / A002982 on the range (cases "factorial+1" / "factorial-1" of
tests/oracles.py, checked in test_known_answer_table.py; this file checks the rest of the same runs).
"""

from __future__ import annotations

import json
import math
import random

import gmpy2
import numpy as np
import pandas as pd
import pytest
from gmpy2 import mpz
from oracles import FORM_CASES, FormCase, case_run, is_prime_two_oracles, oracle_values, pari, pari_res64

from darkreach_pipeline.blocks import FACTOR, SURVIVOR
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.forms.factorial import FactorialForm
from darkreach_pipeline.primality.outcome import COMPOSITE, PRIME
from darkreach_pipeline.sieve.carried_product import remainders, walk
from darkreach_pipeline.sieve.primes import prime_chunks

MASK64 = (1 << 64) - 1
N_MAX = FORM_CASES["factorial+1"].axis_range[1]


def case(c: int) -> FormCase:
    return FORM_CASES[f"factorial{c:+d}"]


def truly_prime(N: int, c: int) -> bool:
    return is_prime_two_oracles(N, case(c).prove_up_to_bits, case(c).pari_flag)


def expected_primes(c: int) -> set[int]:
    return oracle_values(case(c))


def campaign(c: int, n_min: int = 0, n_max: int = N_MAX, depth: int | str = 20_000, block_size: int = 100):
    return parse_campaign({"name": f"ka-factorial-{'plus' if c == 1 else 'minus'}", "form": "factorial", "c": c,
                           "n_min": n_min, "n_max": n_max, "block_size": block_size, "sieve_depth": depth})


def run_campaign(c: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The table case's blocks through the four stages and their audits: (sieved, results, certificates)."""
    run = case_run(f"factorial{c:+d}")
    return run.sieved, run.results, run.certs


@pytest.mark.parametrize("c", [1, -1], ids=["n!+1", "n!-1"])
def test_every_prime_is_proven_and_every_row_carries_the_pari_residue(c: int) -> None:
    """The table run (whose primes test_known_answer_table checks against the oracles and OEIS), row by row."""
    expected = expected_primes(c)
    sieved, results, certs = run_campaign(c)
    assert sorted(sieved["n"].astype(int)) == list(range(N_MAX + 1))
    # Every prime is proven, and the independent verifier accepted every proof.
    assert set(results.loc[results["result"] == PRIME, "n"].astype(int)) == expected
    assert (certs["status"] == "proven").all() and certs["verified"].all(), certs
    for row in results[results["result"] == PRIME].to_dict("records"):
        proof = "pocklington" if c == 1 else "morrison"
        method = "bpsw-below-2^64" if math.factorial(row["n"]) + c < 2**64 else proof
        assert row["method"] == method, row
        assert json.loads(row["certificate"])["method"] == method
    # RES64 is 3^(N-1) mod N of n!+c for every tested row (PARI's residue).
    for row in results.to_dict("records"):
        N = math.factorial(int(row["n"])) + c
        assert row["res64"] == pari_res64(N), row["expression"]
        assert row["expression"] == f"{row['n']}!{'+' if c == 1 else '-'}1"
        assert row["digits"] == len(str(N))


@pytest.mark.parametrize("c", [1, -1], ids=["n!+1", "n!-1"])
def test_sieve_factors_divide_and_never_strike_a_prime(c: int) -> None:
    sieved, _, _ = run_campaign(c)
    expected = expected_primes(c)
    struck = sieved[sieved["status"] == FACTOR]
    assert len(struck) > N_MAX // 4  # the sieve did real work
    for n, p in zip(struck["n"].astype(int), struck["factor"].astype(int), strict=True):
        N = math.factorial(n) + c
        assert p > n, f"{n}!{c:+d}: a prime <= n ({p}) never divides it"
        assert N % p == 0 and N != p, f"{n}!{c:+d}: claimed factor {p}"
        assert n not in expected
    excluded = sieved[sieved["status"] == "excluded"]
    assert set(excluded["n"].astype(int)) == ({0, 1, 2} if c == -1 else set())
    assert set(expected) <= set(sieved.loc[sieved["status"] == SURVIVOR, "n"].astype(int))


def test_tiny_n() -> None:
    """0!+1 = 1!+1 = 2 and 2!+1 = 3 are prime, never struck by themselves; 0!-1 = 1!-1 = 0 and 2!-1 = 1
    are excluded; 3!-1 = 5 is the Wilson prime n+2 = 5 itself."""
    plus, minus = FactorialForm(1), FactorialForm(-1)
    factors = plus.sieve(0, 12, prime_chunks(2, 1000))
    for n in (0, 1, 2, 3):
        assert plus.excluded(n) is None and factors[n] == 0
        outcome = plus.test(n)
        assert outcome.result == PRIME and outcome.method == "bpsw-below-2^64"
        assert plus.verify(n, outcome.certificate)[0]
    assert factors[4] == 5  # 4!+1 = 25: Wilson, 5 = n+1
    for n in (0, 1, 2):
        assert minus.excluded(n) is not None and "< 2" in minus.excluded(n)
    factors = minus.sieve(0, 12, prime_chunks(2, 1000))
    assert factors[3] == 0 and minus.test(3).result == PRIME  # 3!-1 = 5 = n+2 is prime
    assert factors[5] == 7  # 5!-1 = 119 = 7*17: Wilson, (q-2)! = 1 mod q for q = 7
    assert minus.test(4).result == PRIME  # 23


@pytest.mark.parametrize("c", [1, -1])
def test_wilson_factor_beyond_the_sieve_depth(c: int) -> None:
    """n+1 prime divides n!+1 and n+2 prime divides n!-1 ((q-1)! = -1, (q-2)! = 1 mod q): struck even when
    the sieve stops below q."""
    form = FactorialForm(c)
    lo, hi = 100, 200
    factors = form.sieve(lo, hi, prime_chunks(2, 50))
    shift = 1 if c == 1 else 2
    wilson = [n for n in range(lo, hi) if gmpy2.is_prime(n + shift)]
    assert len(wilson) >= 15
    for n in wilson:
        assert factors[n - lo] == n + shift
    for n in set(range(lo, hi)) - set(wilson):
        assert factors[n - lo] == 0  # primes <= 50 never divide n!+-1 for n >= 50


def test_pocklington_base_must_exceed_n() -> None:
    """For N = n!+1 prime (n >= 4) every a <= n is a square mod N, so a^((N-1)/2) = 1 and no base <= n can
    prove anything about the prime 2 of N-1: the engine's certificate must use larger bases, and the verifier
    must reject one whose bases are all <= n."""
    form = FactorialForm(1)
    for n in (27, 37, 41, 73, 77):
        N = math.factorial(n) + 1
        assert all(pari.kronecker(a, N) == 1 for a in range(2, n + 1))
        outcome = form.test(n)
        assert outcome.result == PRIME and outcome.method == "pocklington", outcome
        ok, reason = form.verify(n, outcome.certificate)
        assert ok, reason
        bases = certificate_bases(outcome.certificate)
        assert any(a > n for a in bases), outcome.certificate
        for small in (2, 3, n):
            assert not form.verify(n, with_bases(outcome.certificate, small))[0], f"base {small} accepted for {n}!+1"


def test_morrison_discriminant_must_reach_past_n() -> None:
    """For N = n!-1 prime every q <= n is a square mod N, so D = P^2-4 = (P-2)(P+2) is one for P <= n-2 and
    (P, 1) proves nothing: the engine's (P, Q) must give (D/N) = -1 (PARI's Kronecker symbol)."""
    form = FactorialForm(-1)
    for n in (94, 166):
        N = math.factorial(n) - 1
        assert all(pari.kronecker(P * P - 4, N) == 1 for P in range(3, n - 1))
        outcome = form.test(n)
        assert outcome.result == PRIME and outcome.method == "morrison", outcome
        P, Q = int(outcome.certificate["P"]), int(outcome.certificate.get("Q", 1))
        assert pari.kronecker(P * P - 4 * Q, N) == -1
        assert form.verify(n, outcome.certificate)[0]
        assert not form.verify(n, {**outcome.certificate, "P": 5, "Q": 1})[0]


@pytest.mark.parametrize("c", [1, -1])
def test_corrupted_certificates_are_rejected(c: int) -> None:
    form = FactorialForm(c)
    n = 73 if c == 1 else 94
    outcome = form.test(n)
    assert outcome.result == PRIME
    certificate = outcome.certificate
    assert form.verify(n, certificate)[0]
    assert not form.verify(n + 1, certificate)[0], "a proof of another number"
    for corrupted in corruptions(certificate, n):
        assert not form.verify(n, corrupted)[0], corrupted
    assert not form.verify(n, {"method": "prp", "tests": ["fermat-3", "strong-bpsw"]})[0]
    assert not form.verify(n, {"method": "bpsw-below-2^64"})[0]


@pytest.mark.parametrize(("n", "c"), [(320, 1), (340, 1)])
def test_oeis_terms_beyond_the_range_are_proven(n: int, c: int) -> None:
    """Larger OEIS terms (665 and 715 digits): PARI's Pocklington-Lehmer and gmpy2 agree, and the engine proves
    them with a certificate its verifier accepts. (399!+1, 324!-1 and 379!-1 would cost 5-10 s each under load,
    mostly in the verifier; the range test proves 94!-1 and 166!-1.)"""
    assert truly_prime(math.factorial(n) + c, c)
    form = FactorialForm(c)
    outcome = form.test(n)
    assert outcome.result == PRIME and outcome.method == ("pocklington" if c == 1 else "morrison"), outcome
    assert outcome.res64 == "0000000000000001"
    assert form.verify(n, outcome.certificate)[0]
    assert not truly_prime(math.factorial(n + 1) + c, c)
    assert form.test(n + 1).result == COMPOSITE


@pytest.mark.parametrize(("q_top", "m_top"), [(2**32, 2**23), (2**32, 2**20), (2**26, 2**25), (2**20, 2**19)])
@pytest.mark.parametrize("c", [1, -1])
def test_carried_product_arithmetic_at_the_limits(q_top: int, m_top: int, c: int) -> None:
    """The sieve's mulmod is exact in float64 while q*m < 2^52 and in uint64 beyond (p# near 2^23 needs it):
    hits planted at random steps for primes just below q_top, and every other step, agree with Python ints."""
    rng = random.Random(q_top + m_top + c)
    q = [int(gmpy2.prev_prime(q_top))]
    while len(q) < 300:
        q.append(int(gmpy2.prev_prime(q[-1])))
    q.reverse()
    multipliers = [rng.randrange(2, m_top) for _ in range(40)]
    prefix = [math.prod(multipliers[: i + 1]) for i in range(40)]
    start = [-c * pow(prefix[rng.randrange(40)], -1, p) % p for p in q]  # F(v) = -c at one planted step
    expected = {(i, j) for j, p in enumerate(q) for i in range(40) if (start[j] * prefix[i] + c) % p == 0}
    assert len(expected) >= len(q)
    arithmetics = [None, False] + ([True] if q_top * m_top <= 2**52 else [])
    for use_float in arithmetics:
        steps, cols = walk(np.array(start, dtype=np.uint64), np.array(q, dtype=np.uint64), multipliers, c, use_float)
        assert set(zip(steps.tolist(), cols.tolist(), strict=True)) == expected, use_float
    if q_top * m_top > 2**54:  # why the uint64 fallback exists: float64 loses the low bits there
        steps, cols = walk(np.array(start, dtype=np.uint64), np.array(q, dtype=np.uint64), multipliers, c, True)
        assert set(zip(steps.tolist(), cols.tolist(), strict=True)) != expected
    x = mpz(rng.getrandbits(5000))
    assert remainders(x, np.array(q, dtype=np.uint64)).tolist() == [int(x) % p for p in q]
    assert remainders(x, np.array(q[:7], dtype=np.uint64)).tolist() == [int(x) % p for p in q[:7]]
    assert remainders(mpz(12345), np.array(q[:3], dtype=np.uint64)).tolist() == [12345 % p for p in q[:3]]


def test_campaign_validation_names_the_fix() -> None:
    with pytest.raises(CampaignError, match="'c'.*\\+1 or -1"):
        campaign(2)
    with pytest.raises(CampaignError, match="n_max.*use n_max <= 500,000"):
        campaign(1, n_max=10**6, depth=1000, block_size=1000)
    with pytest.raises(CampaignError, match="n_max.*no candidate"):
        campaign(-1, n_max=2, depth=1000)
    spec = campaign(1, n_min=1000, n_max=3000, depth="auto", block_size=500)
    assert 10**6 < spec.sieve_depth < 2**32
    small = campaign(1, n_min=0, n_max=400, depth="auto")
    assert small.sieve_depth >= 1000


def test_template_campaign_parses() -> None:
    import tomllib
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "campaigns" / "factorial.toml").read_text()
    assert text.startswith("#")
    spec = parse_campaign(tomllib.loads(text))
    assert spec.form == "factorial" and spec.axis == "n"


# ----- certificate surgery (the shared Pocklington / Morrison certificate format) -----------------------------


def certificate_bases(certificate: dict) -> set[int]:
    return {int(a) for a in certificate["bases"].values()}


def with_bases(certificate: dict, a: int) -> dict:
    return {**certificate, "bases": {q: a for q in certificate["bases"]}}


def corruptions(certificate: dict, n: int) -> list[dict]:
    """Certificates for n!+-1 that must not verify: too few primes (F below sqrt(N)), a composite or a
    non-divisor listed as a prime, the other theorem's name, and wrong or missing bases / parameters."""
    N = math.factorial(n) + (1 if certificate["method"] == "pocklington" else -1)
    primes = list(certificate["primes"])
    out = [
        {**certificate, "primes": primes[:1]},
        {**certificate, "primes": too_few(primes, N - 1 if certificate["method"] == "pocklington" else N + 1, N)},
        {**certificate, "primes": [*primes, 15]},
        {**certificate, "primes": [*primes, int(gmpy2.next_prime(n))]},
        {**certificate, "method": "morrison" if certificate["method"] == "pocklington" else "pocklington"},
    ]
    if certificate["method"] == "pocklington":
        out += [
            with_bases(certificate, 4),  # a square never proves the prime 2 of N-1
            with_bases(certificate, 1),
            {**certificate, "bases": {**certificate["bases"], "2": 4}},
            {**certificate, "bases": {q: a for q, a in certificate["bases"].items() if q != "2"}},
            {**certificate, "bases": {q: a for q, a in certificate["bases"].items() if q != str(primes[-1])}},
        ]
    else:
        P, Q = int(certificate["P"]), int(certificate["Q"])
        square_D = next(x for x in range(P + 1, P + 1000) if pari.kronecker(x * x - 4 * Q, N) == 1)
        out += [
            {**certificate, "P": square_D},  # (D/N) = +1: no proof
            {**certificate, "Q": 4},  # a square Q: U_((N+1)/2) = 0
            {**certificate, "P": 3, "Q": 1},  # D = 5 <= n is a square mod n!-1
            {key: value for key, value in certificate.items() if key != "P"},
        ]
    return out


def too_few(primes: list[int], M: int, N: int) -> list[int]:
    """The certificate's primes without the smallest ones, until their part of M = N-+1 is below sqrt(N)."""
    kept = list(primes)
    while math.prod(int(q) ** gmpy2.remove(M, q)[1] for q in kept) ** 2 > N:
        kept = kept[1:]
    assert kept, "dropping every prime is tested separately"
    return kept
