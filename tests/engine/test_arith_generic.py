"""The generic FFT arithmetic (darkreach_pipeline/arith/generic_fft.py) modulo N of no special shape against
gmpy2, bit-exact."""

from __future__ import annotations

import random

import gmpy2
import numpy as np
import pytest
from gmpy2 import mpz

from darkreach_pipeline.arith import RoundoffError
from darkreach_pipeline.arith.generic_fft import GUARD_BITS, MIN_BITS, GenericFFTArithmetic, generic_arithmetic
from darkreach_pipeline.arith.ibdwt import _smooth_lengths, choose_length
from darkreach_pipeline.primality.outcome import res64


def random_modulus(bits: int, rng: random.Random) -> mpz:
    return mpz(rng.getrandbits(bits)) | 1 | (mpz(1) << (bits - 1))


def boundary_bits(near: int) -> int:
    """The largest bits(N) whose transform still gets the FFT length chosen for `near`: words at their widest."""
    L = choose_length(near + GUARD_BITS, 1, 1)
    bits = near
    while choose_length(bits + 1 + GUARD_BITS, 1, 1) == L:
        bits += 1
    return bits


def structured_moduli() -> list[mpz]:
    """n!+-1, p#+-1, a base-10 repunit, a palindrome, a near-power of two: data that is far from random."""
    return [gmpy2.fac(300) + 1, gmpy2.fac(400) - 1, gmpy2.primorial(1000) + 1, gmpy2.primorial(1500) - 1,
            (mpz(10) ** 400 - 1) // 9, mpz(int("1" + "0" * 300 + "8" + "0" * 300 + "1")), (mpz(1) << 2000) - 3]


def edge_values(N: mpz, rng: random.Random) -> list[mpz]:
    s = N.bit_length()
    return [mpz(v) % N for v in (0, 1, 2, N - 1, N - 2, N // 2, mpz(1) << (s - 1), (mpz(1) << (s - 1)) - 1,
                                  (mpz(1) << (s // 2)) - 1, rng.randrange(N), rng.randrange(N))]


def check_operations(a: GenericFFTArithmetic, rng: random.Random) -> None:
    N = a.N
    for x in edge_values(N, rng):
        y = mpz(rng.randrange(N))
        r = a.from_int(x)
        assert a.to_int(r) == x
        assert a.to_int(a.square(r)) == x * x % N
        assert a.to_int(a.multiply(r, a.from_int(y))) == x * y % N
        assert a.to_int(a.mul_small(r, 3)) == 3 * x % N
        assert a.to_int(a.mul_small(r, -(2**19) - 5)) == x * (-(2**19) - 5) % N
        assert a.to_int(a.sub_small(r, 2)) == (x - 2) % N
        assert a.to_int(a.sub_small(r, -(2**19))) == (x + 2**19) % N
        assert a.to_int(a.mul_small(r, 2**40 + 1)) == x * (2**40 + 1) % N  # beyond the digit path: via GMP


@pytest.mark.parametrize("bits", [MIN_BITS, 1000, 3001, 8192, boundary_bits(2000), boundary_bits(12000),
                                  boundary_bits(30000)])
def test_products_are_exact_at_many_sizes(bits):
    rng = random.Random(bits)
    a = GenericFFTArithmetic(random_modulus(bits, rng))
    check_operations(a, rng)
    assert a.stats.promotions == 0 and 0 < a.stats.max_roe < 0.2


def test_structured_moduli_are_exact():
    rng = random.Random(5)
    for N in structured_moduli():
        check_operations(GenericFFTArithmetic(N), rng)


def test_grown_residues_are_reduced_before_a_product():
    """mul_small and sub_small grow a residue past N; repeated, they would overflow the transform's guard
    bits unless the residue is reduced first: results stay exact through any sequence."""
    rng = random.Random(9)
    N = random_modulus(5000, rng)
    a = GenericFFTArithmetic(N)
    x = mpz(rng.randrange(N))
    r, expect = a.from_int(x), x
    for c in [2**19 + 1] * 6 + [-(2**19) - 3] * 6:
        r, expect = a.mul_small(r, c), expect * c % N
        r, expect = a.sub_small(r, c), (expect - c) % N
    assert a.to_int(r) == expect
    assert a.to_int(a.square(r)) == expect * expect % N
    assert a.to_int(a.multiply(r, r)) == expect * expect % N


@pytest.mark.parametrize("bits", [700, 20000])
def test_chains_match_powmod(bits):
    rng = random.Random(bits + 1)
    N = random_modulus(bits, rng)
    a = GenericFFTArithmetic(N)
    x = mpz(rng.randrange(N))
    assert a.square_chain(x, 300) == gmpy2.powmod(x, mpz(2) ** 300, N)
    u = mpz(rng.randrange(N))
    v = u
    for _ in range(30):
        v = (v * v - 2) % N
    assert a.lucas_chain(u, 30) == v
    assert a.square_chain(x, 0) == x


def fermat_fft(a: GenericFFTArithmetic, base: int) -> mpz:
    """base^(N-1) mod N left to right through the element operations: square, times base on a set bit."""
    r = a.from_int(base)
    for bit in bin(a.N - 1)[3:]:
        r = a.square(r)
        if bit == "1":
            r = a.mul_small(r, base)
    return a.to_int(r)


@pytest.mark.parametrize("N, prime", [
    (gmpy2.primorial(4787) + 1, True),  # OEIS A014545: 4787#+1 is prime (6768 bits)
    (gmpy2.primorial(4789) + 1, False),  # the next primorial
    (gmpy2.fac(1477) + 1, True),  # OEIS A002981: 1477!+1 is prime (13427 bits)
])
def test_known_primes_and_composite_neighbour(N, prime):
    """The prime is checked here by gmpy2, never taken on trust; the FFT residue (and RES64) equals gmpy2's."""
    expected = gmpy2.powmod(3, N - 1, N)
    assert (expected == 1) == prime
    a = generic_arithmetic(N, force=True)
    got = fermat_fft(a, 3)
    assert got == expected and res64(got) == res64(expected)


def test_too_short_fft_length_is_detected_and_promoted():
    """A forced length ~20% too short puts ~1.5 extra bits in every word: round-off far above 0.40. Every
    such product is redone at a longer length, the arithmetic stays there, and the results are exact."""
    rng = random.Random(11)
    N = random_modulus(boundary_bits(12000), rng)
    right = choose_length(N.bit_length() + GUARD_BITS, 1, 1)
    short = max(L for L in _smooth_lengths() if L <= 0.8 * right)
    a = GenericFFTArithmetic(N, fft_length=short)
    x = mpz(rng.randrange(N))
    r = a.from_int(x)  # a residue of the short length
    assert a.square_chain(x, 20) == gmpy2.powmod(x, 2**20, N)
    assert a.stats.promotions >= 1 and a.L > short and a.stats.max_roe <= 0.40
    assert a.to_int(r) == x and a.to_int(a.multiply(r, r)) == x * x % N  # still valid after the promotion
    b = GenericFFTArithmetic(N, fft_length=short)
    assert b.to_int(b.square(b.from_int(x))) == x * x % N and b.stats.promotions >= 1


def test_roundoff_error_when_no_longer_length_helps():
    N = random_modulus(3000, random.Random(3))
    a = GenericFFTArithmetic(N)
    a._ladder.lengths = [a.L]  # no promotion left
    r = a.from_int(N - 1)
    with pytest.raises(RoundoffError, match="longest tried"):
        a._accept(0.47)
    assert a.to_int(a.square(r)) == 1


def test_selector_entry_and_input_errors():
    rng = random.Random(2)
    assert generic_arithmetic(random_modulus(400, rng)) is None  # below the crossover: GMP
    assert isinstance(generic_arithmetic(random_modulus(400, rng), force=True), GenericFFTArithmetic)
    assert generic_arithmetic(random_modulus(200_000, rng)) is not None
    assert generic_arithmetic(mpz(2) ** 1000, force=True) is None
    assert generic_arithmetic(random_modulus(100, rng), force=True) is None
    with pytest.raises(ValueError, match="odd"):
        GenericFFTArithmetic(mpz(2) ** 1000)
    assert np.all(GenericFFTArithmetic(random_modulus(1000, rng)).from_int(0) == 0)


def test_numpy_backend_gives_the_same_residues():
    """The backend is swappable: numpy.fft (the fallback) gives pyFFTW's results."""
    rng = random.Random(22)
    N = random_modulus(6000, rng)
    x = mpz(rng.randrange(N))
    expected = gmpy2.powmod(x, 2**40, N)
    assert GenericFFTArithmetic(N, backend="numpy").square_chain(x, 40) == expected
    assert GenericFFTArithmetic(N, backend="pyfftw").square_chain(x, 40) == expected


def test_modulus_sharing_a_factor_with_2_to_the_n_minus_1():
    """R = 2^n - 1 must be prime to N (Montgomery needs N^-1 mod R): n moves past every n that 3, 5, 7, 31
    or 127 would share, and the arithmetic stays exact."""
    rng = random.Random(23)
    N = next(N for N in (3 * 5 * 7 * 31 * 127 * random_modulus(bits, rng) for bits in range(3000, 3100))
             if (N.bit_length() + GUARD_BITS) % 2 == 0)  # the first n tried is even: 3 divides 2^n - 1
    a = GenericFFTArithmetic(N)
    assert gmpy2.gcd(N, (mpz(1) << a.n) - 1) == 1 and a.n > N.bit_length() + GUARD_BITS
    check_operations(a, rng)
