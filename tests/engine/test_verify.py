"""The certificate verifier: true certificates pass, forged ones fail; its Miller-Rabin and Lucas ladder
against gmpy2 and PARI/GP."""

from __future__ import annotations

import random

import gmpy2
import pytest
from gmpy2 import mpz
from oracles import is_prime_two_oracles, pari

from darkreach_pipeline.forms.kbn import KbnForm
from darkreach_pipeline.proofs.certificate_check import (
    MR_BASES,
    lucas_v,
    miller_rabin_deterministic,
    shape_squarings,
    verify_kbn,
)


def primes_of(k: int, b: int, c: int, ns: range) -> list[int]:
    return [n for n in ns if is_prime_two_oracles(k * b**n + c)]


def kronecker(a: int, N: int) -> int:
    return int(pari.kronecker(a, N))


def non_residues(N: int, count: int) -> list[int]:
    return [a for a in range(2, 10_000) if kronecker(a, N) == -1][:count]


def rodseth_ok(P: int, N: int) -> bool:
    return kronecker(P - 2, N) == 1 and kronecker(P + 2, N) == -1


def strong_probable_prime(N: int, a: int) -> bool:
    d, s = N - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    x = pow(a, d, N)
    if x in (1, N - 1):
        return True
    for _ in range(s - 1):
        x = x * x % N
        if x == N - 1:
            return True
    return False


# ----- Proth ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("k", "ns"), [(3, range(64, 450)), (15, range(60, 350)), (81, range(60, 300))])
def test_proth_certificates(k: int, ns: range) -> None:
    primes = primes_of(k, 2, 1, ns)
    assert len(primes) >= 3
    form = KbnForm(k, 2, 1)
    for n in primes:
        N = k * 2**n + 1
        out = form.test(n)
        assert out.result == "prime" and out.method == "proth"
        assert verify_kbn(k, 2, 1, n, out.certificate)[0]
        for a in non_residues(N, 3):  # Proth's theorem holds for any witness with a^((N-1)/2) = -1
            assert verify_kbn(k, 2, 1, n, {"method": "proth", "witness": a})[0]
        residues = [a for a in range(2, 60) if kronecker(a, N) == 1]
        assert 4 in residues
        for a in residues:  # a^((N-1)/2) = +1: no proof
            assert not verify_kbn(k, 2, 1, n, {"method": "proth", "witness": a})[0], a
        for wrong_n in (n - 1, n + 1):  # the certificate belongs to one number
            if not is_prime_two_oracles(k * 2**wrong_n + 1):
                assert not verify_kbn(k, 2, 1, wrong_n, out.certificate)[0]
        assert not verify_kbn(k, 2, -1, n, out.certificate)[0]  # Proth is for +1


def test_proth_rejected_on_composites() -> None:
    for n in range(64, 200):
        N = 3 * 2**n + 1
        if is_prime_two_oracles(N):
            continue
        for a in (3, 5, 7, 10, 11):
            assert not verify_kbn(3, 2, 1, n, {"method": "proth", "witness": a})[0]


def test_proth_rejected_when_k_is_not_below_2_to_the_e() -> None:
    """N prime and a^((N-1)/2) = -1 holds, but with K >= 2^e Proth's theorem proves nothing."""
    cases = [(1003, n) for n in primes_of(1003, 2, 1, range(1, 10))]
    cases += [(k, n) for k in range(2**61 + 1, 2**61 + 20, 2) for n in primes_of(k, 2, 1, range(3, 61))]
    assert len(cases) >= 5
    for k, n in cases:
        N = k * 2**n + 1
        assert k >= 2**n
        a = non_residues(N, 1)[0]
        assert gmpy2.powmod(a, (N - 1) // 2, N) == N - 1  # the arithmetic alone would pass
        ok, reason = verify_kbn(k, 2, 1, n, {"method": "proth", "witness": a})
        assert not ok and "K < 2^e" in reason


# ----- LLR --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("k", "ns"), [(3, range(64, 400)), (1, range(64, 530)), (5, range(60, 400)),
                                       (9, range(60, 350))])
