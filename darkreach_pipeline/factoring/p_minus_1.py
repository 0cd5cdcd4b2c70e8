"""Pollard's P-1 on one candidate N: stage 1 to B1, stage 2 on the primes in (B1, B2], base 3, gmpy2.

Finds a prime factor p of N when p - 1 is B1-smooth (stage 1), or B1-smooth times one prime q in (B1, B2]
(stage 2). A factor is returned only after N % f == 0 and 1 < f < N are checked here, so a prime N can never
come back with a "factor": for prime N every gcd is 1 or N.

Both stages run on the arithmetic the PRP test of N would use (arith/select.py: the weighted FFT for K*2^e+-1 at
FFT sizes, GMP's special-form loop below, the generic FFT or gmpy2 otherwise), so P-1 costs the same per operation
as the test it may save. The arithmetic's errors cannot make a false factor (every factor is verified exactly),
only miss one; a RoundoffError gives up on the candidate (it is tested as usual).

Stage 1 raises the base to E = the product of the prime powers <= B1: one left-to-right chain of squarings with a
multiplication by the base per set bit of E (binary_chain), or, on gmpy2 with a modulus of no special shape, one
powmod per chunk of primes. Stage 2 is the baby-step giant-step continuation with prime pairing on
V_t = H^t + H^-t (H the stage-1 residue): every prime q in (B1, B2] is m*D +- j with 0 < j < D/2, gcd(j, D) = 1, and
V_mD - V_j = (H^mD - H^j)(1 - H^-(mD+j)) is divisible by p whenever p - 1 divides (mD - j)E or (mD + j)E, so
one multiplication covers both primes of a pair. If a gcd is N (every factor found at once), the stage is
replayed in finer steps to split it; when that cannot split it either, no factor is reported.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass

import gmpy2
import numpy as np
from gmpy2 import mpz

from darkreach_pipeline.arith.base import ModularArithmetic, RoundoffError
from darkreach_pipeline.arith.gmp import GMPArithmetic
from darkreach_pipeline.sieve.primes import prime_chunks

BASE = 3
CHUNK_PRIMES = 2048  # prime powers multiplied into one stage-1 exponent before a powmod
PRIMORIALS = (2310, 210, 30, 6)  # stage 2's giant step D: the largest whose primes are <= B1 and fits the range


@dataclass(frozen=True)
class PMinus1Result:
    """factor: a verified proper factor of N, or None; stage: 1 or 2 where it was found (0: none); the bounds
    run; the multiplications modulo N stage 2 made (pairs + giant steps), for the cost model's check."""

    factor: int | None
    stage: int
    b1: int
    b2: int
    stage2_multiplications: int = 0


def p_minus_1(N: int | mpz, b1: int, b2: int, base: int = BASE,
              arith: ModularArithmetic | None = None) -> PMinus1Result:
    """P-1 on N with bounds b1 <= b2 (b2 == b1: stage 1 only), on `arith` (an arithmetic modulo N; default gmpy2).
    Raises ValueError on bounds that cannot run."""
    N = mpz(N)
    if b1 < 2 or b2 < b1:
        raise ValueError(f"P-1 bounds must satisfy 2 <= B1 <= B2, got B1 = {b1}, B2 = {b2}")
    if b2 > b1 and b1 < 7:  # stage 2's giant steps assume primes <= 5 are in stage 1
        raise ValueError(f"P-1 stage 2 needs B1 >= 7, got B1 = {b1}: raise B1 or set B2 = B1")
    if N < 4:
        return PMinus1Result(None, 0, b1, b2)
    shared = gmpy2.gcd(base, N)
    if shared > 1:
        return _result(N, shared, 1, b1, b2)
    arith = arith or GMPArithmetic(N)
    if arith.N != N:
        raise ValueError("the arithmetic given to P-1 is modulo another number")
    try:
        H, g = _stage1(arith, b1, mpz(base))
        if 1 < g < N:
            return _result(N, g, 1, b1, b2)
        if g == N or b2 == b1:  # H == 1: stage 2 would only find N again
            return PMinus1Result(None, 0, b1, b2)
        g, mults = _stage2(arith, H, b1, b2)
    except RoundoffError:  # the FFT could not hold the precision: no factor claimed, the candidate is tested
        return PMinus1Result(None, 0, b1, b2)
    if 1 < g < N:
        return _result(N, g, 2, b1, b2, mults)
    return PMinus1Result(None, 0, b1, b2, mults)


def _result(N: mpz, g: mpz, stage: int, b1: int, b2: int, mults: int = 0) -> PMinus1Result:
    f = int(g)
    if not (1 < f < N and N % f == 0):
        raise ArithmeticError(f"P-1 produced {f}, which is not a proper factor of the candidate: a bug, not reported")
    return PMinus1Result(f, stage, b1, b2, mults)


def prime_powers(b1: int) -> Iterator[np.ndarray]:
    """The largest power of each prime <= b1, as object arrays of Python ints in ascending chunks."""
    for chunk in prime_chunks(2, b1, segment=CHUNK_PRIMES * 4):
        powers = chunk.astype(object)
        small = chunk <= math.isqrt(b1)
        for i in np.flatnonzero(small).tolist():
            q = int(chunk[i])
            power = q
            while power * q <= b1:
                power *= q
            powers[i] = power
        for start in range(0, len(powers), CHUNK_PRIMES):
            yield powers[start:start + CHUNK_PRIMES]


def _product(values) -> mpz:
    """Product of many small numbers by halves (a running product would be quadratic in the result's size)."""
    items = [mpz(int(v)) for v in values]
    while len(items) > 1:
        items = [items[i] * items[i + 1] if i + 1 < len(items) else items[i] for i in range(0, len(items), 2)]
    return items[0] if items else mpz(1)


