"""Sieve F(v)+c for a running product F (n!, p#): F(v) mod q carried across the block for each sieve prime q.

q | F(v)+c  <=>  F(v) = -c (mod q): residue q-1 for c = +1, residue 1 for c = -1. For a batch of
primes the residues start at F(lo-1) mod q and are multiplied by the block's factors one value at
a time over the batch by a compiled loop (sieve/carried_numba.py: one mulmod per prime per value, as
mfsieve does, and both signs F+1 and F-1 from the same walk).

The start F(lo-1) mod q comes from a gmpy2 remainder tree over the batch: F(lo-1) is one big number
built once per block, and the tree costs about a microsecond per prime whatever lo is, where
carrying the product from 1 would cost lo mulmods per prime (benchmarks/RESULTS.md, "Factorial
sieve"). A prime q <= lo-1 divides F(lo-1) (residue 0 forever), so only q >= lo are used; a prime
inside the block zeroes its residue from its own value on (q | F(v) for v >= q): never a false hit.

The mulmod runs in float64 (x = r*m exact below 2^52, quotient floor(x/q) from a precomputed 1/q) and in
uint64 when q*m might reach 2^52.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache

import numpy as np
from gmpy2 import mpz

from darkreach_pipeline import cost_model
from darkreach_pipeline.sieve.primes import small_primes

U64 = np.uint64
MAX_PRIME = 2**32  # residues < 2^32 and multipliers < 2^32: products fit in uint64
FLOAT_EXACT = 2**52  # r*m < q*m < 2^52: exact in float64, and floor(x * (1/q)) is off only when q | x
BATCH = 1 << 14  # primes per batch: 16k measured fastest for both the tree and the walk
EULER_GAMMA = 0.5772156649


def remainders(x: mpz, primes: np.ndarray) -> np.ndarray:
    """x mod q for every prime q < 2^32 of `primes` (uint64), by a product/remainder tree.

    The tree's leaves are products of two primes (< 2^64), whose remainders numpy finishes; the
    levels above are gmpy2 products, so one big reduction of x serves the whole batch.
    """
    q = np.asarray(primes, dtype=U64)
    if len(q) == 0:
        return q.copy()
    x = mpz(x)
    if x < 0:
        raise ValueError("remainders() needs x >= 0")
    if x.bit_length() <= 64:
        return U64(int(x)) % q
    padded = q if len(q) % 2 == 0 else np.append(q, U64(1))
    level = list(map(mpz, (padded[0::2] * padded[1::2]).tolist()))
    levels = [level]
    while len(level) > 1:
        if len(level) % 2:
            level.append(mpz(1))
        level = list(map(operator.mul, level[0::2], level[1::2]))
        levels.append(level)
    rems = [x % level[0]]
    for level in reversed(levels[:-1]):
        doubled = [r for r in rems for _ in (0, 1)][: len(level)]
        rems = list(map(operator.mod, doubled, level))
    pair_rems = np.array(list(map(int, rems[: len(padded) // 2])), dtype=U64)
    out = np.empty(len(padded), dtype=U64)
    out[0::2] = pair_rems % padded[0::2]
    out[1::2] = pair_rems % padded[1::2]
    return out[: len(q)]


def walk(
    start: np.ndarray, primes: np.ndarray, multipliers: Sequence[int], c: int, use_float: bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Carry r = start (mod q) through r <- r*m for each m of `multipliers`; return the hits.

    Returns (step index, column) pairs where the residue after that step is -c mod q. `use_float`
    forces an arithmetic (benchmarks); by default float64 when every q*m < 2^52, else uint64.
    """
    return walk_signs(start, primes, multipliers, (c,), use_float)[0]


