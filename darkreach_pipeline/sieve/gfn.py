"""Sieve generalized Fermat numbers b^(2^m) + 1 over a range of b.

An odd prime p divides b^(2^m) + 1 iff b has order exactly 2^(m+1) mod p, so only p = 1 (mod 2^(m+1))
can divide, and then exactly for the 2^m residues b = r^(2j+1) (mod p), where r = a^((p-1)/2^(m+1))
for a quadratic non-residue a (r^(2^m) = a^((p-1)/2) = -1). Only one prime in 2^m is eligible and each
brings 2^m roots, so the work per sieve prime stays about constant in m. Residues are < 2^32 and
every product fits in uint64; roots are generated in batches of at most ROOT_BUDGET.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import gmpy2
import numpy as np

U64 = np.uint64
MAX_PRIME = 2**32
ROOT_BUDGET = 1 << 20  # roots held at once (8 MB): keeps m = 24 (16.7M roots per prime) bounded
NON_RESIDUE_CANDIDATES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79)


def _powmod(base: np.ndarray, exponent: np.ndarray, p: np.ndarray) -> np.ndarray:
    """base^exponent mod p elementwise, with per-element exponents (all < 2^32)."""
    result = np.ones_like(p)
    base = base % p
    exponent = exponent.copy()
    while exponent.any():
        odd = (exponent & U64(1)).astype(bool)
        result = np.where(odd, result * base % p, result)
        base = base * base % p
        exponent >>= U64(1)
    return result


def primitive_roots_of_minus_one(m: int, p: np.ndarray) -> np.ndarray:
    """For primes p = 1 (mod 2^(m+1)): an r with r^(2^m) = -1 (mod p), i.e. of order 2^(m+1).

    a^((p-1)/2^(m+1)) for the least prime a that is a non-residue; every p < 2^32 has one below 80
    except a handful, which fall back to a scalar search.
    """
    r = np.zeros_like(p)
    todo = np.ones(len(p), dtype=bool)
    exponent = (p - U64(1)) >> U64(m + 1)
    for a in NON_RESIDUE_CANDIDATES:
        if not todo.any():
            break
        idx = np.flatnonzero(todo)
        q = p[idx]
        x = _powmod(np.full_like(q, a), exponent[idx], q)
        y = x.copy()
        for _ in range(m):
            y = y * y % q
        found = y == q - U64(1)
        r[idx[found]] = x[found]
        todo[idx[found]] = False
    for i in np.flatnonzero(todo).tolist():  # least non-residue above 79: never below 2^32 in practice
        q = int(p[i])
        a = next(a for a in range(2, q) if pow(a, (q - 1) // 2, q) == q - 1)
        r[i] = pow(a, (q - 1) >> (m + 1), q)
    return r


def _root_blocks(m: int, p: np.ndarray, r: np.ndarray, width: int):
    """Yield (rows, roots) with roots[i, :] a block of the 2^m values r_i^(2j+1) mod p_i, j ascending."""
    count = 1 << m
    r2 = r * r % p
    pw = np.empty((len(p), width), dtype=U64)  # r2^0 .. r2^(width-1) by doubling
    pw[:, 0] = 1
    filled, step = 1, r2.copy()
    while filled < width:
        take = min(filled, width - filled)
        pw[:, filled : filled + take] = pw[:, :take] * step[:, None] % p[:, None]
        filled += take
        step = step * step % p
    jump = _powmod(r2, np.full_like(p, width), p)  # r2^width
    start = r.copy()  # r * r2^j0
    for _ in range(0, count, width):
        yield start[:, None] * pw % p[:, None]
        start = start * jump % p


def sieve_gfn(
    m: int,
    lo: int,
    hi: int,
    prime_chunks: Iterable[np.ndarray],
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Smallest sieve prime dividing b^(2^m) + 1 for each b in [lo, hi) (int64), 0 where none was found.

    A prime equal to N itself (2^2+1 = 5, 2^4+1 = 17, 4^2+1 = 17, ...) is never recorded: such an N is prime.
    """
    span = hi - lo
    factors = np.zeros(max(span, 0), dtype=np.int64)
    if span <= 0:
        return factors
    modulus = 1 << (m + 1)
    tiny_b = int(gmpy2.iroot(gmpy2.mpz(MAX_PRIME), 1 << m)[0])  # only b <= tiny_b can give N = a sieve prime
    width = min(1 << m, ROOT_BUDGET)
    for chunk in prime_chunks:
        chunk = np.asarray(chunk, dtype=U64)
        if len(chunk) and int(chunk[-1]) >= MAX_PRIME:
            raise ValueError("sieve primes must be below 2^32")
        if len(chunk) and int(chunk[0]) == 2:  # odd b: N is even (b = 1 gives N = 2 itself)
            odd = np.arange(lo + (1 - lo % 2), hi, 2) - lo
            odd = odd[odd != 1 - lo]
            factors[odd[factors[odd] == 0]] = 2
        eligible = chunk[(chunk & U64(modulus - 1)) == U64(1)]
        rows = max(1, ROOT_BUDGET // width)
        for s in range(0, len(eligible), rows):
            p = eligible[s : s + rows]
            r = primitive_roots_of_minus_one(m, p)
            lo_mod = U64(lo) % p
            for roots in _root_blocks(m, p, r, width):
                offsets = (roots + (p - lo_mod)[:, None]) % p[:, None]  # first b >= lo on each root
                primes = np.broadcast_to(p[:, None], offsets.shape)
                near = offsets < U64(span)
                hit_p, hit_off = primes[near], offsets[near].astype(np.int64)
                hit_p, hit_off = _repeat_small_primes(hit_p, hit_off, span)
                _record(factors, hit_p, hit_off, lo, m, tiny_b)
        if progress is not None:
            progress(len(chunk))
    return factors


def _repeat_small_primes(hit_p: np.ndarray, hit_off: np.ndarray, span: int) -> tuple[np.ndarray, np.ndarray]:
    """A prime below the block span strikes every p-th b after its first hit: expand those hits."""
    small = hit_p < U64(span)
    if not small.any():
        return hit_p, hit_off
    sp, so = hit_p[small].astype(np.int64), hit_off[small]
    counts = (span - 1 - so) // sp + 1
    starts = np.cumsum(counts) - counts
    step = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(starts, counts)
    more_off = np.repeat(so, counts) + np.repeat(sp, counts) * step
    more_p = np.repeat(sp, counts).astype(U64)
    return np.concatenate([hit_p[~small], more_p]), np.concatenate([hit_off[~small], more_off])


def _record(factors: np.ndarray, hit_p: np.ndarray, offset: np.ndarray, lo: int, m: int, tiny_b: int) -> None:
    """Keep the smallest prime per b (primes arrive in ascending batches), never p = N itself."""
    if len(hit_p) == 0:
        return
    keep = np.ones(len(hit_p), dtype=bool)
    for idx in np.flatnonzero(offset <= tiny_b - lo).tolist():
        if (lo + int(offset[idx])) ** (1 << m) + 1 == int(hit_p[idx]):
            keep[idx] = False
    hit_p, offset = hit_p[keep], offset[keep]
    order = np.argsort(hit_p, kind="stable")[::-1]  # descending: the smallest prime is written last
    hit_p, offset = hit_p[order], offset[order]
    free = factors[offset] == 0
    factors[offset[free]] = hit_p[free].astype(np.int64)
