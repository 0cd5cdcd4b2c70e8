"""The k*b^n + c sieve on a device: many primes in parallel, written against an array module `xp` (CuPy on a
GPU, numpy on the CPU; arith/array_module.py), with exactly the CPU sieve's result (sieve/kbn_numba.py).

The CPU kernel runs one baby-step giant-step discrete log per prime, a hash table each: sequential work
that does not map onto arrays. Here every prime of a batch walks the range at once instead: the residues
r = k*b^n mod p of a (primes x lanes) array, each lane a stretch of `width` consecutive n, advance by one
multiplication by b per step, and a residue equal to -c (mod p) strikes its n. That is span/lanes steps of
whole-array operations (about 2*sqrt(span) array steps in all) and primes*span multiplications, more
arithmetic than BSGS's 2*sqrt(span) per prime but all of it parallel. Residues are below p < 2^32, so
every product fits a uint64 exactly.

A prime dividing k*b or c never divides k*b^n + c (c = +-1) and is skipped, as on the CPU. Each n keeps its
smallest striking prime, so the factor array, not only the survivors, equals the CPU sieve's.
"""

from __future__ import annotations

import math
from types import ModuleType

import numpy as np

from darkreach_pipeline.arith.array_module import to_host

U64 = np.uint64
NONE = np.uint64(np.iinfo(np.uint64).max)  # a numpy scalar: CuPy keeps its dtype (a Python int may not fit int64)
MAX_CELLS = 1 << 24  # primes x lanes per batch: 128 MiB of uint64 residues


def _mod_small(xp: ModuleType, value: int, p):
    """value mod each p (< 2^32), value any size >= 0: base-2^32 limbs from the top."""
    r = xp.zeros_like(p)
    limbs = []
    while True:
        limbs.append(value & 0xFFFFFFFF)
        value >>= 32
        if not value:
            break
    for limb in reversed(limbs):
        r = ((r << U64(32)) | U64(limb)) % p
    return r


def _powmod(xp: ModuleType, base, e: int, p):
    """base^e mod p elementwise (base < p < 2^32, e >= 0 one exponent for all)."""
    result = xp.ones_like(p) % p
    while e > 0:
        if e & 1:
            result = result * base % p
        base = base * base % p
        e >>= 1
    return result


def lanes_for(span: int, primes: int) -> int:
    """Lanes per prime: about sqrt(span) (as many array steps setting up the lanes as walking them), fewer
    when the batch would pass MAX_CELLS."""
    return max(1, min(span, math.isqrt(span) + 1, MAX_CELLS // max(primes, 1)))


def sieve_chunk_xp(xp: ModuleType, primes: np.ndarray, k: int, b: int, c: int, lo: int, start: int, hi: int,
                   factors: np.ndarray) -> None:
    """For each p in primes (< 2^32) and each n in [start, hi) with p | k*b^n + c, set factors[n - lo] to p
    unless a smaller prime is already there (the contract of kbn_numba.sieve_chunk)."""
    span = hi - start
    if span <= 0 or len(primes) == 0:
        return
    batch = max(1, MAX_CELLS // (math.isqrt(span) + 1))
    for s in range(0, len(primes), batch):
        best = _strike(xp, np.ascontiguousarray(primes[s:s + batch], dtype=U64), k, b, c, start, span)
        hit = best != NONE
        view = factors[start - lo:hi - lo]
        take = hit & ((view == 0) | (best < view))
        view[take] = best[take]


def _strike(xp: ModuleType, primes: np.ndarray, k: int, b: int, c: int, start: int, span: int) -> np.ndarray:
    """The smallest prime of the batch dividing k*b^n + c for n = start .. start+span-1 (NONE where none)."""
    p = xp.asarray(primes)
    kp, bp, cp = _mod_small(xp, k, p), _mod_small(xp, b, p), _mod_small(xp, abs(c), p)
    usable = (kp != 0) & (bp != 0) & (cp != 0)
    target = xp.where(usable, (p - cp) % p if c > 0 else cp, NONE)  # -c mod p; NONE never matches a residue
    lanes = lanes_for(span, len(primes))
    width = -(-span // lanes)
    r = xp.empty((len(primes), lanes), dtype=U64)
    r[:, 0] = kp * _powmod(xp, bp, start, p) % p
    stride = _powmod(xp, bp, width, p)
    for lane in range(1, lanes):  # lane l starts at n = start + l*width
        r[:, lane] = r[:, lane - 1] * stride % p
    best = xp.full(lanes * width, NONE, dtype=U64)
    offsets = xp.arange(lanes) * width
    pcol, bcol, tcol = p[:, None], bp[:, None], target[:, None]
    for step in range(width):
        struck = xp.where(r == tcol, pcol, NONE).min(axis=0)  # per lane: the smallest prime striking its n
        best[offsets + step] = struck
        r = r * bcol % pcol
    return to_host(xp, best)[:span]
