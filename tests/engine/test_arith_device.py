"""The device FFT arithmetic (arith/xp_fft.py) run through numpy on the CPU, bit-exact against gmpy2, and the
GPU switch (DARKREACH_GPU): the device arithmetic only when asked, a clear error when asked without a GPU.

The same checks on CuPy are tests/engine/test_gpu_device.py (marked gpu, skipped without a device)."""

from __future__ import annotations

import gmpy2
import numpy as np
import pytest
from gmpy2 import mpz

from darkreach_pipeline.arith import array_module
from darkreach_pipeline.arith.array_module import GpuUnavailableError
from darkreach_pipeline.arith.gfn import GfnArithmetic
from darkreach_pipeline.arith.ibdwt import IBDWTArithmetic, _smooth_lengths, bpw_limit, choose_length
from darkreach_pipeline.arith.select import arithmetic_for
from darkreach_pipeline.arith.xp_fft import ROE_WINDOW, DeviceGfnArithmetic, DeviceIBDWTArithmetic
from darkreach_pipeline.forms.gfn import GfnForm
from darkreach_pipeline.forms.kbn import KbnForm
from darkreach_pipeline.primality.gerbicz import Fault, GerbiczChain, Reducer, checked_powmod

KBN = [(1, 5000, -1), (1, 5003, 1), (3, 4001, 1), (3, 4000, -1), (1005, 6001, 1), (123457, 3000, -1),
       (2**29 + 1, 5000, 1)]


def _seed(N: mpz) -> mpz:
    return mpz(7) ** 3001 % N


@pytest.mark.parametrize("k,n,c", KBN)
def test_ibdwt_chains_match_gmpy2(k, n, c):
    a = DeviceIBDWTArithmetic(k, n, c, np)
    N, x = a.N, _seed(a.N)
    assert a.square_chain(x, 300) == gmpy2.powmod(x, mpz(1) << 300, N)
    u = x
    for _ in range(100):
        u = (u * u - 2) % N
    assert a.lucas_chain(x, 100) == u
    digit = 0b1011001110001
    assert a.binary_chain(x, digit, 13, 3) == gmpy2.powmod(x, 1 << 13, N) * gmpy2.powmod(3, digit, N) % N
    assert a.stats.max_roe < 0.4 and a.stats.promotions == 0
    assert a.L == choose_length(n, k, c)  # the CPU arithmetic's length rule


@pytest.mark.parametrize("k,n,c", [(3, 4001, 1), (5, 3001, -1)])
def test_ibdwt_element_operations_and_edge_values(k, n, c):
    a = DeviceIBDWTArithmetic(k, n, c, np)
    N = a.N
    kinv = gmpy2.invert(k, N)
    values = [mpz(0), mpz(1), N - 1, N - 2, mpz(1) << (n - 1), kinv, (mpz(1) << n) - 1, _seed(N)]
    for v in values:
        r = a.from_int(v)
        assert a.to_int(r) == v % N
        assert a.to_int(a.square(r)) == v * v % N
        assert a.to_int(a.multiply(r, a.from_int(v + 12345))) == v * (v + 12345) % N
        assert a.to_int(a.mul_small(r, 1000003)) == v * 1000003 % N
        assert a.to_int(a.mul_small(r, 1 << 25)) == (v << 25) % N  # past the device's small range: via GMP
        assert a.to_int(a.sub_small(r, 2)) == (v - 2) % N


@pytest.mark.parametrize("c", [-1, 1])
def test_ibdwt_promotes_on_roundoff_and_stays_exact(c):
    """A length 2.5 bits a word past the rule trips the round-off window: it is redone at a longer length."""
    k, n = 3, 20000
    short = max(m for m in _smooth_lengths() if (n + 1.6) / m >= bpw_limit(m, k, c) + 2.5)
    a = DeviceIBDWTArithmetic(k, n, c, np, fft_length=short)
    x = _seed(a.N)
    assert a.square_chain(x, ROE_WINDOW + 10) == gmpy2.powmod(x, mpz(1) << (ROE_WINDOW + 10), a.N)
    assert a.stats.promotions >= 1 and a.L > short and a.stats.max_roe <= 0.4


def test_ibdwt_digits_are_the_cpu_arithmetics():
    """One length, one layout: the device residue converts through the CPU arithmetic's digits."""
    k, n, c = 3, 4001, 1
    dev, cpu = DeviceIBDWTArithmetic(k, n, c, np), IBDWTArithmetic(k, n, c, backend="numpy")
    x = _seed(dev.N)
    assert np.array_equal(dev.from_int(x), cpu.from_int(x))
    assert dev.square_chain(x, 200) == cpu.square_chain(x, 200)


@pytest.mark.parametrize("b,m", [(1030, 8), (100000, 9), (6, 10), (2_000_000, 6)])
def test_gfn_chains_match_gmpy2(b, m):
    g = DeviceGfnArithmetic(b, m, np)
    N, x = g.N, mpz(3) ** 5000 % g.N
    assert g.square_chain(x, 300) == gmpy2.powmod(x, mpz(1) << 300, N)
    exponent = 10**40 + 7
    assert g.fermat_power(3, exponent) == gmpy2.powmod(3, exponent, N)
    r = g.from_int(x)
    assert g.to_int(g.multiply(r, g.square(r))) == x**3 % N
    assert g.to_int(g.sub_small(g.mul_small(r, 999), 5)) == (x * 999 - 5) % N
    assert g.to_int(g.from_int(N - 1)) == N - 1
    assert g.stats.max_roe < 0.4


