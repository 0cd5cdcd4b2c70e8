"""The GFN transform (darkreach_pipeline/arith/gfn.py) modulo b^(2^m)+1 against gmpy2, bit-exact."""

from __future__ import annotations

import math
import random

import gmpy2
import numpy as np
import pytest
from gmpy2 import mpz

from darkreach_pipeline.arith import gfn
from darkreach_pipeline.arith.gfn import GfnArithmetic, gfn_arithmetic, max_b_bits
from darkreach_pipeline.primality.outcome import res64


def largest_b(m: int) -> int:
    """The largest even b the transform takes at m: round-off at its worst."""
    return int(2 ** max_b_bits(m)) // 2 * 2


def edge_values(a: GfnArithmetic, rng: random.Random) -> list[mpz]:
    N, b, L = a.N, mpz(a.b), a.L
    half_b = b // 2
    all_half = sum(half_b * b**j for j in range(L))  # every digit at the balanced range's edge b/2
    return [mpz(v) % N for v in (0, 1, 2, N - 1, N - 2, b, b ** (L - 1), b ** (L // 2) - 1, all_half,
                                  N - all_half, rng.randrange(N), rng.randrange(N))]


@pytest.mark.parametrize("m", [2, 3, 5, 8, 10, 11])
def test_products_and_small_steps_are_exact(m):
    rng = random.Random(m)
    for b in (4, 10, 1000, largest_b(m) - 2 * rng.randrange(100), largest_b(m)):
        a = GfnArithmetic(b, m)
        N = a.N
        for x in edge_values(a, rng):
            y = mpz(rng.randrange(N))
            r = a.from_int(x)
            assert a.to_int(r) == x
            assert np.all(np.abs(r) <= b // 2)
            assert a.to_int(a.square(r)) == x * x % N
            assert a.to_int(a.multiply(r, a.from_int(y))) == x * y % N
            assert a.to_int(a.mul_small(r, 3)) == 3 * x % N
            assert a.to_int(a.mul_small(r, -(2**19) + 1)) == x * (-(2**19) + 1) % N
            assert a.to_int(a.sub_small(r, 2)) == (x - 2) % N
        # every digit at b/2 is the worst case (coherent sums): near the limit it trips, and is redone in GMP
        assert a.stats.promotions == 0 or b > 1000


@pytest.mark.parametrize("m", [4, 9, 12])
def test_chains_match_powmod(m):
    rng = random.Random(100 + m)
    b = largest_b(m)
    a = GfnArithmetic(b, m)
    x = mpz(rng.randrange(a.N))
    assert a.square_chain(x, 200) == gmpy2.powmod(x, 2**200, a.N)
    e = rng.getrandbits(300) | 1
    assert a.fermat_power(3, e) == gmpy2.powmod(3, e, a.N)
    assert a.lucas_chain(x, 20) == _lucas(x, 20, a.N)
    assert a.stats.promotions == 0


def _lucas(u: mpz, count: int, N: mpz) -> mpz:
    for _ in range(count):
        u = (u * u - 2) % N
    return u


def test_known_gfn_prime_and_composite_neighbour():
    """824^1024+1 and 1476^1024+1 are prime (OEIS A056995; checked here by gmpy2), 826^1024+1 is not: the FFT
    Fermat test says the same, and its residues (RES64 included) equal gmpy2's."""
    for b in (824, 1476, 826):
        a = gfn_arithmetic(b, 10)  # ~10k bits: above the crossover, so the selector picks the transform
        assert isinstance(a, GfnArithmetic)
        expected = gmpy2.powmod(3, a.N - 1, a.N)
        got = a.fermat_power(3, a.N - 1)
        assert got == expected and res64(got) == res64(expected)
        assert (got == 1) == (b != 826)
        assert a.stats.max_roe < 0.1


def test_round_off_trip_is_redone_in_gmp_and_stays_exact():
    """A gate below the transform's real round-off makes products trip: each is redone in GMP, and after
    MAX_REDONE the chain finishes in GMP, with the exact result."""
    rng = random.Random(7)
    m, b = 8, largest_b(8)
    a = GfnArithmetic(b, m, roe_redo=1e-9)
    x = mpz(rng.randrange(a.N))
    assert a.to_int(a.square(a.from_int(x))) == x * x % a.N
    assert a.redone == 1
    e = rng.getrandbits(64) | (1 << 63)
    assert a.fermat_power(5, e) == gmpy2.powmod(5, e, a.N)
    assert a.redone == gfn.MAX_REDONE and a.stats.promotions == gfn.MAX_REDONE
    assert a.stats.max_roe <= 1e-9


def test_limits_and_selector_entry():
    m = 12
    over = largest_b(m) * 2
    assert math.log2(over) > max_b_bits(m)
    with pytest.raises(ValueError, match="float64 limit"):
        GfnArithmetic(over, m)
    with pytest.raises(ValueError, match="b must be even"):
        GfnArithmetic(1001, m)
    with pytest.raises(ValueError, match="m must be between"):
        GfnArithmetic(10, 1)
    assert gfn_arithmetic(over, m) is None and gfn_arithmetic(1001, m) is None
    assert gfn_arithmetic(10, 4) is None  # 53 bits: below the crossover, GMP
    assert isinstance(gfn_arithmetic(10, 4, force=True), GfnArithmetic)
    assert max_b_bits(12) > 20 > max_b_bits(20) > 18  # ~1.9M at m = 12, ~330k at m = 20


def test_numpy_backend_gives_the_same_residues():
    """The backend is swappable: numpy.fft (the fallback) gives pyFFTW's results."""
    rng = random.Random(21)
    b, m = largest_b(9), 9
    x = mpz(rng.randrange(mpz(b) ** (1 << m) + 1))
    results = {name: GfnArithmetic(b, m, backend=name).fermat_power(3, 2**40 + 12345) for name in ("numpy", "pyfftw")}
    assert results["numpy"] == results["pyfftw"] == gmpy2.powmod(3, 2**40 + 12345, mpz(b) ** (1 << m) + 1)
    assert GfnArithmetic(b, m, backend="numpy").square_chain(x, 50) == gmpy2.powmod(x, 2**50, mpz(b) ** (1 << m) + 1)
