"""Proth's theorem: N = K*2^e + 1, K odd, K < 2^e is prime iff a^((N-1)/2) = -1 for a non-residue a."""

from __future__ import annotations

import gmpy2
from gmpy2 import mpz

MAX_WITNESS = 10_000


def proth_applies(K: int, e: int) -> bool:
    return K % 2 == 1 and e >= 1 and K < (1 << e)


def proth_witness(N: mpz) -> int | None:
    """Smallest a >= 3 with Jacobi(a, N) = -1, as LLR/PFGW choose it; None if there is none.

    A perfect square has no non-residue at all (3*2^3+1 = 25): checked first, so the search
    always ends.
    """
    if gmpy2.is_square(N):
        return None
    for a in range(3, MAX_WITNESS):
        j = gmpy2.jacobi(a, N)
        if j == -1:
            return a
        if j == 0 and a < N:  # a shares a factor with N
            return None
    return None