def test_gfn_roundoff_windows_redone_in_gmp():
    """A round-off limit no window meets: each window is redone in GMP, then the rest runs there; exact."""
    g = DeviceGfnArithmetic(1030, 8, np, roe_redo=1e-12)
    exponent = mpz(1030) ** 256  # N - 1: the GFN test's exponent, ~2560 squarings
    assert g.fermat_power(3, exponent) == gmpy2.powmod(3, exponent, g.N)
    assert g.redone == 3 and g.stats.promotions == 3


def _use_device(monkeypatch, mode: str = "on", array: str = "numpy", arith: str | None = "fft"):
    monkeypatch.setenv("DARKREACH_GPU", mode)
    monkeypatch.setenv("DARKREACH_GPU_ARRAY", array)
    if arith:
        monkeypatch.setenv("DARKREACH_ARITH", arith)


def test_gerbicz_catches_a_fault_on_the_device_path(monkeypatch):
    """A flipped bit between squarings of a device chain: the Gerbicz check rolls back; the residue is exact."""
    _use_device(monkeypatch)
    K, e, c = 3, 4000, 1
    N = (mpz(K) << e) + c
    reducer = Reducer(N, K, e, c)
    assert isinstance(reducer.arith, DeviceIBDWTArithmetic)
    chain = GerbiczChain(reducer, 3, K, e - 1, faults=[Fault(iteration=1500, bit=77)])
    assert chain.run() == gmpy2.powmod(3, K << (e - 1), N)
    assert chain.report.rollbacks >= 1 and chain.report.faults_injected == [1500]
    assert chain.report.arithmetic.startswith("numpy-ibdwt/")


def test_gerbicz_li_catches_a_fault_on_the_device_gfn(monkeypatch):
    _use_device(monkeypatch)
    g = arithmetic_for(mpz(1030) ** 256 + 1, gfn=(1030, 8))
    assert isinstance(g, DeviceGfnArithmetic)
    N = g.N
    residue, report = checked_powmod(3, N - 1, N, faults=[Fault(iteration=1000, bit=5)], arith=g)
    assert residue == gmpy2.powmod(3, N - 1, N)
    assert report.rollbacks >= 1


@pytest.mark.parametrize("k,c,n", [(3, 1, 2208), (3, 1, 2209), (3, -1, 2830), (3, -1, 2831)])
def test_kbn_outcome_and_res64_equal_the_cpu(monkeypatch, k, c, n):
    """Whole tests (Fermat RES64, Proth / LLR verdict) on the device path equal GMP's: 3*2^2208+1 and
    3*2^2830-1 are prime (OEIS A002253, A002235), their neighbours composite."""
    monkeypatch.setenv("DARKREACH_ARITH", "gmp")
    expected = KbnForm(k, 2, c).test(n)
    _use_device(monkeypatch)
    got = KbnForm(k, 2, c).test(n)
    assert (got.result, got.method, got.res64) == (expected.result, expected.method, expected.res64)
    assert got.arithmetic.startswith("numpy-ibdwt/")


def test_gfn_outcome_equals_the_cpu(monkeypatch):
    """30^(2^8)+1 ... a GFN test on the device path: same verdict and RES64 as GMP."""
    monkeypatch.setenv("DARKREACH_ARITH", "gmp")
    form = GfnForm(8)
    expected = [form.test(b) for b in (30, 1030)]
    _use_device(monkeypatch)
    got = [form.test(b) for b in (30, 1030)]
    assert [(o.result, o.res64) for o in got] == [(o.result, o.res64) for o in expected]
    assert all(o.arithmetic.startswith("numpy-gfn") for o in got)


# --- the switch ---------------------------------------------------------------------------------------------
def test_cpu_arithmetic_unless_the_gpu_is_asked_for(monkeypatch):
    monkeypatch.delenv("DARKREACH_GPU", raising=False)
    monkeypatch.setenv("DARKREACH_ARITH", "fft")
    assert isinstance(arithmetic_for((mpz(3) << 5000) + 1, 3, 5000, 1), IBDWTArithmetic)
    assert isinstance(arithmetic_for(mpz(1030) ** 256 + 1, gfn=(1030, 8)), GfnArithmetic)
    _use_device(monkeypatch, mode="on", arith="gmp")  # DARKREACH_ARITH=gmp still means GMP everywhere
    assert arithmetic_for((mpz(3) << 5000) + 1, 3, 5000, 1).name == "gmp"


def test_gpu_asked_without_cupy_is_a_clear_error(monkeypatch):
    if array_module.gpu_present():
        pytest.skip("this host has a GPU")
    _use_device(monkeypatch, mode="on", array="cupy")
    with pytest.raises(GpuUnavailableError, match="GPU was asked for.*unset DARKREACH_GPU"):
        arithmetic_for((mpz(3) << 5000) + 1, 3, 5000, 1)
    _use_device(monkeypatch, mode="auto", array="cupy")  # auto: the CPU when there is no device
    assert isinstance(arithmetic_for((mpz(3) << 5000) + 1, 3, 5000, 1), IBDWTArithmetic)


def test_bad_gpu_settings_name_the_variable(monkeypatch):
    monkeypatch.setenv("DARKREACH_GPU", "maybe")
    with pytest.raises(ValueError, match="DARKREACH_GPU='maybe'.*off, on, auto"):
        array_module.gpu_mode()
    monkeypatch.setenv("DARKREACH_GPU", "on")
    monkeypatch.setenv("DARKREACH_GPU_ARRAY", "jax")
    with pytest.raises(ValueError, match="DARKREACH_GPU_ARRAY='jax'"):
        array_module.selected_array_module()
