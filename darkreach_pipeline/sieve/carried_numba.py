"""Compiled (numba) walk of the carried-product sieve: r <- r*m mod q for a batch of primes, hits for both signs.

One step multiplies every prime's residue by the step's factor m (the inner loop runs over the primes, which
are independent, so it pipelines and vectorises), then one scan compares each residue with -1 and +1 at once:
F+1 and F-1 cost one mulmod per prime per value together, as in mfsieve. The mulmod is float64 (x = r*m
exact below 2^52, quotient from a precomputed 1/q, then one correction each way, so residues stay in [0, q))
when every q*m < 2^52, else uint64 with a remainder (r*m < 2^64 for q, m < 2^32).
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True)
def _empty():
    return [np.int64(0) for _ in range(0)]


@nb.njit(cache=True)
def _scan(r, q, step, want_plus, want_minus, steps, cols, signs):
    for j in range(len(r)):
        v = r[j]
        if want_plus and v == q[j] - 1:
            steps.append(step)
            cols.append(j)
            signs.append(1)
        if want_minus and v == 1:
            steps.append(step)
            cols.append(j)
            signs.append(-1)


@nb.njit(cache=True)
def walk_float(r, q, multipliers, want_plus, want_minus):
    """(steps, cols, signs) of every hit; r (float64 residues) is carried in place. Needs q*m < 2^52."""
    inv = 1.0 / q
    steps, cols, signs = _empty(), _empty(), _empty()
    for i in range(len(multipliers)):
        m = np.float64(multipliers[i])
        if m != 1.0:
            for j in range(len(r)):
                x = r[j] * m
                y = x - np.floor(x * inv[j]) * q[j]
                y = y - q[j] if y >= q[j] else y
                r[j] = y + q[j] if y < 0.0 else y
        _scan(r, q, np.int64(i), want_plus, want_minus, steps, cols, signs)
    return np.array(steps, dtype=np.int64), np.array(cols, dtype=np.int64), np.array(signs, dtype=np.int64)


@nb.njit(cache=True)
def walk_uint64(r, q, multipliers, want_plus, want_minus):
    """walk_float in uint64 (q, m < 2^32), for q*m at or above 2^52."""
    steps, cols, signs = _empty(), _empty(), _empty()
    for i in range(len(multipliers)):
        m = np.uint64(multipliers[i])
        if m != 1:
            for j in range(len(r)):
                r[j] = r[j] * m % q[j]
        _scan(r, q, np.int64(i), want_plus, want_minus, steps, cols, signs)
    return np.array(steps, dtype=np.int64), np.array(cols, dtype=np.int64), np.array(signs, dtype=np.int64)
