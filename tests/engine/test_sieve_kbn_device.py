"""The device k*b^n+c sieve (sieve/kbn_xp.py) run through numpy on the CPU: the same factor array (so the same
survivors) as the CPU kernel (sieve/kbn_numba.py), which test_sieve_kbn.py checks against trial division."""

from __future__ import annotations

import random

import numpy as np
import pytest

from darkreach_pipeline.arith.array_module import GpuUnavailableError, gpu_present
from darkreach_pipeline.sieve.kbn import sieve_kbn
from darkreach_pipeline.sieve.kbn_xp import lanes_for
from darkreach_pipeline.sieve.primes import prime_chunks


def _both(monkeypatch, k, b, c, lo, hi, depth, segment=1 << 22, batch=0):
    monkeypatch.delenv("DARKREACH_GPU", raising=False)
    cpu = sieve_kbn(k, b, c, lo, hi, prime_chunks(2, depth, segment), batch=batch)
    dev = sieve_kbn(k, b, c, lo, hi, prime_chunks(2, depth, segment), batch=batch, xp=np)
    return cpu, dev


CASES = [
    (3, 2, 1, 0, 400, 5000),  # n = 0 and N = p itself for small n
    (3, 2, -1, 1000, 1700, 20000),
    (1003, 6, -1, 0, 300, 3000),  # b not a power of two, k divisible by 17 and 59
    (1, 10, 1, 1, 200, 120),  # small orders: primes that strike every few n
    (2**70 + 15, 3, 1, 500, 900, 10000),  # k over 64 bits
    (5, 2**40 + 6, -1, 10, 60, 10000),  # b over 32 bits
    (7, 2, 1, 123_456, 125_000, 200_000),  # many primes, a wide range
]


@pytest.mark.parametrize("k,b,c,lo,hi,depth", CASES)
def test_device_sieve_equals_the_cpu_sieve(monkeypatch, k, b, c, lo, hi, depth):
    cpu, dev = _both(monkeypatch, k, b, c, lo, hi, depth)
    assert np.array_equal(cpu, dev)
    assert (cpu != 0).any()


def test_random_cases_and_chunkings(monkeypatch):
    rng = random.Random(18)
    for _ in range(12):
        k = rng.randrange(1, 10**6) | 1
        b = rng.choice([2, 3, 5, 6, 10, 12, 7, 2**31 - 1])
        c = rng.choice([1, -1])
        lo = rng.randrange(0, 3000)
        hi = lo + rng.randrange(1, 600)
        depth = rng.randrange(10, 30000)
        cpu, dev = _both(monkeypatch, k, b, c, lo, hi, depth, segment=rng.choice([64, 1000, 1 << 22]),
                         batch=rng.choice([0, 1, 7]))
        assert np.array_equal(cpu, dev), (k, b, c, lo, hi, depth)


def test_sieve_follows_the_gpu_setting(monkeypatch):
    """DARKREACH_GPU=on with the numpy array module sends sieve_kbn to the device path (same answer)."""
    monkeypatch.setenv("DARKREACH_GPU", "on")
    monkeypatch.setenv("DARKREACH_GPU_ARRAY", "numpy")
    monkeypatch.setattr("darkreach_pipeline.sieve.kbn_xp.MAX_CELLS", 64)  # many batches of few lanes
    via_setting = sieve_kbn(3, 2, -1, 100, 400, prime_chunks(2, 3000))
    monkeypatch.delenv("DARKREACH_GPU")
    assert np.array_equal(via_setting, sieve_kbn(3, 2, -1, 100, 400, prime_chunks(2, 3000)))
    if not gpu_present():  # asked for the real device where there is none: the sieve says so
        monkeypatch.setenv("DARKREACH_GPU", "on")
        monkeypatch.setenv("DARKREACH_GPU_ARRAY", "cupy")
        with pytest.raises(GpuUnavailableError):
            sieve_kbn(3, 2, -1, 100, 400, prime_chunks(2, 3000))


def test_lanes_cover_the_range_and_respect_the_memory_cap():
    for span, primes in [(1, 1), (5000, 10), (5000, 1 << 24), (50_000, 3000), (7, 100)]:
        lanes = lanes_for(span, primes)
        width = -(-span // lanes)
        assert 1 <= lanes <= span and lanes * width >= span
        assert lanes == 1 or lanes * primes <= 1 << 24
