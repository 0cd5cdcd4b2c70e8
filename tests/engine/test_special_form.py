"""Special-form arithmetic mod K*2^e+-1, the Proth witness and Rodseth's P, against plain gmpy2 and PARI."""

from __future__ import annotations

import random
import time

import gmpy2
import pytest
from gmpy2 import mpz
from oracles import pari

from darkreach_pipeline.primality.llr import llr_applies, rodseth_p
from darkreach_pipeline.primality.proth import proth_applies, proth_witness
from darkreach_pipeline.primality.special_form import (
    MAX_SPECIAL_K_BITS,
    SpecialModulus,
    power_chain,
    split_power_of_two,
)


def random_moduli(count: int, seed: int) -> list[tuple[int, int, int]]:
    """(K, e, c) with K odd in [1, 2^64), e in [1, 400], c = +-1, N > 2."""
    rng = random.Random(seed)
    out = [(1, 2, -1), (1, 1, 1), (3, 1, 1), (2**64 - 1, 1, 1), (2**64 - 1, 64, -1), (1, 127, -1), (3, 2, -1)]
    while len(out) < count:
        K = rng.randrange(1, 2 ** rng.randrange(1, 65)) | 1
        e = rng.choice([1, 2, 3, rng.randrange(1, 70), rng.randrange(1, 400)])
        c = rng.choice([1, -1])
        if (K << e) + c > 2:
            out.append((K, e, c))
    return out