def test_llr_certificates(k: int, ns: range) -> None:
    primes = primes_of(k, 2, -1, ns)
    assert len(primes) >= 2
    form = KbnForm(k, 2, -1)
    for n in primes:
        N = k * 2**n - 1
        out = form.test(n)
        assert out.result == "prime" and out.method == "llr"
        assert rodseth_ok(out.certificate["P"], N)
        assert verify_kbn(k, 2, -1, n, out.certificate)[0]
        for P in range(3, 25):
            ok, reason = verify_kbn(k, 2, -1, n, {"method": "llr", "P": P})
            if rodseth_ok(P, N):  # Rodseth's theorem: any such P proves N
                assert ok, (n, P, reason)
            else:
                assert not ok and "Jacobi" in reason, (n, P)
        assert not verify_kbn(k, 2, 1, n, out.certificate)[0]  # LLR is for -1


def test_llr_rejected_on_composites() -> None:
    for n in range(64, 200):
        N = 3 * 2**n - 1
        if is_prime_two_oracles(N):
            continue
        for P in range(3, 30):
            if rodseth_ok(P, N):
                assert not verify_kbn(3, 2, -1, n, {"method": "llr", "P": P})[0]


def test_llr_rejected_outside_the_theorem() -> None:
    cases = [(1003, n) for n in primes_of(1003, 2, -1, range(1, 10))]  # K >= 2^e
    cases += [(k, n) for k in range(2**61 + 1, 2**61 + 60, 2) for n in primes_of(k, 2, -1, range(3, 61))]
    assert len(cases) >= 3
    for k, n in cases:
        N = k * 2**n - 1
        for P in [q for q in range(3, 40) if rodseth_ok(q, N)]:
            ok, reason = verify_kbn(k, 2, -1, n, {"method": "llr", "P": P})
            assert not ok and "K < 2^e" in reason
    assert is_prime_two_oracles(3 * 2**2 - 1)  # 11 = 3*2^2-1: K < 2^e, but e = 2 < 3
    ok, reason = verify_kbn(3, 2, -1, 2, {"method": "llr", "P": 5})
    assert not ok and "e >= 3" in reason


# ----- other methods ----------------------------------------------------------------------------


def test_probable_prime_certificates_are_not_proofs() -> None:
    form = KbnForm(5, 6, 1)
    prps = [n for n in primes_of(5, 6, 1, range(25, 220)) if form.excluded(n) is None]
    assert prps
    for n in prps:
        out = form.test(n)
        assert out.result == "probable-prime" and out.certificate["method"] == "prp"
        ok, reason = verify_kbn(5, 6, 1, n, out.certificate)
        assert not ok and "not a primality proof" in reason
    for certificate in ({}, {"method": None}, {"method": "ecpp"}, {"method": "PROTH", "witness": 3}):
        assert not verify_kbn(3, 2, 1, 534, certificate)[0]


def test_below_2_to_the_64_certificates() -> None:
    cert = {"method": "bpsw-below-2^64"}
    small = primes_of(3, 2, 1, range(0, 62))
    assert small
    for n in range(0, 62):
        assert verify_kbn(3, 2, 1, n, cert)[0] == (n in small)
    # 2047 = 2046*2^0+1 and 3215031751 are strong pseudoprimes to base 2.
    for N in (2047, 3215031751, 3825123056546413051):
        assert strong_probable_prime(N, 2) and not is_prime_two_oracles(N)
        assert not verify_kbn(N - 1, 2, 1, 0, cert)[0]
    big = 3 * 2**534 + 1  # prime, but not below 2^64: this method is not valid for it
    assert is_prime_two_oracles(big)
    ok, reason = verify_kbn(3, 2, 1, 534, cert)
    assert not ok and "2^64" in reason


# ----- Miller-Rabin -----------------------------------------------------------------------------


def test_miller_rabin_small_numbers() -> None:
    for N in range(-5, 20_000):
        assert miller_rabin_deterministic(N) == is_prime_two_oracles(N), N


def test_miller_rabin_random_64_bit() -> None:
    rng = random.Random(64)
    numbers = [rng.randrange(0, 2**64) for _ in range(10_000)]
    numbers += [rng.randrange(2**63, 2**64) | 1 for _ in range(10_000)]
    numbers += [int(gmpy2.next_prime(rng.randrange(2**32, 2**64 - 2**40))) for _ in range(300)]
    primes = 0
    for N in numbers:
        expected = bool(gmpy2.is_prime(N, 30))
        assert miller_rabin_deterministic(N) == expected, N
        primes += expected
    assert primes > 700
    sample = numbers[::20]
    assert all(bool(pari.isprime(N)) == miller_rabin_deterministic(N) for N in sample)


