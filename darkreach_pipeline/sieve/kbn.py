"""Sieve k*b^n + c over a range of n: baby-step giant-step, one discrete log per prime.

For a prime p not dividing k*b, p | k*b^n + c  <=>  b^n = -c/k (mod p), a discrete log in <b>,
solved for every n in the range with about 2*sqrt(R) multiplications per prime by the compiled
kernel in kbn_numba (Montgomery arithmetic, quadratic-character filter; see that module). The kernel
(and numba) is imported on the first sieve, not with the form registry: most processes never sieve.
With DARKREACH_GPU (arith/array_module.py) the primes go to the device sieve (kbn_xp) instead, with the
same result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import ModuleType

import numpy as np

from darkreach_pipeline.arith.array_module import selected_array_module

U64 = np.uint64
MAX_PRIME = 2**32


def seconds_per_prime(span: int) -> float:
    """CPU seconds one sieve prime costs over `span` values of n (the auto sieve depth's model): measured
    0.23 / 0.44 / 1.33 us at span 500 / 5,000 / 50,000 (benchmarks/RESULTS.md, "Sieve: numba BSGS")."""
    return 0.022e-6 * span**0.38


def sieve_kbn(
    k: int,
    b: int,
    c: int,
    lo: int,
    hi: int,
    prime_chunks: Iterable[np.ndarray],
    progress: Callable[[int], None] | None = None,
    batch: int = 0,
    xp: ModuleType | None = None,
) -> np.ndarray:
    """Smallest sieve prime dividing k*b^n + c for each n in [lo, hi), 0 where none was found.

    A prime equal to N itself is never recorded: such an N is prime, not struck. `batch` (0: whole
    chunks) is the number of primes per kernel call; it never changes the result. `xp` runs the device sieve
    on that array module (default: the one DARKREACH_GPU selects, else the CPU kernel).
    """
    from darkreach_pipeline.sieve.kbn_numba import hash_table, limbs, sieve_chunk
    from darkreach_pipeline.sieve.kbn_xp import sieve_chunk_xp

    xp = xp if xp is not None else selected_array_module()
    span = hi - lo
    factors = np.zeros(span, dtype=U64)
    if span <= 0:
        return factors
    # n = 0 gives N = k + c, where primes dividing b are not excluded: trial-divide it directly.
    start = max(lo, 1)
    table = hash_table(hi - start)
    k_limbs, b_limbs = limbs(k), limbs(b)
    for chunk in prime_chunks:
        chunk = np.ascontiguousarray(chunk, dtype=U64)
        if len(chunk) and int(chunk.max()) >= MAX_PRIME:
            raise ValueError("sieve primes must be below 2^32")
        if lo == 0 and factors[0] == 0 and k + c > 1:
            rem = U64(k + c) % chunk if k + c < 2**64 else np.array([(k + c) % q for q in chunk.tolist()], dtype=U64)
            divides = chunk[(rem == 0) & (chunk < U64(min(k + c, 2**64 - 1)))]
            if len(divides):
                factors[0] = divides[0]
        step = batch or max(len(chunk), 1)
        for s in range(0, len(chunk) if start < hi else 0, step):
            if xp is not None:
                sieve_chunk_xp(xp, chunk[s : s + step], k, b, c, lo, start, hi, factors)
            else:
                sieve_chunk(chunk[s : s + step], k_limbs, b_limbs, c, lo, start, hi, factors, *table)
        if progress is not None:
            progress(len(chunk))
    # Only n < 64 can give N < 2^32: a recorded p = N means N is that prime, with no smaller factor.
    for n in range(start, min(hi, 64)):
        if int(factors[n - lo]) == k * b**n + c:
            factors[n - lo] = 0
    return factors
