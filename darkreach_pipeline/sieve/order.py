"""Sieve numbers whose prime factors have a known multiplicative order: Wagstaff and repunits.

For an odd prime e, a prime q divides (2^e+1)/3 (q != 3) iff 2^e = -1 mod q, and q divides
(b^e-1)/(b-1) (q not dividing b-1) iff b^e = 1 mod q. Either way ord_q(base) is e or 2e, so
q = 1 (mod 2e): only one number in every 2e can be a factor.

Direction: for each exponent e of the block, the candidates q = 2ke+1 inside the current chunk
of sieve primes are kept when they are in the chunk (a binary search), then tested with one
vectorised base^e mod q. That is span/(2e) terms per exponent and chunk, against the chunk's whole
prime count (~span/ln q) per exponent the other way round (for each sieve prime q: does 2e divide
q-1?), so the progression wins by 2e/ln(q) once 2e > ln(q) (e > 11 at q ~ 2^32), and by ~10^5 at
e ~ 10^6: for the exponents worth sieving the sieve costs little more than generating the primes.
Exponents so small that the progression has more terms than the chunk has primes use the other
direction (a q = 1 mod 2e mask over the chunk).
All residues are below q < 2^32, so products fit in uint64.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

import numpy as np

from darkreach_pipeline import cost_model

U64 = np.uint64
MAX_PRIME = 2**32
# Measured here (2 cores, numpy 2.4, depth 2^28): generating the sieve primes costs ~43 ns per prime and
# dominates; each progression term (search + powmod) adds ~80 ns.
SIEVE_NS_PER_PRIME = 45.0
SIEVE_NS_PER_TERM = 80.0


def powmod_vector(base: np.ndarray, exponent: np.ndarray, q: np.ndarray) -> np.ndarray:
    """base^exponent mod q elementwise (uint64, q < 2^32, base < q): square-and-multiply."""
    result = np.ones_like(q) % q
    base = base.copy()
    exponent = exponent.astype(U64, copy=True)
    while exponent.any():
        odd = (exponent & U64(1)).astype(bool)
        result = np.where(odd, (result * base) % q, result)
        base = (base * base) % q
        exponent >>= U64(1)
    return result


def _progression_candidates(
    exponents: np.ndarray, modulus: np.ndarray, chunk: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(q, row) for every q in `chunk` with q = 1 mod modulus[row]; chunk is ascending primes."""
    first, last = int(chunk[0]), int(chunk[-1])
    k0 = -(-(first - 1) // modulus.astype(np.int64))
    k1 = (last - 1) // modulus.astype(np.int64)
    counts = np.maximum(k1 - k0 + 1, 0)
    dense = counts > len(chunk)  # tiny exponents: a mask over the chunk is cheaper than the progression
    qs: list[np.ndarray] = []
    rows: list[np.ndarray] = []
    for r in np.flatnonzero(dense).tolist():
        hit = chunk[chunk % U64(int(modulus[r])) == U64(1)]
        qs.append(hit)
        rows.append(np.full(len(hit), r, dtype=np.int64))
    sparse = np.flatnonzero(~dense & (counts > 0))
    if len(sparse):
        c = counts[sparse]
        total = int(c.sum())
        row = np.repeat(sparse, c)
        starts = np.repeat(np.cumsum(c) - c, c)
        k = np.arange(total, dtype=np.int64) - starts + np.repeat(k0[sparse], c)
        cand = (U64(1) + modulus[row] * k.astype(U64)).astype(U64)
        pos = np.searchsorted(chunk, cand)
        inside = pos < len(chunk)
        inside[inside] = chunk[pos[inside]] == cand[inside]
        qs.append(cand[inside])
        rows.append(row[inside])
    if not qs:
        return np.zeros(0, dtype=U64), np.zeros(0, dtype=np.int64)
    return np.concatenate(qs).astype(U64), np.concatenate(rows)


def sieve_by_order(
    lo: int,
    hi: int,
    exponents: Mapping[int, int],
    base: int,
    residue: int,
    prime_chunks: Iterable[np.ndarray],
    progress: Callable[[int], None] | None = None,
    *,
    numbers_below_2_32: Mapping[int, int] | None = None,
    known_divisors: Mapping[int, int] | None = None,
) -> np.ndarray:
    """Smallest sieve prime q dividing each candidate, 0 where none: int64 array for lo..hi-1.

    `exponents` maps an axis value to its exponent e (1 < e); every other axis value stays 0.
    q is a factor iff q = 1 (mod e, and mod 2e for odd e), base^e = residue (mod q) and base != 1
    (mod q) (which rules out repunit primes q | b-1, where R_e = e mod q).
    `numbers_below_2_32`: axis value -> N for the N a sieve prime could equal; q = N is never recorded.
    `known_divisors`: axis value -> a prime known to divide N (repunits: e when e | b-1), recorded when
    it is among the sieve primes.
    """
    span = hi - lo
    factors = np.zeros(max(span, 0), dtype=np.int64)
    if span <= 0:
        return factors
    if base >= MAX_PRIME:
        raise ValueError("the base must be below 2^32")
    equal = dict(numbers_below_2_32 or {})
    known = {v: q for v, q in (known_divisors or {}).items() if lo <= v < hi}
    alive = sorted((v, e) for v, e in exponents.items() if lo <= v < hi and e > 1)
    for chunk in prime_chunks:
        chunk = np.asarray(chunk, dtype=U64)
        if len(chunk) and int(chunk[-1]) >= MAX_PRIME:
            raise ValueError("sieve primes must be below 2^32")
        if len(chunk) and alive:
            first, last = int(chunk[0]), int(chunk[-1])
            found: dict[int, int] = {}
            for v, q in known.items():
                if first <= q <= last and factors[v - lo] == 0 and q != equal.get(v):
                    at = int(np.searchsorted(chunk, U64(q)))
                    if at < len(chunk) and int(chunk[at]) == q:
                        found[v] = q
            values = np.array([v for v, _ in alive], dtype=np.int64)
            exps = np.array([e for _, e in alive], dtype=U64)
            modulus = np.where(exps % U64(2) == U64(1), U64(2) * exps, exps).astype(U64)
            q, row = _progression_candidates(exps, modulus, chunk)
            if len(q):
                b_q = U64(base) % q
                target = np.ones_like(q) if residue == 1 else q - U64(1)
                hit = (powmod_vector(b_q, exps[row], q) == target) & (b_q != U64(1))
                for r, p in zip(row[hit].tolist(), q[hit].tolist(), strict=True):
                    v = int(values[r])
                    if p != equal.get(v) and (v not in found or p < found[v]):
                        found[v] = p
            for v, p in found.items():
                factors[v - lo] = p
            alive = [(v, e) for v, e in alive if v not in found]
            known = {v: q for v, q in known.items() if v not in found}
        if progress is not None:
            progress(len(chunk))
    return factors


def order_survival(exponent: float, depth: float) -> float:
    """Share of axis values near a prime `exponent` e left by a sieve to `depth`: e prime (1/ln e) and no factor
    below depth, whose factors are 2ke+1 (ln(2e)/ln(depth), the Mersenne heuristic)."""
    e = max(exponent, 3.0)
    return min(1.0, math.log(2 * e) / math.log(max(depth, 2 * e))) / math.log(e)


def order_sieve_depth(
    exponent: float, span: int, test_seconds: float, survival_at: Callable[[float, float], float]
) -> int:
    """Depth where one more sieve prime costs as much as the tests it saves (cost_model.balanced_depth).

    A block of `span` axis values near `exponent` holds ~span/ln(e) exponents, each meeting ln(q)/(2e)
    progression terms per sieve prime q; `survival_at(e, depth)` is the share of axis values tested.
    """
    e = max(exponent, 3.0)
    exponents = span / math.log(e)

    def seconds_per_prime(depth: float) -> float:
        terms = exponents * math.log(depth) / (2 * e)
        return cost_model.sieve_seconds_per_prime(SIEVE_NS_PER_PRIME * 1e-9, SIEVE_NS_PER_TERM * 1e-9, terms)

    return cost_model.balanced_depth(lambda depth: span * survival_at(e, depth), test_seconds, seconds_per_prime)