@functools.lru_cache(maxsize=4)
def stage1_exponent(b1: int) -> mpz:
    """E = the product of the largest power of each prime <= b1 (kept: a block runs many candidates with one B1)."""
    return _product([p for powers in prime_powers(b1) for p in powers.tolist()])


def _stage1(arith: ModularArithmetic, b1: int, base: mpz) -> tuple[mpz, mpz]:
    """(H = base^E mod N, gcd(H - 1, N)); a gcd of N is replayed prime power by prime power (gmpy2) to split it."""
    N = arith.N
    if isinstance(arith, GMPArithmetic) and arith.special is None:  # gmpy2's powmod beats a Python loop of bits
        x = base
        for powers in prime_powers(b1):
            x = gmpy2.powmod(x, _product(powers), N)
    else:
        E = stage1_exponent(b1)
        x = mpz(arith.binary_chain(1, E, E.bit_length(), int(base)))
    g = gmpy2.gcd(x - 1, N)
    if g != N:
        return x, g
    x = base
    for powers in prime_powers(b1):
        for power in powers.tolist():
            step = gmpy2.powmod(x, power, N)
            g = gmpy2.gcd(step - 1, N)
            if 1 < g < N:
                return step, g
            if g == N:  # every factor at once within this prime power: try its prime one factor at a time
                q = _prime_of(power)
                while power > 1:
                    x = gmpy2.powmod(x, q, N)
                    g = gmpy2.gcd(x - 1, N)
                    if g != 1:
                        return x, g
                    power //= q
            x = step
    return x, gmpy2.gcd(x - 1, N)


def _prime_of(power: int) -> int:
    q = 2
    while power % q:
        q += 1
    return q


def giant_step(b1: int, b2: int) -> int:
    """D for stage 2: the largest primorial in PRIMORIALS whose primes are all <= b1 (primes of D must be in stage
    1, since a prime sharing a factor with D is no m*D +- j) and at most sqrt of the range, so that the D/4 baby
    steps do not outweigh the giant steps."""
    for D in PRIMORIALS:
        largest = max(p for p in (2, 3, 5, 7, 11) if D % p == 0)
        if largest <= b1 and D * D <= 4 * max(b2 - b1, 1) or D == 6:
            return D
    return 6


@functools.lru_cache(maxsize=4)
def stage2_pairs(b1: int, b2: int, D: int) -> dict[int, list[int]]:
    """{m: the j values} such that every prime q in (b1, b2] is m*D - j or m*D + j (each pair once)."""
    pairs: dict[int, set[int]] = {}
    for chunk in prime_chunks(b1 + 1, b2):
        qs = chunk.astype(np.int64)
        m = (qs + D // 2) // D
        j = np.abs(qs - m * D)
        for mm, jj in zip(m.tolist(), j.tolist(), strict=True):
            pairs.setdefault(mm, set()).add(jj)
    return {m: sorted(js) for m, js in sorted(pairs.items())}


def _stage2(arith: ModularArithmetic, H: mpz, b1: int, b2: int) -> tuple[mpz, int]:
    """(gcd of the product of every V_mD - V_j with N, multiplications made); a gcd of N is replayed term by
    term to split it. Sums and differences are taken on integers (the interface has no residue addition); the
    products on the arithmetic."""
    N = arith.N
    H_inv = gmpy2.invert(H, N)  # gcd(H, N) = 1: H - 1 shares no factor with N and gcd(3, N) = 1
    D = giant_step(b1, b2)
    pairs = stage2_pairs(b1, b2, D)
    baby = _baby_steps(arith, H, H_inv, D)
    acc, mults = arith.from_int(1), len(baby)
    for V_mD, js in _giant_steps(arith, H, H_inv, D, pairs):
        for j in js:
            acc = arith.multiply(acc, arith.from_int((V_mD - baby[j]) % N))
        mults += len(js) + 1
    g = gmpy2.gcd(arith.to_int(acc), N)
    if g == N:
        for V_mD, js in _giant_steps(arith, H, H_inv, D, pairs):
            for j in js:
                g = gmpy2.gcd(V_mD - baby[j], N)
                if 1 < g < N:
                    return g, mults
    return g, mults


def _baby_steps(arith: ModularArithmetic, H: mpz, H_inv: mpz, D: int) -> dict[int, mpz]:
    """V_j = H^j + H^-j mod N for 0 < j < D/2 with gcd(j, D) = 1."""
    out, up, down = {}, arith.from_int(1), arith.from_int(1)
    H_r, H_inv_r = arith.from_int(H), arith.from_int(H_inv)
    for j in range(1, D // 2):
        up, down = arith.multiply(up, H_r), arith.multiply(down, H_inv_r)
        if math.gcd(j, D) == 1:
            out[j] = (arith.to_int(up) + arith.to_int(down)) % arith.N
    return out


def _giant_steps(arith: ModularArithmetic, H: mpz, H_inv: mpz, D: int, pairs: dict[int, list[int]]
                 ) -> Iterator[tuple[mpz, list[int]]]:
    """(V_mD, its j values) for each m in pairs, by V_(m+1)D = V_mD * V_D - V_(m-1)D."""
    if not pairs:
        return
    N = arith.N
    first, last = min(pairs), max(pairs)

    def V(t: int) -> mpz:
        return (arith.power(H, t) + arith.power(H_inv, t)) % N

    V_D = arith.from_int(V(D))
    previous, current = V((first - 1) * D), V(first * D)
    for m in range(first, last + 1):
        if m in pairs:
            yield current, pairs[m]
        previous, current = current, (arith.to_int(arith.multiply(arith.from_int(current), V_D)) - previous) % N