def test_miller_rabin_strong_pseudoprimes() -> None:
    spsp2 = [N for N in range(3, 2_000_000, 2) if gmpy2.is_strong_prp(N, 2) and not gmpy2.is_prime(N)]
    assert 2047 in spsp2 and len(spsp2) > 40
    for N in spsp2:
        assert not miller_rabin_deterministic(N), N
    # Strong pseudoprimes to many of the first prime bases, with that property re-checked here.
    for N, fooled_through in [(3215031751, 7), (3825123056546413051, 31), (318665857834031151167461, 37)]:
        assert not is_prime_two_oracles(N)
        assert all(strong_probable_prime(N, a) for a in MR_BASES if a <= fooled_through)
        assert not miller_rabin_deterministic(N)
    # Products of two large primes and Carmichael numbers (6m+1)(12m+1)(18m+1) below 2^64.
    rng = random.Random(9)
    for _ in range(500):
        p = int(gmpy2.next_prime(rng.randrange(2**20, 2**32)))
        q = int(gmpy2.next_prime(rng.randrange(2**20, 2**32)))
        assert not miller_rabin_deterministic(p * q)
    carmichaels = 0
    for m in range(1, 20_000):
        factors = (6 * m + 1, 12 * m + 1, 18 * m + 1)
        if all(gmpy2.is_prime(f) for f in factors):
            N = factors[0] * factors[1] * factors[2]
            assert pow(2, N - 1, N) == 1 and not miller_rabin_deterministic(N)
            carmichaels += 1
    assert carmichaels > 20


def test_miller_rabin_bound_and_why_it_is_never_used_above_2_to_the_64() -> None:
    """The 13 bases are fooled at 3317044064679887385961981 (> 2^64), so verify_kbn must refuse the method there."""
    psi13 = 3317044064679887385961981
    assert not is_prime_two_oracles(psi13)
    assert all(strong_probable_prime(psi13, a) for a in MR_BASES)
    assert miller_rabin_deterministic(psi13)  # the documented bound is sharp
    ok, _ = verify_kbn(psi13 - 1, 2, 1, 0, {"method": "bpsw-below-2^64"})
    assert not ok


# ----- Lucas ladder -----------------------------------------------------------------------------


def test_lucas_v_against_gmpy2_pari_and_the_recurrence() -> None:
    rng = random.Random(17)
    for _ in range(300):
        N = mpz(rng.randrange(3, 2**200) | 1)
        P = rng.randrange(3, 1000)
        K = rng.choice([0, 1, 2, 3, rng.randrange(1, 2**16), rng.randrange(1, 2**64)])
        v = lucas_v(P, K, N)
        assert v == gmpy2.lucasv_mod(P, 1, K, N) % N, (P, K)
        # V_K = trace([P, -1; 1, 0]^K), by PARI
        assert v == int(pari(f"lift(trace(Mod([{P}, -1; 1, 0], {N})^{K}))")), (P, K)
        if K < 200:
            a, b = mpz(2), mpz(P)
            for _ in range(K):
                a, b = b, (P * b - a)
            assert v == a % N


@pytest.mark.parametrize("c", [1, -1])
def test_shape_squarings_match_generic_arithmetic(c):
    """The verifier's own K*2^e+-1 reduction against plain `% N`, for small and 70-bit K, with and without the
    LLR subtraction, from random and edge starts."""
    rng = random.Random(7)
    for K in (1, 3, 1005, (1 << 69) + 3):
        for e in (5, 64, 1000, 3001):
            N = (mpz(K) << e) + c
            for x in (mpz(0), mpz(1), N - 1, mpz(rng.randrange(N))):
                for minus in (0, 2):
                    expected = x
                    for _ in range(25):
                        expected = (expected * expected - minus) % N
                    assert shape_squarings(x, 25, K, e, c, minus) == expected, (K, e, c, x, minus)
