"""Sieve k*b^n + c over a range of n: baby-step giant-step, batched over thousands of primes.

For a prime p not dividing k*b, p | k*b^n + c  <=>  b^n = -c/k (mod p), a discrete log in <b>.
Write n = lo + g*m + i (0 <= i < m): the baby steps b^i and the giant steps (-c/k)*b^-(lo+g*m)
meet exactly at the solutions, so every n in the range with p | N is found with about 2*sqrt(R)
multiplications per prime. All residues are < 2^32, so products fit in uint64.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

U64 = np.uint64
MAX_PRIME = 2**32


def _mulmod(a: np.ndarray, b: np.ndarray, p: np.ndarray) -> np.ndarray:
    return (a * b) % p


def _powmod_scalar_exp(base: np.ndarray, exponent: int, p: np.ndarray) -> np.ndarray:
    result = np.ones_like(p)
    base = base % p
    while exponent:
        if exponent & 1:
            result = _mulmod(result, base, p)
        base = _mulmod(base, base, p)
        exponent >>= 1
    return result % p


def _inverse(a: np.ndarray, p: np.ndarray) -> np.ndarray:
    """a^(p-2) mod p elementwise (Fermat), for a not divisible by p."""
    result = np.ones_like(p)
    base = a % p
    exponent = p - U64(2)
    while exponent.any():
        odd = (exponent & U64(1)).astype(bool)
        result = np.where(odd, _mulmod(result, base, p), result)
        base = _mulmod(base, base, p)
        exponent >>= U64(1)
    return result


def _hits_in_batch(k: int, b: int, c: int, lo: int, hi: int, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (prime, n) with lo <= n < hi and p | k*b^n + c, for primes p not dividing k*b."""
    span = hi - lo
    m = max(1, int(np.ceil(np.sqrt(span))))
    giants = -(-span // m)
    rows = len(p)
    k_p = U64(k) % p if k < MAX_PRIME else np.array([k % int(q) for q in p.tolist()], dtype=U64)
    b_p = U64(b) % p
    target = _mulmod((p - U64(1)) if c == 1 else np.ones_like(p), _inverse(k_p, p), p)  # -c/k
    b_inv = _inverse(b_p, p)
    start = _mulmod(target, _powmod_scalar_exp(b_inv, lo, p), p)
    step = _powmod_scalar_exp(b_inv, m, p)

    # Built step-major, so every step writes one contiguous row; .T gives the (rows, m) view.
    baby_t = np.empty((m, rows), dtype=U64)
    baby_t[0] = 1 % p
    for i in range(1, m):
        np.remainder(baby_t[i - 1] * b_p, p, out=baby_t[i])
    giant_t = np.empty((giants, rows), dtype=U64)
    giant_t[0] = start
    for g in range(1, giants):
        np.remainder(giant_t[g - 1] * step, p, out=giant_t[g])
    baby, giant = baby_t.T, giant_t.T

    row_ids = np.arange(rows, dtype=U64)[:, None] << U64(32)
    baby_keys = (baby | row_ids).ravel()
    order = np.argsort(baby_keys, kind="stable")
    sorted_keys = baby_keys[order]
    # A repeated baby value means ord_p(b) < m: such rows are solved by walking one period.
    repeated = np.zeros(rows, dtype=bool)
    dup = sorted_keys[1:] == sorted_keys[:-1]
    repeated[(sorted_keys[1:][dup] >> U64(32)).astype(np.int64)] = True

    giant_keys = (giant | row_ids).ravel()
    pos = np.searchsorted(sorted_keys, giant_keys)
    pos_clipped = np.minimum(pos, len(sorted_keys) - 1)
    match = sorted_keys[pos_clipped] == giant_keys
    match_idx = np.flatnonzero(match)
    hit_rows = match_idx // giants
    hit_g = match_idx % giants
    hit_i = order[pos_clipped[match_idx]] % m
    hit_n = lo + hit_g * m + hit_i
    keep = (hit_n < hi) & ~repeated[hit_rows]
    primes_out = [p[hit_rows[keep]]]
    n_out = [hit_n[keep].astype(np.int64)]

    for r in np.flatnonzero(repeated).tolist():
        q = int(p[r])
        rp, rn = _hits_small_order(k, b, c, lo, hi, q)
        primes_out.append(np.array(rp, dtype=U64))
        n_out.append(np.array(rn, dtype=np.int64))
    return np.concatenate(primes_out), np.concatenate(n_out)


def _hits_small_order(k: int, b: int, c: int, lo: int, hi: int, q: int) -> tuple[list[int], list[int]]:
    """Walk one period of b^n mod q (short by construction) and repeat each hit through the range."""
    x = pow(b, lo, q)
    want = (-c) % q
    found: list[int] = []
    order = None
    first = x
    for j in range(hi - lo):
        if (k * x) % q == want:
            found.append(lo + j)
        x = (x * b) % q
        if x == first:
            order = j + 1
            break
    if order is None:
        return [q] * len(found), found
    ns = [n for n0 in found for n in range(n0, hi, order)]
    return [q] * len(ns), ns


def sieve_kbn(
    k: int,
    b: int,
    c: int,
    lo: int,
    hi: int,
    prime_chunks: Iterable[np.ndarray],
    progress: Callable[[int], None] | None = None,
    batch: int = 0,
) -> np.ndarray:
    """Smallest sieve prime dividing k*b^n + c for each n in [lo, hi), 0 where none was found.

    A prime equal to N itself is never recorded: such an N is prime, not struck.
    """
    span = hi - lo
    factors = np.zeros(span, dtype=U64)
    if span <= 0:
        return factors
    m = max(1, int(np.ceil(np.sqrt(span))))
    # About 2^19 baby+giant keys per batch: the sort and search arrays stay cache-sized
    # (2^22 measured 1.3-1.7x slower, benchmarks/RESULTS.md "Sieve").
    batch = batch or max(256, min(1 << 16, (1 << 19) // (2 * m + 1)))
    # n = 0 gives N = k + c, where primes dividing b are not excluded: trial-divide it directly.
    start = max(lo, 1)
    for chunk in prime_chunks:
        chunk = np.asarray(chunk, dtype=U64)
        if len(chunk) and int(chunk[-1]) >= MAX_PRIME:
            raise ValueError("sieve primes must be below 2^32")
        if lo == 0 and factors[0] == 0 and k + c > 1:
            divides = chunk[(U64(k + c) % chunk == 0) & (chunk < U64(k + c))]
            if len(divides):
                factors[0] = divides[0]
        for s in range(0, len(chunk) if start < hi else 0, batch):
            p = chunk[s : s + batch]
            p = p[(U64(b) % p != 0) & (_mod_big(k, p) != 0)]
            if len(p) == 0:
                continue
            hit_p, hit_n = _hits_in_batch(k, b, c, start, hi, p)
            _record(factors, hit_p, hit_n - lo, k, b, c, lo)
        if progress is not None:
            progress(len(chunk))
    return factors


def _mod_big(k: int, p: np.ndarray) -> np.ndarray:
    return U64(k) % p if k < MAX_PRIME else np.array([k % int(q) for q in p.tolist()], dtype=U64)


def _record(factors: np.ndarray, hit_p: np.ndarray, offset: np.ndarray, k: int, b: int, c: int, lo: int) -> None:
    if len(hit_p) == 0:
        return
    # Keep the smallest prime per n: process hits in descending prime order so smaller ones win.
    order = np.argsort(hit_p)[::-1]
    hit_p, offset = hit_p[order], offset[order]
    keep = np.ones(len(hit_p), dtype=bool)
    for idx in np.flatnonzero(offset < 64 - lo).tolist():  # only n < 64 can give N < 2^32
        if k * b ** (lo + int(offset[idx])) + c == int(hit_p[idx]):
            keep[idx] = False
    hit_p, offset = hit_p[keep], offset[keep]
    existing = factors[offset]
    better = (existing == 0) | (hit_p < existing)
    factors[offset[better]] = hit_p[better]
