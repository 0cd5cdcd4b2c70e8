"""Compiled (numba) kernel of the k*b^n + c sieve: one baby-step giant-step discrete log per prime.

For a prime p not dividing k*b, p | k*b^n + c  <=>  A*B^j = T (mod p) with n = n0 + Q*j, A = k*b^n0,
B = b^Q, T = -c. Baby steps store T*B^i (0 <= i < m) in an open-addressing hash table; giant steps
A*B^(g*m) meet them exactly at j = g*m - i. No modular inverse is needed.

Arithmetic is Montgomery multiplication with R = 2^32 for odd p < 2^32: every product of two residues
is < 2^64, so uint64 is exact, and the reduction (T - m*p) / R is taken as a difference of high
halves, which cannot overflow even for p near 2^32. Montgomery form is a bijection, so equality of
baby and giant values (the hash keys) is equality of residues; keys are full residues, never packed.

Quadratic-character filter (srsieve's Legendre trick, Q = 2): if b is a square mod p, every b^n is,
so the prime is skipped when -c/k is not; if b is not a square, (-c/k | p) fixes the parity of n and
the discrete log runs with B = b^2 over half the range (about 0.7x the steps). Small primes
(p < 2*sqrt(range)) are walked directly through one period p - 1 instead.
"""

from __future__ import annotations

import numba as nb
import numpy as np

U64 = np.uint64
MASK32 = U64(0xFFFFFFFF)
# Baby steps m = BABY_FRACTION * sqrt(range): an insert costs more than a giant step's (mostly empty)
# probe, and giant steps run as four independent chains. 0.5 measured about 1.25x faster than 1.0 for a
# 10^5-wide range at p ~ 10^9 (0.25, 0.35, 0.7 and 1.4 all slower than 0.5).
BABY_FRACTION = 0.5


@nb.njit(cache=True)
def _mont(a, b, p, pinv):
    """a*b/2^32 mod p for a, b < p < 2^32 odd; pinv = p^-1 mod 2^32."""
    t = a * b
    m = ((t & MASK32) * pinv) & MASK32
    d = np.int64(t >> U64(32)) - np.int64((m * p) >> U64(32))
    return U64(d + (np.int64(p) & (d >> 63)))  # branch-free: add p when negative


@nb.njit(cache=True)
def _mont_pow(base_m, e, one_m, p, pinv):
    result = one_m
    while e > 0:
        if e & 1:
            result = _mont(result, base_m, p, pinv)
        base_m = _mont(base_m, base_m, p, pinv)
        e >>= 1
    return result


@nb.njit(cache=True)
def _jacobi(a, n):
    """Jacobi symbol (a | n) for odd n > 0 (binary algorithm)."""
    a = a % n
    result = 1
    while a != 0:
        while (a & U64(1)) == U64(0):
            a >>= U64(1)
            r = n & U64(7)
            if r == U64(3) or r == U64(5):
                result = -result
        a, n = n, a
        if (a & U64(3)) == U64(3) and (n & U64(3)) == U64(3):
            result = -result
        a = a % n
    return result if n == U64(1) else 0


@nb.njit(cache=True)
def _mod_limbs(limbs, p):
    """A big integer given as base-2^32 limbs (most significant first) mod p < 2^32."""
    r = U64(0)
    for limb in limbs:
        r = ((r << U64(32)) | limb) % p
    return r


@nb.njit(cache=True)
def _record(factors, idx, p):
    f = factors[idx]
    if f == U64(0) or p < f:
        factors[idx] = p


@nb.njit(cache=True)
def _giant_hit(factors, p, i, gm, length, n0, q, lo):
    """Giant step g*m met baby step i (i >= 0): j = g*m - i, kept when inside [0, length)."""
    j = gm - i
    if i >= 0 and 0 <= j < length:
        _record(factors, n0 + q * j - lo, p)


@nb.njit(cache=True)
def _insert(x, i, keys, vals, stamps, serial, tmask):
    s = x & tmask
    while stamps[s] == serial:
        s = (s + U64(1)) & tmask
    stamps[s] = serial
    keys[s] = x
    vals[s] = i


@nb.njit(cache=True)
def _lookup(x, keys, vals, stamps, serial, tmask):
    """The i stored under key x, -1 if none."""
    s = x & tmask
    while stamps[s] == serial:
        if keys[s] == x:
            return vals[s]
        s = (s + U64(1)) & tmask
    return -1


