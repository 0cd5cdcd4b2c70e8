"""Probable-prime tests and the deterministic answer for small numbers."""

from __future__ import annotations

import gmpy2
from gmpy2 import mpz

DETERMINISTIC_LIMIT = mpz(1) << 64  # BPSW has been checked exhaustively below 2^64


def is_prime_small(N: int) -> bool:
    """Deterministic for N < 2^64 (BPSW: strong base 2 + strong Lucas, no exception below 2^64)."""
    if N >= DETERMINISTIC_LIMIT:
        raise ValueError(f"{N} is not below 2^64")
    if N < 2:
        return False
    if N < 4:
        return True
    return bool(gmpy2.is_strong_bpsw_prp(N)) if N % 2 else False


def is_bpsw_probable_prime(N: int) -> bool:
    return N > 1 and (N == 2 or (N % 2 == 1 and bool(gmpy2.is_strong_bpsw_prp(N))))