def interesting_values(N: mpz, rng: random.Random) -> list[mpz]:
    values = [0, 1, 2, 3, N - 1, N - 2, N // 2, N // 2 + 1] + [rng.randrange(0, int(N)) for _ in range(6)]
    return [mpz(v) % N for v in values]


@pytest.mark.parametrize(("K", "e", "c"), random_moduli(60, seed=11))
def test_square_chain_is_bit_identical_to_powmod(K: int, e: int, c: int) -> None:
    m = SpecialModulus(K, e, c)
    N = (mpz(K) << e) + c
    assert m.N == N and SpecialModulus.applies(K, e)
    rng = random.Random(K ^ e)
    for x in interesting_values(N, rng):
        for count in (0, 1, 2, 5, 17, 64):
            got = m.square_chain(x, count)
            assert got == gmpy2.powmod(x, mpz(2) ** count, N), (x, count)
            assert 0 <= got < N


@pytest.mark.parametrize(("K", "e", "c"), random_moduli(60, seed=12))
def test_lucas_chain_is_bit_identical_to_plain_recurrence(K: int, e: int, c: int) -> None:
    m = SpecialModulus(K, e, c)
    N = m.N
    rng = random.Random(K + e)
    for u0 in interesting_values(N, rng):
        u = u0
        for count in (0, 1, 3, 20):
            expected = u0
            for _ in range(count):
                expected = (expected * expected - 2) % N
            got = m.lucas_chain(u, count)
            assert got == expected, (u0, count)
            assert 0 <= got < N


@pytest.mark.parametrize(("K", "e", "c"), random_moduli(40, seed=13))
def test_reduce_is_plain_remainder(K: int, e: int, c: int) -> None:
    m = SpecialModulus(K, e, c)
    N = m.N
    rng = random.Random(K * 3 + e)
    for x in interesting_values(N, rng):
        for y in interesting_values(N, rng)[:6]:
            assert m.reduce(x * y) == (x * y) % N


@pytest.mark.parametrize(("K", "e", "c"), random_moduli(30, seed=14))
def test_power_chain_is_powmod(K: int, e: int, c: int) -> None:
    N = (mpz(K) << e) + c
    for base in (2, 3, 5, 7):
        assert power_chain(base, K, e, N) == gmpy2.powmod(base, mpz(K) << e, N)
        if e > 1:
            assert power_chain(base, K, e - 1, N) == gmpy2.powmod(base, mpz(K) << (e - 1), N)  # not special
    other = N + 2  # not of the form K*2^e +- 1: the generic path
    assert power_chain(3, K, e, other) == gmpy2.powmod(3, mpz(K) << e, other)


def test_applies_boundary() -> None:
    assert MAX_SPECIAL_K_BITS == 64
    assert SpecialModulus.applies(2**64 - 1, 10)
    assert not SpecialModulus.applies(2**64 + 1, 10)
    assert not SpecialModulus.applies(3, 0)
    # Wider K still gives correct residues through power_chain (generic reduction).
    K, e = 2**64 + 1, 100
    for c in (1, -1):
        N = (mpz(K) << e) + c
        assert power_chain(3, K, e, N) == gmpy2.powmod(3, mpz(K) << e, N)


def test_split_power_of_two() -> None:
    rng = random.Random(3)
    cases = [(1, 2, 0), (1, 2, 10), (3, 4, 5), (12, 8, 7), (5, 6, 9), (2**62, 2, 3), (7, 3, 0), (2, 3, 4), (48, 12, 6)]
    cases += [(rng.randrange(1, 2**62), rng.randrange(2, 2**31), rng.randrange(0, 40)) for _ in range(300)]
    for k, b, n in cases:
        K, e = split_power_of_two(k, b, n)
        assert K % 2 == 1 and e >= 0
        assert K << e == k * b**n, (k, b, n)
        value, twos = k * b**n, 0
        while value % 2 == 0:
            value //= 2
            twos += 1
        assert (K, e) == (value, twos)


# ----- Proth witness ----------------------------------------------------------------------------


def test_proth_witness_is_none_on_perfect_squares() -> None:
    for K, e in [(3, 3), (5, 4), (7, 5)]:  # 25, 81, 225
        N = mpz(K) * 2**e + 1
        assert gmpy2.is_square(N) and proth_applies(K, e)
        assert proth_witness(N) is None
    started = time.perf_counter()
    for a in range(40, 400, 7):  # (2^a+1)^2 = (2^(a-1)+1)*2^(a+1)+1, a Proth-form square: no non-residue exists
        K, e = 2 ** (a - 1) + 1, a + 1
        N = mpz(K) * 2**e + 1
        assert N == (mpz(2) ** a + 1) ** 2 and proth_applies(K, e)
        assert proth_witness(N) is None
    assert time.perf_counter() - started < 2.0


def test_proth_witness_is_smallest_non_residue_from_3() -> None:
    rng = random.Random(8)
    checked = 0
    for _ in range(400):
        K = rng.randrange(1, 2**20) | 1
        e = rng.randrange(21, 200)
        N = mpz(K) * 2**e + 1
        a = proth_witness(N)
        first = next(x for x in range(3, 10_000) if pari.kronecker(x, int(N)) != 1)  # by PARI
        if a is None:
            # A square, or a common factor with N turns up before any non-residue.
            assert gmpy2.is_square(N) or pari.kronecker(first, int(N)) == 0, (K, e)
            continue
        checked += 1
        assert a == first and pari.kronecker(a, int(N)) == -1, (K, e, a)
    assert checked > 100


def test_proth_witness_certifies_pari_primes() -> None:
    for n in range(20, 300):
        N = 3 * 2**n + 1
        if not pari.isprime(N):
            continue
        a = proth_witness(mpz(N))
        assert a is not None
        assert gmpy2.powmod(a, (N - 1) // 2, N) == N - 1


def test_applies_predicates() -> None:
    assert proth_applies(1, 1) and proth_applies(2**10 - 1, 10)
    assert not proth_applies(2**10 + 1, 10) and not proth_applies(4, 10) and not proth_applies(1, 0)
    assert llr_applies(7, 3) and llr_applies(1, 3)
    assert not llr_applies(9, 3) and not llr_applies(3, 2) and not llr_applies(6, 10)


# ----- Rodseth's P ------------------------------------------------------------------------------


def rodseth_ok(P: int, N: int) -> bool:
    return pari.kronecker(P - 2, N) == 1 and pari.kronecker(P + 2, N) == -1


def test_rodseth_p_is_4_when_3_does_not_divide_k() -> None:
    rng = random.Random(21)
    seen_3_qualifies = 0
    for _ in range(500):
        K = rng.randrange(1, 2**30) | 1
        if K % 3 == 0:
            continue
        e = rng.randrange(3, 120)
        N = K * 2**e - 1
        if N % 3 == 0:  # then N is composite and no P qualifies with 4
            continue
        assert rodseth_p(mpz(N)) == 4, (K, e)
        assert rodseth_ok(4, N)
        seen_3_qualifies += rodseth_ok(3, N)  # P = 3 would also qualify: 4 is still the choice (LLR's)
    assert seen_3_qualifies > 50
    assert rodseth_p(mpz(2**7 - 1)) == 4  # Jacobi(5, 127) = -1, so 3 qualifies too


def test_rodseth_p_when_3_divides_k_is_smallest_qualifying() -> None:
    rng = random.Random(22)
    for _ in range(300):
        K = 3 * (rng.randrange(1, 2**30) | 1)
        e = rng.randrange(K.bit_length() + 1, 150)
        N = K * 2**e - 1
        P = rodseth_p(mpz(N))
        smallest = next((q for q in range(3, 10_000) if rodseth_ok(q, N)), None)
        assert P == smallest, (K, e)
        assert P != 4 and not rodseth_ok(4, N)  # 3 | K makes Jacobi(6, N) = +1