@nb.njit(cache=True)
def sieve_chunk(primes, k_limbs, b_limbs, c, lo, start, hi, factors, keys, vals, stamps):
    """For each p in primes (ascending or not; each < 2^32) and each n in [start, hi) with p | k*b^n + c,
    set factors[n - lo] to p unless a smaller prime is already there. Primes dividing k*b are skipped.

    keys/vals/stamps: the hash table from hash_table(hi - start), stamps zeroed once (a slot is live
    when its stamp is the current prime's serial number; at most 2 serials per prime, and there are
    fewer than 2^28 primes below 2^32, so int32 stamps cannot wrap). A prime equal to N = k*b^n + c
    itself may be recorded (only possible for n < 64): the caller clears those.
    """
    span = hi - start
    m_full = np.int64(np.ceil(np.sqrt(span)))
    tmask = U64(len(keys) - 1)
    serial = np.int64(stamps.max())
    c_abs = U64(abs(c))
    for p in primes:
        kp = _mod_limbs(k_limbs, p)
        bp = _mod_limbs(b_limbs, p)
        cp = c_abs % p
        if kp == U64(0) or bp == U64(0) or cp == U64(0):
            continue
        negc = p - cp if c > 0 else cp  # -c mod p
        if p < U64(2 * m_full + 2):
            # Direct walk over one period: b^(p-1) = 1, so the hits repeat every p - 1 values of n.
            period = np.int64(p) - 1
            r = kp
            e = start
            bb = bp
            while e > 0:  # r = k * b^start mod p (p small: plain %)
                if e & 1:
                    r = r * bb % p
                bb = bb * bb % p
                e >>= 1
            for j in range(min(span, period)):
                if r == negc:
                    for jj in range(j, span, period):
                        _record(factors, start + jj - lo, p)
                r = r * bp % p
            continue
        # Quadratic character: (b^n | p) = (-c/k | p) = (-c*k | p) must hold.
        chi_t = _jacobi(negc * kp % p, p)
        if _jacobi(bp, p) == 1:
            if chi_t != 1:
                continue
            q = 1
            n0 = start
        else:
            q = 2
            parity = 0 if chi_t == 1 else 1
            n0 = start + ((parity - start) & 1)
        length = (hi - n0 + q - 1) // q  # j in [0, length): n = n0 + q*j < hi
        if length <= 0:
            continue
        m = np.int64(np.ceil(np.sqrt(length) * BABY_FRACTION))
        # Montgomery set-up.
        pinv = p
        for _ in range(5):
            pinv = (pinv * (U64(2) - p * pinv)) & MASK32
        one_m = (U64(1) << U64(32)) % p
        b_m = (bp << U64(32)) % p
        big_b = b_m if q == 1 else _mont(b_m, b_m, p, pinv)
        a = _mont((kp << U64(32)) % p, _mont_pow(b_m, n0, one_m, p, pinv), p, pinv)
        t0 = (negc << U64(32)) % p
        # Baby steps T*B^i; a repeat of T means ord(B) = i < m.
        serial += 1
        x = t0
        order = 0
        for i in range(m):
            if i > 0 and x == t0:
                order = i
                break
            s = x & tmask
            while stamps[s] == serial:
                s = (s + U64(1)) & tmask
            stamps[s] = serial
            keys[s] = x
            vals[s] = i
            x = _mont(x, big_b, p, pinv)
        if order:
            # A*B^j0 = T  <=>  A = T*B^(order - j0): look A up once, then every order-th j.
            s = a & tmask
            while stamps[s] == serial:
                if keys[s] == a:
                    j0 = (order - vals[s]) % order
                    for j in range(j0, length, order):
                        _record(factors, n0 + q * j - lo, p)
                    break
                s = (s + U64(1)) & tmask
            continue
        # Giant steps A*B^(g*m), four interleaved chains; g*m - i covers j up to length - 1.
        step = _mont_pow(big_b, m, one_m, p, pinv)
        y0 = a
        y1 = _mont(y0, step, p, pinv)
        y2 = _mont(y1, step, p, pinv)
        y3 = _mont(y2, step, p, pinv)
        step4 = _mont(_mont(step, step, p, pinv), _mont(step, step, p, pinv), p, pinv)
        giants = (length - 1 + m - 1) // m + 1
        for g in range(0, giants, 4):
            i0 = _lookup(y0, keys, vals, stamps, serial, tmask)
            i1 = _lookup(y1, keys, vals, stamps, serial, tmask)
            i2 = _lookup(y2, keys, vals, stamps, serial, tmask)
            i3 = _lookup(y3, keys, vals, stamps, serial, tmask)
            if max(max(i0, i1), max(i2, i3)) >= 0:
                _giant_hit(factors, p, i0, g * m, length, n0, q, lo)
                _giant_hit(factors, p, i1, (g + 1) * m, length, n0, q, lo)
                _giant_hit(factors, p, i2, (g + 2) * m, length, n0, q, lo)
                _giant_hit(factors, p, i3, (g + 3) * m, length, n0, q, lo)
            y0 = _mont(y0, step4, p, pinv)
            y1 = _mont(y1, step4, p, pinv)
            y2 = _mont(y2, step4, p, pinv)
            y3 = _mont(y3, step4, p, pinv)
    stamps[0] = max(stamps[0], serial)  # carry the serial to the next call (stamps.max() reads it)


def hash_table(span: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """keys, vals, stamps for sieve_chunk over `span` values of n: a power of two > 8x the baby steps, so
    at most 1/8 of the slots are live and a giant step's probe of stamps (32-bit, L1-sized) rarely hits."""
    m = max(1, int(np.ceil(np.sqrt(max(span, 1)) * BABY_FRACTION)))
    size = 1 << (8 * m).bit_length()
    return np.zeros(size, dtype=np.uint32), np.zeros(size, dtype=np.int32), np.zeros(size, dtype=np.int32)


def limbs(x: int) -> np.ndarray:
    """Base-2^32 limbs of x >= 0, most significant first."""
    out = []
    while True:
        out.append(x & 0xFFFFFFFF)
        x >>= 32
        if not x:
            return np.array(out[::-1], dtype=U64)
