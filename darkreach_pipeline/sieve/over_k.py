"""Sieve k*b^m + c over a range of k (m, b fixed), for one or several members at once.

For a prime p not dividing b, p | k*b^m + c  <=>  k = -c * b^(-m) (mod p): one residue class per
member, computed for a whole chunk of primes at once with numpy. Every k of the block in that
class is struck: a prime below the block length strikes several k, a larger one at most one.
For m = 0 the member is k + c and every prime (also those dividing b) has its class.
All residues are < 2^32, so every product fits in uint64.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Sequence

import numpy as np

U64 = np.uint64
MAX_PRIME = 2**32
BATCH = 1 << 16  # primes per vector pass: the arrays stay cache-sized
TABLE_LIMIT = 1 << 16  # b up to this size: b^-1 mod p from a table of b entries, else Fermat per prime


def _powmod_vec(base: np.ndarray, exponent: np.ndarray, p: np.ndarray) -> np.ndarray:
    """base^exponent mod p elementwise (square and multiply over the exponents' bits)."""
    result = np.ones_like(p) % p
    base = base % p
    exponent = exponent.copy()
    while exponent.any():
        odd = (exponent & U64(1)).astype(bool)
        result = np.where(odd, (result * base) % p, result)
        base = (base * base) % p
        exponent >>= U64(1)
    return result


def _powmod_scalar(base: np.ndarray, exponent: int, p: np.ndarray) -> np.ndarray:
    """base^exponent mod p for one exponent: log2(exponent) vector steps, no per-prime exponent bits."""
    result = np.ones_like(p) % p
    base = base % p
    while exponent:
        if exponent & 1:
            result = (result * base) % p
        base = (base * base) % p
        exponent >>= 1
    return result


@functools.cache
def _inverse_table(b: int) -> np.ndarray:
    """t[r] = -r^-1 mod b for r coprime to b: then b^-1 mod p = (1 + p*t[p mod b]) / b exactly."""
    table = np.zeros(b, dtype=U64)
    for r in range(1, b):
        if math.gcd(r, b) == 1:
            table[r] = -pow(r, -1, b) % b
    return table


def inverse_of_b(b: int, p: np.ndarray) -> np.ndarray:
    """b^-1 mod p for primes p not dividing b (about 5x faster than Fermat for b <= 2^16)."""
    if b <= TABLE_LIMIT:
        return (U64(1) + p * _inverse_table(b)[p % U64(b)]) // U64(b)  # p*t < 2^48
    return _powmod_vec(U64(b) % p, p - U64(2), p)


def member_classes(b: int, m: int, c: int, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(primes, class) with p | k*b^m + c  <=>  k = class (mod p); primes dividing b are left out (m > 0)."""
    if m == 0:
        inverse_power = np.ones_like(p) % p  # b^0 = 1 for every p
    else:
        p = p[U64(b) % p != 0]
        inverse_power = _powmod_scalar(inverse_of_b(b, p), m, p)
    residue = inverse_power if c == -1 else (p - inverse_power) % p
    return p, residue


def _hits(lo: int, span: int, p: np.ndarray, residue: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (offset, prime) with lo <= lo + offset < lo + span in the class of p."""
    first = (residue + p - U64(lo) % p) % p  # < 2^33: no overflow
    counts = np.where(first < U64(span), (U64(span - 1) - np.minimum(first, U64(span - 1))) // p + U64(1), U64(0))
    counts = counts.astype(np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=U64)
    owner = np.repeat(np.arange(len(p)), counts)
    starts = np.cumsum(counts) - counts
    step = np.arange(total, dtype=np.int64) - np.repeat(starts, counts)
    offsets = first[owner].astype(np.int64) + step * p[owner].astype(np.int64)
    return offsets, p[owner]


def sieve_over_k(
    members: Sequence[tuple[int, int, int]],
    lo: int,
    hi: int,
    prime_chunks: Iterable[np.ndarray],
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Smallest sieve prime dividing any member k*b^m + c, members = [(b, m, c), ...], for k in [lo, hi).

    0 where no sieve prime divides a member. A prime equal to a member (k*b^m + c = p, only for
    tiny numbers) never strikes k through that member: it may still strike it through another.
    """
    span = hi - lo
    factors = np.zeros(max(span, 0), dtype=U64)
    if span <= 0:
        return factors
    if lo < 1:
        raise ValueError("k starts at 1")
    # b^m exactly, when a member can be as small as a sieve prime (k*b^m + c = p < 2^32 needs b^m <= 2^32 + 1).
    exact = [(b**m if m * np.log2(b) <= 33 else None) for b, m, _ in members]
    for chunk in prime_chunks:
        chunk = np.asarray(chunk, dtype=U64)
        if len(chunk) and int(chunk[-1]) >= MAX_PRIME:
            raise ValueError("sieve primes must be below 2^32")
        for (b, m, c), power in zip(members, exact, strict=True):
            for s in range(0, len(chunk), BATCH):
                _strike(factors, lo, span, chunk[s : s + BATCH], b, m, c, power)
        if progress is not None:
            progress(len(chunk))
    return factors


def _strike(factors: np.ndarray, lo: int, span: int, chunk: np.ndarray, b: int, m: int, c: int, power: int | None):
    """Record the hits of one member for one batch of primes."""
    p, residue = member_classes(b, m, c, chunk)
    offsets, primes = _hits(lo, span, p, residue)
    if power is not None and len(offsets):
        # k*b^m + c = p < 2^32 needs k <= (2^32 + 1) / b^m: only those products are formed (no overflow).
        k = offsets + lo
        small = k <= (MAX_PRIME + 1) // power
        equal = np.zeros(len(k), dtype=bool)
        equal[small] = k[small] * power + c == primes[small].astype(np.int64)
        offsets, primes = offsets[~equal], primes[~equal]
    _record(factors, offsets, primes)


def _record(factors: np.ndarray, offsets: np.ndarray, primes: np.ndarray) -> None:
    """Keep the smallest prime per offset (hits arrive in ascending prime order within one member)."""
    if len(offsets) == 0:
        return
    unique, index = np.unique(offsets, return_index=True)  # index of the first (smallest) prime per offset
    best = primes[index]
    existing = factors[unique]
    better = (existing == 0) | (best < existing)
    factors[unique[better]] = best[better]
