"""The device arithmetic and sieve on a real GPU (CuPy): bit-exact against gmpy2, RES64 and verdicts equal to GMP's,
a Gerbicz fault caught, the sieve's factors equal to the CPU's. Marked gpu: skipped cleanly without CuPy and a
device (benchmarks/gpu/run_on_device.sh runs them on a GPU host)."""

from __future__ import annotations

import gmpy2
import numpy as np
import pytest
from gmpy2 import mpz

from darkreach_pipeline.arith.array_module import device_array_module, gpu_present

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not gpu_present(), reason="needs CuPy and a CUDA device")]


@pytest.fixture
def cupy(monkeypatch):
    monkeypatch.setenv("DARKREACH_GPU_ARRAY", "cupy")
    return device_array_module()


@pytest.mark.parametrize("k,n,c", [(1, 50000, -1), (3, 40001, 1), (3, 40000, -1), (123457, 30000, 1)])
def test_ibdwt_on_the_gpu_matches_gmpy2(cupy, k, n, c):
    from darkreach_pipeline.arith.xp_fft import DeviceIBDWTArithmetic

    a = DeviceIBDWTArithmetic(k, n, c, cupy)
    x = mpz(7) ** 3001 % a.N
    assert a.square_chain(x, 1000) == gmpy2.powmod(x, mpz(1) << 1000, a.N)
    digit = 0b1011001110001
    assert a.binary_chain(x, digit, 13, 3) == gmpy2.powmod(x, 1 << 13, a.N) * gmpy2.powmod(3, digit, a.N) % a.N
    assert a.stats.max_roe < 0.4


@pytest.mark.parametrize("b,m", [(1030, 12), (100000, 14)])
def test_gfn_on_the_gpu_matches_gmpy2(cupy, b, m):
    from darkreach_pipeline.arith.xp_fft import DeviceGfnArithmetic

    g = DeviceGfnArithmetic(b, m, cupy)
    exponent = 10**300 + 7
    assert g.fermat_power(3, exponent) == gmpy2.powmod(3, exponent, g.N)


def test_known_prime_res64_and_fault_on_the_gpu(cupy, monkeypatch):
    from darkreach_pipeline.forms.kbn import KbnForm
    from darkreach_pipeline.primality.gerbicz import Fault, GerbiczChain, Reducer

    monkeypatch.setenv("DARKREACH_ARITH", "gmp")
    expected = KbnForm(3, 2, 1).test(12677)  # GMP's verdict and RES64, whatever they are
    riesel = KbnForm(3, 2, -1).test(12676)  # prime (OEIS A002235): proven by LLR
    monkeypatch.setenv("DARKREACH_GPU", "on")
    monkeypatch.setenv("DARKREACH_ARITH", "fft")
    assert riesel.method == "llr" and riesel.status == "proven"
    for want, got in ((expected, KbnForm(3, 2, 1).test(12677)), (riesel, KbnForm(3, 2, -1).test(12676))):
        assert (got.result, got.method, got.res64) == (want.result, want.method, want.res64)
        assert got.arithmetic.startswith("cupy-ibdwt/")
    N = (mpz(3) << 12000) + 1
    chain = GerbiczChain(Reducer(N, 3, 12000, 1), 3, 3, 11999, faults=[Fault(iteration=5000, bit=123)])
    assert chain.run() == gmpy2.powmod(3, mpz(3) << 11999, N) and chain.report.rollbacks >= 1


def test_sieve_on_the_gpu_equals_the_cpu(cupy, monkeypatch):
    from darkreach_pipeline.sieve.kbn import sieve_kbn
    from darkreach_pipeline.sieve.primes import prime_chunks

    monkeypatch.delenv("DARKREACH_GPU", raising=False)
    cpu = sieve_kbn(3, 2, -1, 100_000, 105_000, prime_chunks(2, 2_000_000))
    gpu = sieve_kbn(3, 2, -1, 100_000, 105_000, prime_chunks(2, 2_000_000), xp=cupy)
    assert np.array_equal(cpu, gpu)
