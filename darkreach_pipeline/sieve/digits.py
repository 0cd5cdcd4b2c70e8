"""N mod p for numbers given by their digits, vectorised over a batch of sieve primes (p < 2^32).

Forms whose candidates are digit patterns (palindromes, near-repdigits) never build N to sieve it:
N mod p is a sum of digit * base^position mod p, and the powers are tabulated once per prime batch.
All residues stay below 2^32, so every product fits in uint64; sums are reduced after each step.
"""

from __future__ import annotations

import numpy as np

from darkreach_pipeline.sieve.primes import powmod_vector

U64 = np.uint64
MAX_PRIME = 2**32
GRID_CELLS = 1 << 21  # elements compared per numpy call in grid_divisors (cache-sized)


def check_primes(primes: np.ndarray) -> np.ndarray:
    """The chunk as uint64, refusing primes >= 2^32 (their products would overflow)."""
    primes = np.asarray(primes, dtype=U64)
    if len(primes) and int(primes[-1]) >= MAX_PRIME:
        raise ValueError("sieve primes must be below 2^32")
    return primes


def pow_mod(base: int, exponent: int, primes: np.ndarray) -> np.ndarray:
    """base^exponent mod p for every prime p (one exponent, square-and-multiply over the vector)."""
    return powmod_vector(_mod_scalar(base, primes), exponent, primes)


def power_table(base: int, start: int, count: int, primes: np.ndarray) -> np.ndarray:
    """(count, len(primes)) table of base^(start+i) mod p, filled by doubling (log2(count) numpy calls)."""
    table = np.empty((count, len(primes)), dtype=U64)
    if count == 0:
        return table
    table[0] = pow_mod(base, start, primes)
    filled = 1
    while filled < count:
        step = pow_mod(base, filled, primes)
        take = min(filled, count - filled)
        np.remainder(table[:take] * step, primes, out=table[filled : filled + take])
        filled += take
    return table


def digit_columns(values: np.ndarray, base: int, width: int) -> np.ndarray:
    """(len(values), width) base-`base` digits of each value, most significant first."""
    values = np.asarray(values, dtype=U64)
    out = np.empty((len(values), width), dtype=U64)
    for i in range(width - 1, -1, -1):
        out[:, i] = values % U64(base)
        values = values // U64(base)
    return out


def weighted_residues(digits: np.ndarray, weights: np.ndarray, primes: np.ndarray) -> np.ndarray:
    """(n, P) residues sum_i digits[:, i] * weights[i, :] mod p; digits < 2^31, weights < p."""
    out = np.zeros((digits.shape[0], len(primes)), dtype=U64)
    for i in range(digits.shape[1]):
        out += digits[:, i : i + 1] * weights[i][None, :]
        out %= primes
    return out


def grid_divisors(
    rows: np.ndarray, cols: np.ndarray, primes: np.ndarray, first: int, factors: np.ndarray
) -> None:
    """Record the smallest prime dividing each number rows[r] + cols[c] (residues mod p, shapes (R, P), (C, P)).

    Numbers are the grid cells in row-major order; cell `first + i` is factors[i]. Only factors
    still 0 are written (primes arrive in ascending order, so the first hit is the smallest).
    The caller guarantees no number equals a prime here (N > 2^32).
    """
    n_cols = cols.shape[0]
    targets = (primes[None, :] - rows) % primes  # cols[c] == -rows[r] mod p  <=>  p | N
    count = len(factors)
    batch = max(1, GRID_CELLS // max(1, n_cols * len(primes)))
    r_first, r_last = first // n_cols, (first + count - 1) // n_cols
    for r0 in range(r_first, r_last + 1, batch):
        r1 = min(r0 + batch, r_last + 1)
        hit = (cols[None, :, :] == targets[r0:r1, None, :]).reshape(-1, len(primes))  # (cells, primes)
        cells = np.arange(r0 * n_cols - first, r1 * n_cols - first)
        inside = (cells >= 0) & (cells < count)
        record_first(hit[inside], primes, factors, cells[inside])


def exact_divisors(values: np.ndarray, primes: np.ndarray, factors: np.ndarray) -> None:
    """Smallest prime p != N dividing each exact N in `values` (uint64), written where factors is 0.

    For numbers small enough to equal a sieve prime: a prime is never struck by itself.
    """
    values = np.asarray(values, dtype=U64)
    todo = np.flatnonzero(factors == 0)
    if len(todo) == 0 or len(primes) == 0:
        return
    batch = max(1, GRID_CELLS // len(primes))
    for s in range(0, len(todo), batch):
        idx = todo[s : s + batch]
        N = values[idx][:, None]
        record_first((N % primes[None, :] == 0) & (N != primes[None, :]), primes, factors, idx)


def record_first(hit: np.ndarray, primes: np.ndarray, factors: np.ndarray, idx: np.ndarray) -> None:
    """hit[i, j]: primes[j] divides number idx[i]; write the smallest such prime where factors is still 0."""
    flat = np.flatnonzero(hit)  # hits are rare (about sum 1/p per number): index them, not the whole array
    if len(flat) == 0:
        return
    rows, cols = np.divmod(flat, hit.shape[1])
    first = np.ones(len(rows), dtype=bool)  # row-major order: a row's first hit is its smallest prime
    first[1:] = rows[1:] != rows[:-1]
    cells, smallest = idx[rows[first]], primes[cols[first]]
    fresh = factors[cells] == 0
    factors[cells[fresh]] = smallest[fresh]


def _mod_scalar(x: int, primes: np.ndarray) -> np.ndarray:
    if 0 <= x < MAX_PRIME:
        return U64(x) % primes
    return np.array([x % int(p) for p in primes.tolist()], dtype=U64)
