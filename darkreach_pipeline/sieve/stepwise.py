"""Sieves that walk n one step at a time, vectorised over a batch of primes: Cullen/Woodall and Carol/Kynea.

Neither form is a pure discrete log (n appears outside the exponent, or 2^n appears squared), so the
baby-step giant-step of sieve/kbn.py does not apply. Instead every prime of a batch carries a residue
that moves from n to n+1 with additions and shifts only (no modular multiplication), and a candidate is
struck when the residue hits its target. Cost: a handful of numpy passes per n per batch.

Cullen/Woodall N = n*2^n + c: for an odd prime p, p | N <=> n = -c*2^(-n) (mod p). With
h(n) = -c*2^(-n) mod p, h(n+1) = h(n)/2 mod p (h even: h >> 1, odd: (h+p) >> 1), and r(n) = n mod p
counts up; strike n when h(n) = r(n). (This is f = n*2^n = -c with f <- 2f + 2g, g = 2^n, divided by 2^n.)

Carol/Kynea N = 4^n -+ 2^(n+1) - 1 = (2^n -+ 1)^2 - 2: q | N needs 2 to be a square mod q, so only
q = +-1 mod 8 can divide (q = 2 never does: N is odd). With A = 2^(n+1), B = 4^n mod q (both doubled per
step): Carol q | N <=> B = A + 1, Kynea q | N <=> A + B = 1 (mod q).

Residues stay below 2p during a step: the walk runs in uint32 when every prime of the batch is below 2^31,
else in uint64 (primes must be below 2^32, so the start values' products fit too).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from darkreach_pipeline import cost_model
from darkreach_pipeline.sieve.primes import powmod_vector

U64 = np.uint64
MAX_PRIME = 2**32
BATCH = 1 << 13  # primes per batch: the working arrays stay in L2 (a few 64 KB vectors)
EXACT_BELOW = 64  # n below this can give N < 2^32 = a sieve prime: compared with N exactly
# Sieve cost per prime and per n, measured on one core: 1.3-1.5 ns (Cullen/Woodall at R = 2000..20000, primes
# < 10^7, the uint32 path; Carol/Kynea ~1.3 ns, only primes = +-1 mod 8 do work), plus a per-batch set-up.
SECONDS_PER_PRIME_STEP = 1.5e-9
SETUP_SECONDS_PER_PRIME = 1e-7


def seconds_per_prime(span: int) -> float:
    """CPU seconds one sieve prime costs over `span` values of n (the auto sieve depth's model)."""
    return cost_model.sieve_seconds_per_prime(SETUP_SECONDS_PER_PRIME, SECONDS_PER_PRIME_STEP, span)


def _double(x: np.ndarray, p: np.ndarray, scratch: np.ndarray) -> None:
    """x <- 2x mod p in place (x < p). Branch-free: 2x - p wraps around to a huge value when 2x < p, so
    the minimum picks the reduced one (a masked subtraction mispredicts on random masks: 5x slower)."""
    x <<= x.dtype.type(1)
    np.subtract(x, p, out=scratch)
    np.minimum(x, scratch, out=x)


def _record(factors: np.ndarray, offset: int, primes: np.ndarray, number: Callable[[int], int] | None) -> None:
    """Keep the smallest prime striking candidate `offset` (primes ascending); never N's own value."""
    for q in primes.tolist():
        if number is not None and number(offset) == q:
            continue
        if factors[offset] == 0 or q < factors[offset]:
            factors[offset] = q
        return


def _check_chunk(chunk: np.ndarray) -> np.ndarray:
    chunk = np.asarray(chunk, dtype=U64)
    if len(chunk) and int(chunk[-1]) >= MAX_PRIME:
        raise ValueError("sieve primes must be below 2^32")
    return chunk


def sieve_cullen_woodall(
    c: int,
    lo: int,
    hi: int,
    prime_chunks: Iterable[np.ndarray],
    progress: Callable[[int], None] | None = None,
    batch: int = BATCH,
) -> np.ndarray:
    """Smallest sieve prime dividing n*2^n + c (c = +-1) for each n in [lo, hi), 0 where none was found.

    A prime equal to N itself is never recorded (such an N is prime, not struck).
    """
    if c not in (1, -1):
        raise ValueError(f"c must be +1 or -1, got {c}")
    span = max(0, hi - lo)
    factors = np.zeros(span, dtype=np.int64)

    def exact(offset: int) -> int:
        n = lo + offset
        return n * 2**n + c if n < EXACT_BELOW else -1

    for chunk in prime_chunks:
        chunk = _check_chunk(chunk)
        odd = chunk[chunk > U64(2)]  # N is odd for n >= 1 and N = c for n = 0: 2 never divides
        for s in range(0, len(odd) if span else 0, batch):
            p = odd[s : s + batch]
            # p < hi needs n mod p; larger primes have n mod p = n, a scalar comparison.
            small = int(np.searchsorted(p, U64(hi)))
            for part, wrap in ((p[:small], True), (p[small:], False)):
                if len(part):
                    _cullen_batch(c, lo, hi, part, wrap, factors, exact)
        if progress is not None:
            progress(len(chunk))
    return factors


def _cullen_batch(
    c: int, lo: int, hi: int, p: np.ndarray, wrap: bool, factors: np.ndarray, exact: Callable[[int], int]
) -> None:
    t = powmod_vector((p + U64(1)) >> U64(1), lo, p)  # 2^(-lo): (p+1)/2 is the inverse of 2
    h = t if c == -1 else (p - t) % p  # -c * 2^(-lo)
    dt = _narrow(p)
    p, h = p.astype(dt), h.astype(dt)
    r = (U64(lo) % p).astype(dt) if wrap else None
    one = dt(1)
    hit = np.empty(len(p), dtype=bool)
    odd = np.empty(len(p), dtype=dt)
    for n in range(lo, hi):
        if wrap:
            np.equal(h, r, out=hit)
        else:
            np.equal(h, dt(n), out=hit)
        if hit.any():
            _record(factors, n - lo, p[hit], exact if n < EXACT_BELOW else None)
        if wrap:
            r += one
            np.equal(r, p, out=hit)
            r[hit] = 0
        np.bitwise_and(h, one, out=odd)  # h <- h/2 mod p: h + p is even when h is odd
        odd *= p
        h += odd
        h >>= one


def sieve_carol_kynea(
    sign: int,
    lo: int,
    hi: int,
    prime_chunks: Iterable[np.ndarray],
    progress: Callable[[int], None] | None = None,
    batch: int = BATCH,
) -> np.ndarray:
    """Smallest sieve prime dividing (2^n + sign)^2 - 2 (sign -1: Carol, +1: Kynea) for each n in [lo, hi).

    0 where none was found; a prime equal to N itself is never recorded.
    """
    if sign not in (1, -1):
        raise ValueError(f"sign must be +1 or -1, got {sign}")
    span = max(0, hi - lo)
    factors = np.zeros(span, dtype=np.int64)

    def exact(offset: int) -> int:
        n = lo + offset
        return (2**n + sign) ** 2 - 2

    for chunk in prime_chunks:
        chunk = _check_chunk(chunk)
        eighth = chunk & U64(7)
        useful = chunk[(eighth == U64(1)) | (eighth == U64(7))]  # 2 is a square mod q
        for s in range(0, len(useful) if span else 0, batch):
            _carol_batch(sign, lo, hi, useful[s : s + batch], factors, exact)
        if progress is not None:
            progress(len(chunk))
    return factors


def _carol_batch(
    sign: int, lo: int, hi: int, q: np.ndarray, factors: np.ndarray, exact: Callable[[int], int]
) -> None:
    x = powmod_vector(np.full(len(q), 2, dtype=U64), lo, q)
    dt = _narrow(q)
    A = (x * U64(2) % q).astype(dt)  # 2^(n+1)
    B = (x * x % q).astype(dt)  # 4^n
    q = q.astype(dt)
    # A and B are powers of 2, never 0 mod q, so each congruence has a single integer form:
    # Carol B = A + 1 (mod q) <=> B - A = 1; Kynea A + B = 1 (mod q) <=> A + B = q + 1.
    target = dt(1) if sign == -1 else q + dt(1)
    scratch = np.empty(len(q), dtype=dt)
    hit = np.empty(len(q), dtype=bool)
    s = np.empty(len(q), dtype=dt)
    for n in range(lo, hi):
        if sign == -1:
            np.subtract(B, A, out=s)
        else:
            np.add(A, B, out=s)
        np.equal(s, target, out=hit)
        if hit.any():
            _record(factors, n - lo, q[hit], exact if n < EXACT_BELOW else None)
        _double(A, q, scratch)
        _double(B, q, scratch)
        _double(B, q, scratch)


def _narrow(p: np.ndarray) -> type:
    """uint32 when every prime is below 2^31 (2p then still fits): half the memory traffic per step."""
    return np.uint32 if len(p) and int(p[-1]) < 2**31 else U64
