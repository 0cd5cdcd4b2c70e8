"""The arithmetic layer (darkreach_pipeline/arith): the weighted FFT modulo k*2^n+-1 against gmpy2, bit-exact."""

from __future__ import annotations

import random

import gmpy2
import numpy as np
import pytest
from gmpy2 import mpz

from darkreach_pipeline.arith import RoundoffError
from darkreach_pipeline.arith.fft_backend import get_backend
from darkreach_pipeline.arith.gmp import GMPArithmetic
from darkreach_pipeline.arith.ibdwt import IBDWTArithmetic, _smooth_lengths, bpw_limit, choose_length
from darkreach_pipeline.arith.select import arithmetic_for, crossover_bits
from darkreach_pipeline.primality.proth import proth_witness
from darkreach_pipeline.primality.special_form import SpecialModulus

KS = [1, 3, 5, 15, 17, 1005, 2**19 + 1]


def boundary_n(k: int, c: int, near: int) -> int:
    """The largest n >= near/2 that still gets the FFT length chosen for `near`: words at their widest."""
    L = choose_length(near, k, c)
    n = near
    while choose_length(n + 1, k, c) == L:
        n += 1
    return n


def edge_values(N: mpz, n: int, rng: random.Random) -> list[mpz]:
    values = [0, 1, N - 1, N - 2, mpz(2) ** (n // 2), mpz(2) ** (n - 1), (mpz(1) << n) - 1, (mpz(1) << (n // 3)) - 1,
              rng.randrange(N), rng.randrange(N)]
    return [mpz(v) % N for v in values]


@pytest.mark.parametrize("backend", ["pyfftw", "numpy"])
def test_backend_plans_are_unnormalised_ffts(backend):
    b = get_backend(backend)
    x = np.random.default_rng(1).random(60)
    plan = b.real_plan(60)
    plan.real[:] = x
    plan.forward()
    assert np.allclose(plan.spectrum, np.fft.rfft(x))
    plan.inverse()
    assert np.allclose(plan.real, 60 * x)
    cplan = b.complex_plan(30)
    y = x[:30] + 1j * x[30:]
    cplan.buffer[:] = y
    cplan.forward()
    assert np.allclose(cplan.buffer, np.fft.fft(y))
    cplan.inverse()
    assert np.allclose(cplan.buffer, 30 * y)


def test_backend_names_are_checked(monkeypatch):
    monkeypatch.setenv("DARKREACH_FFT_BACKEND", "cuda-someday")
    with pytest.raises(ValueError, match="DARKREACH_FFT_BACKEND"):
        get_backend()
    with pytest.raises(ValueError, match="even"):
        get_backend("numpy").real_plan(7)


@pytest.mark.parametrize("c", [-1, 1])
@pytest.mark.parametrize("k", KS)
def test_square_and_multiply_exact_at_many_sizes(k, c):
    rng = random.Random(k * 7 + c)
    sizes = [37, 1000, boundary_n(k, c, 3000), boundary_n(k, c, 3000) + 1, boundary_n(k, c, 12000)]
    for n in sizes:
        ar = IBDWTArithmetic(k, n, c)
        N = ar.N
        assert N == k * mpz(2) ** n + c
        values = edge_values(N, n, rng)
        for x in values:
            r = ar.from_int(x)
            assert ar.to_int(r) == x
            assert ar.to_int(ar.square(r)) == x * x % N, (k, n, c, x)
            y = values[rng.randrange(len(values))]
            assert ar.to_int(ar.multiply(r, ar.from_int(y))) == x * y % N, (k, n, c)
        assert ar.stats.max_roe < 0.45


@pytest.mark.parametrize(("k", "n", "c"), [(1, 4423, -1), (3, 5000, 1), (5, 4001, -1), (1005, 3333, 1),
                                           (2**19 + 1, 6000, -1), (1, 127, 1)])
def test_chains_match_gmpy2(k, n, c):
    ar = IBDWTArithmetic(k, n, c)
    N = ar.N
    x = mpz(random.Random(n).randrange(N))
    assert ar.square_chain(x, 300) == gmpy2.powmod(x, mpz(2) ** 300, N)
    assert ar.square_chain(3, 300) == gmpy2.powmod(3, mpz(2) ** 300, N)  # a small start, as in a Proth test
    u = x
    for _ in range(300):
        u = (u * u - 2) % N
    assert ar.lucas_chain(x, 300) == u
    assert ar.lucas_chain(0, 3) == 2  # 0 -> -2 -> 2 -> 2: u^2 - 2 < 0 on the way


def test_small_constants_and_conversions():
    ar = IBDWTArithmetic(15, 3001, 1)
    N = ar.N
    for x in (mpz(0), mpz(5), N - 1, mpz(random.Random(3).randrange(N))):
        r = ar.from_int(x)
        assert ar.to_int(ar.sub_small(r, 2)) == (x - 2) % N
        assert ar.to_int(ar.sub_small(r, -7)) == (x + 7) % N
        assert ar.to_int(ar.mul_small(r, 3)) == 3 * x % N
        assert ar.to_int(ar.mul_small(r, -(2**40) - 1)) == x * (-(2**40) - 1) % N
    assert ar.to_int(ar.from_int(N + 5)) == 5
    assert ar.to_int(ar.from_int(-1)) == N - 1


def test_numpy_backend_gives_the_same_residues():
    ar = IBDWTArithmetic(3, 4000, 1, backend="numpy")
    assert ar.backend.name == "numpy"
    assert ar.square_chain(5, 200) == gmpy2.powmod(5, mpz(2) ** 200, ar.N)


@pytest.mark.parametrize("c", [-1, 1])
def test_too_short_fft_length_is_promoted_and_stays_exact(c):
    n, k = 20000, 3
    # 2.5 bits a word past the rule: round-off ~4^2.5 = 30x the usual 0.1-0.2
    short = max(m for m in _smooth_lengths() if (n + 1.6) / m >= bpw_limit(m, k, c) + 2.5)
    ar = IBDWTArithmetic(k, n, c, fft_length=short)
    x = mpz(random.Random(c).randrange(ar.N))
    assert ar.square_chain(x, 200) == gmpy2.powmod(x, mpz(2) ** 200, ar.N)
    assert ar.stats.promotions >= 1 and ar.L > short
    assert ar.stats.max_roe <= 0.40
    u = x
    for _ in range(50):
        u = (u * u - 2) % ar.N
    fresh = IBDWTArithmetic(k, n, c, fft_length=short)
    assert fresh.lucas_chain(x, 50) == u and fresh.stats.promotions >= 1


def test_no_usable_length_raises_roundoff_error():
    ar = IBDWTArithmetic(3, 20000, 1, fft_length=640)  # 31 bits a word; the 5 longer lengths still have 25+
    with pytest.raises(RoundoffError, match="round-off"):
        ar.square_chain(ar.N // 3, 20)
    with pytest.raises(ValueError, match="too short"):
        IBDWTArithmetic(3, 20000, 1, fft_length=64)


@pytest.mark.parametrize("c", [-1, 1])
def test_corrupted_fft_word_is_caught_by_the_roundoff_check(c):
    """A transient fault in the transform's input (half a unit on one weighted word) makes the squaring's
    outputs non-integers: the gate redoes that step from its input digits and the chain ends exact."""
    fired = []

    def fault(step, buffer):
        if step == 150 and not fired:
            buffer[17] += 0.5
            fired.append(step)

    ar = IBDWTArithmetic(5, 8000, c, fault=fault)
    x = mpz(random.Random(11).randrange(ar.N))
    assert ar.square_chain(x, 300) == gmpy2.powmod(x, mpz(2) ** 300, ar.N)
    assert fired == [150] and ar.stats.promotions == 1


def test_wagstaff_modulus_is_k1_plus_one():
    """W = (2^p+1)/3 prime gives 3^(2^p) = 9 (mod W), computed modulo 2^p+1 (fft-arithmetic.md 3)."""
    for p, prime in ((10501, True), (10499, False)):
        ar = IBDWTArithmetic(1, p, 1)
        r = ar.square_chain(3, p)
        assert r == gmpy2.powmod(3, mpz(2) ** p, ar.N)
        assert (r % (ar.N // 3) == 9) is prime


def test_known_proth_prime_above_the_crossover_and_its_composite_neighbour(monkeypatch):
    """3*2^20909+1 is prime (OEIS A002253); 3*2^20910+1 keeps the residue GMP gives."""
    monkeypatch.delenv("DARKREACH_ARITH", raising=False)
    for n, prime in ((20909, True), (20910, False)):
        N = 3 * mpz(2) ** n + 1
        ar = arithmetic_for(N, 3, n, 1)
        assert ar.name == "fft-ibdwt" and N.bit_length() > crossover_bits(3)
        a = proth_witness(N)
        r = ar.square_chain(gmpy2.powmod(a, 3, N), n - 1)
        assert (r == N - 1) is prime
        if not prime:
            expected = gmpy2.powmod(a, (N - 1) // 2, N)
            assert r == expected and format((r + 1) & (2**64 - 1), "016X") == format(
                (expected + 1) & (2**64 - 1), "016X")
        assert ar.stats.max_roe < 0.40


def test_gmp_arithmetic_is_the_special_form_loop():
    K, e, c = 3, 2000, 1
    sm = SpecialModulus(K, e, c)
    ar = GMPArithmetic(sm.N, K, e, c)
    x = mpz(random.Random(5).randrange(sm.N))
    assert ar.square_chain(x, 100) == sm.square_chain(x, 100)
    assert ar.lucas_chain(x, 100) == sm.lucas_chain(x, 100)
    generic = GMPArithmetic(sm.N + 2)
    assert generic.special is None
    assert generic.square_chain(x, 100) == gmpy2.powmod(x, mpz(2) ** 100, sm.N + 2)
    assert generic.to_int(generic.sub_small(generic.multiply(generic.from_int(x), generic.mul_small(
        generic.from_int(x), 3)), 2)) == (3 * x * x - 2) % (sm.N + 2)
    with pytest.raises(ValueError, match="does not equal N"):
        GMPArithmetic(sm.N + 2, K, e, c)


def test_selection_by_size_and_environment(monkeypatch):
    big = 3 * mpz(2) ** 20000 + 1
    small = 3 * mpz(2) ** 500 + 1
    monkeypatch.delenv("DARKREACH_ARITH", raising=False)
    assert arithmetic_for(big, 3, 20000, 1).name == "fft-ibdwt"
    assert arithmetic_for(small, 3, 500, 1).name == "gmp"
    assert arithmetic_for(big).name == "fft-generic"  # no shape given: the generic FFT above its crossover
    assert arithmetic_for(small).name == "gmp"
    assert arithmetic_for(mpz(1000) ** 2048 + 1, gfn=(1000, 11)).name == "fft-gfn"
    with pytest.raises(ValueError, match="does not equal N"):
        arithmetic_for(mpz(1000) ** 2048 + 3, gfn=(1000, 11))
    assert arithmetic_for(big + 2, 3, 20000, 3).name == "fft-generic"  # c = 3: no special shape
    monkeypatch.setenv("DARKREACH_ARITH", "gmp")
    assert arithmetic_for(big, 3, 20000, 1).name == "gmp"
    monkeypatch.setenv("DARKREACH_ARITH", "fft")
    assert arithmetic_for(small, 3, 500, 1).name == "fft-ibdwt"
    assert arithmetic_for(mpz(2) ** 61 - 1).name == "gmp"  # no FFT arithmetic for an unshaped modulus here
    monkeypatch.setenv("DARKREACH_ARITH", "fastest")
    with pytest.raises(ValueError, match="DARKREACH_ARITH"):
        arithmetic_for(big, 3, 20000, 1)


def test_bad_parameters_name_the_field():
    with pytest.raises(ValueError, match="k must be odd"):
        IBDWTArithmetic(6, 1000, 1)
    with pytest.raises(ValueError, match="c must be"):
        IBDWTArithmetic(3, 1000, 5)
    with pytest.raises(ValueError, match="n must be"):
        IBDWTArithmetic(3, 2, 1)
