"""Sieve primes in chunks (segmented sieve of Eratosthenes in numpy), and powers modulo a vector of them.

primesieve would be faster but has no wheel for this Python on the package index and needs a
system library to build, which would break the one-command install; generating primes is a
small part of sieving cost anyway (benchmarks/RESULTS.md).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

SEGMENT = 1 << 22


def small_primes(limit: int) -> np.ndarray:
    """All primes <= limit as uint64 (plain sieve; used for limit up to ~10^8)."""
    if limit < 2:
        return np.zeros(0, dtype=np.uint64)
    is_odd_prime = np.ones(limit // 2 + 1, dtype=bool)  # index i <-> 2i+1
    is_odd_prime[0] = False
    for i in range(1, (int(limit**0.5) + 1) // 2 + 1):
        if is_odd_prime[i]:
            p = 2 * i + 1
            is_odd_prime[p * p // 2 :: p] = False
    odd = 2 * np.flatnonzero(is_odd_prime).astype(np.uint64) + 1
    odd = odd[odd <= limit]
    return np.concatenate([np.array([2], dtype=np.uint64), odd])


def prime_chunks(lo: int, hi: int, segment: int = SEGMENT) -> Iterator[np.ndarray]:
    """Yield the primes p with lo <= p <= hi in ascending uint64 chunks of at most `segment` numbers."""
    hi = int(hi)
    lo = max(int(lo), 2)
    if hi < lo:
        return
    base = small_primes(int(hi**0.5) + 1)
    odd_base = base[1:]
    if lo <= 2:
        yield np.array([2], dtype=np.uint64)
        lo = 3
    start = lo | 1  # first odd number >= lo
    while start <= hi:
        stop = min(start + 2 * segment, hi + 1)  # odd numbers start, start+2, ... < stop
        count = (stop - start + 1) // 2
        mark = np.ones(count, dtype=bool)
        for p in odd_base.tolist():
            if p * p >= stop:
                break
            first = max(p * p, ((start + p - 1) // p) * p)
            if first % 2 == 0:
                first += p
            mark[(first - start) // 2 :: p] = False
        chunk = start + 2 * np.flatnonzero(mark).astype(np.uint64)
        if start == 1:
            chunk = chunk[1:]
        yield chunk
        start = stop if stop % 2 else stop + 1


def powmod_vector(base: np.ndarray, exponent: int, p: np.ndarray) -> np.ndarray:
    """base^exponent mod p elementwise (base < p < 2^32, so products fit in uint64): every sieve's start value."""
    result = np.ones_like(p) % p
    base = base % p
    while exponent:
        if exponent & 1:
            result = result * base % p
        base = base * base % p
        exponent >>= 1
    return result