def walk_signs(
    start: np.ndarray, primes: np.ndarray, multipliers: Sequence[int], signs: Sequence[int],
    use_float: bool | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """walk() for several signs c (+1, -1) at once: one carried product, one compare per value for both (F+1
    and F-1 from the same residues, as mfsieve does), so both signs cost one mulmod per prime per value, not two.
    The loop is compiled (sieve/carried_numba.py; numba is imported on the first sieve)."""
    from darkreach_pipeline.sieve.carried_numba import walk_float, walk_uint64

    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    q64 = np.asarray(primes, dtype=U64)
    if len(multipliers) == 0 or len(q64) == 0:
        return [empty for _ in signs]
    mult = np.asarray(multipliers, dtype=np.int64)
    largest = int(mult.max())
    if largest >= MAX_PRIME or int(q64.max()) >= MAX_PRIME:
        raise ValueError("multipliers and sieve primes must be below 2^32")
    if use_float is None:
        use_float = int(q64.max()) * max(largest, 1) < FLOAT_EXACT
    kernel, dtype = (walk_float, np.float64) if use_float else (walk_uint64, U64)
    r = np.array(start, dtype=dtype)
    steps, cols, hit_signs = kernel(r, q64.astype(dtype), mult, 1 in signs, -1 in signs)
    return [(steps[hit_signs == c], cols[hit_signs == c]) for c in signs]


def sieve_carried_product_signs(
    prefix: mpz,
    multipliers: Sequence[int],
    signs: Mapping[int, tuple[Sequence[bool] | None, Mapping[int, int] | None]],
    prime_chunks: Iterable[np.ndarray],
    progress: Callable[[int], None] | None = None,
    *,
    min_prime: int = 2,
    batch: int = BATCH,
) -> dict[int, np.ndarray]:
    """Smallest sieve prime q dividing F(v)+c for each value v of a block and each sign c of `signs` (int64, 0
    where none), in one pass: one remainder tree and one walk serve F(v)+1 and F(v)-1 together.

    prefix = F(lo-1); multipliers[i] = F(lo+i)/F(lo+i-1) (1 where the product does not change);
    signs = {c: (candidates, exact)}: candidates[i] = False for values whose hits are ignored, `exact` maps an
    offset to its number when that is small enough to be a sieve prime itself (such a number is never struck by
    the prime it equals). Primes below `min_prime` (which divide the prefix) are skipped."""
    span = len(multipliers)
    factors = {c: np.zeros(span, dtype=np.int64) for c in signs}
    wanted_any = [any(cand is None or cand[i] for cand, _ in signs.values()) for i in range(span)]
    steps = [i for i in range(span) if multipliers[i] != 1 or wanted_any[i]]
    step_mult = [int(multipliers[i]) for i in steps]
    offsets = np.array(steps, dtype=np.int64)
    wanted = {c: np.ones(len(steps), dtype=bool) if cand is None else np.array([cand[i] for i in steps], dtype=bool)
              for c, (cand, _) in signs.items()}
    exacts = {c: dict(exact or {}) for c, (_, exact) in signs.items()}
    for chunk in prime_chunks:
        chunk = np.asarray(chunk, dtype=U64)
        if len(chunk) and int(chunk[-1]) >= MAX_PRIME:
            raise ValueError("sieve primes must be below 2^32")
        usable = chunk[chunk >= U64(max(min_prime, 2))] if steps else chunk[:0]
        for s in range(0, len(usable), batch):
            q = usable[s : s + batch]
            for c, (hit_steps, hit_cols) in zip(signs, walk_signs(remainders(prefix, q), q, step_mult, list(signs)),
                                                strict=True):
                keep = wanted[c][hit_steps]
                hit_off, hit_q = offsets[hit_steps[keep]], q[hit_cols[keep]].astype(np.int64)
                if exacts[c]:
                    genuine = np.array([exacts[c].get(int(o)) != int(p) for o, p in zip(hit_off, hit_q, strict=True)],
                                       dtype=bool)
                    hit_off, hit_q = hit_off[genuine], hit_q[genuine]
                _record(factors[c], hit_off, hit_q)
        if progress is not None:
            progress(len(chunk))
    return factors


def _record(factors: np.ndarray, offsets: np.ndarray, primes: np.ndarray) -> None:
    """Keep the smallest prime per value; values struck by an earlier (smaller) batch keep theirs."""
    if len(offsets) == 0:
        return
    order = np.lexsort((primes, offsets))
    offsets, primes = offsets[order], primes[order]
    first = np.ones(len(offsets), dtype=bool)
    first[1:] = offsets[1:] != offsets[:-1]
    offsets, primes = offsets[first], primes[first]
    free = factors[offsets] == 0
    factors[offsets[free]] = primes[free]


# ----- cost model shared by the factorial and primorial forms ------------------------------------------


@lru_cache(maxsize=1)
def _mertens_table() -> tuple[np.ndarray, np.ndarray]:
    primes = small_primes(1 << 16).astype(np.float64)
    return primes, np.cumprod(1.0 - 1.0 / primes)


def mertens(x: float) -> float:
    """prod over primes q <= x of (1 - 1/q): exact below 2^16, Mertens' e^-gamma / ln x above."""
    if x < 2:
        return 1.0
    primes, products = _mertens_table()
    if x < 1 << 16:
        return float(products[np.searchsorted(primes, x, side="right") - 1])
    return math.exp(-EULER_GAMMA) / math.log(x)


def survival(value: float, depth: float) -> float:
    """Share of F(value)+-1 left by a sieve to `depth`: primes q <= value never divide it, every
    q in (value, depth] does with probability 1/q (so ln(value)/ln(depth) for large numbers)."""
    if depth <= value:
        return 1.0
    return min(1.0, mertens(depth) / mertens(value))


# Measured on this machine (benchmarks/RESULTS.md "Factorial sieve"): seconds per sieve prime.
TREE_SECONDS = 0.45e-6  # remainder tree per prime, small prefix
TREE_SECONDS_PER_BIT = 0.5e-12  # ... growing with the size of F(lo-1)
WALK_SECONDS = 2.2e-9  # one float64 mulmod + compare per prime per value


def sieve_seconds_per_prime(prefix_bits: float, steps: int) -> float:
    """One sieve prime: the remainder tree for the block's prefix product, then one mulmod per step."""
    return cost_model.sieve_seconds_per_prime(TREE_SECONDS + TREE_SECONDS_PER_BIT * prefix_bits, WALK_SECONDS, steps)
