"""Compiled (numba) carry kernels of the weighted transform (arith/ibdwt.py): one call per squaring.

Each kernel reads the unnormalised inverse FFT, unweights it (the tables also hold k and 1/length), rounds
to integers while recording the largest round-off, multiplies by a small constant, adds a small term at
one digit, carries into balanced digits with the top-carry wrap of N = k*2^n + c, and writes the weighted
digits back into the forward FFT's input. No fastmath: reassociation would break the rounding trick.

Rounding uses the 1.5*2^52 trick (x + R) - R, exact for |x| < 2^51. An output that large means the
transform was far past its precision, so it is reported as round-off 1.0 (the step is redone), never
rounded silently. Carries are divisions by powers of two, done as multiplications by exact 2^-w.
"""

from __future__ import annotations

import numba as nb
import numpy as np

RND = 6755399441055744.0  # 1.5 * 2^52
MAX_EXACT = 2.0**51
BAD = 1.0  # round-off reported when the result cannot be trusted at all
MAX_WRAPS = 64  # the top-carry wrap settles in 1-3 rounds; more means corrupt data


@nb.njit(cache=True)
def _propagate(d, base, ibase, j, v):
    """Add v to digit j and carry upwards until the carry is 0; returns the carry out of the top digit."""
    L = d.shape[0]
    v = d[j] + v
    while True:
        q = (v * ibase[j] + RND) - RND
        d[j] = v - q * base[j]
        if q == 0.0:
            return 0.0
        j += 1
        if j == L:
            return q
        v = d[j] + q


@nb.njit(cache=True)
def _wrap(d, base, ibase, carry, k, t, c, J, pJ):
    """Fold the carry out of the top digit (worth carry * 2^(n+t)) back in: C*2^t = q*k + r gives
    C*2^(n+t) = -c*q + r*2^n (mod N). Returns False if it did not settle (corrupt data)."""
    for _ in range(MAX_WRAPS):
        if carry == 0.0:
            return True
        if k == 1:
            carry = _propagate(d, base, ibase, 0, -c * carry)
            continue
        ct = np.int64(carry) * (np.int64(1) << t)
        q = ct // k  # floor division: 0 <= r < k
        r = ct - q * k
        carry = _propagate(d, base, ibase, 0, float(-c * q))
        if r != 0:
            carry += _propagate(d, base, ibase, J, float(r) * pJ)
    return carry == 0.0


@nb.njit(cache=True, inline="always")
def _digit(d, j, carry, mul, base, ibase):
    """Round word j, add the incoming carry, keep the balanced digit; returns (carry out, round-off), or
    round-off BAD for a value past exact rounding (NaN and infinity included)."""
    z = d[j]
    r = (z + RND) - RND
    err = abs(z - r)
    if not abs(z) < MAX_EXACT:
        err = BAD
    v = r * mul + carry
    q = (v * ibase[j] + RND) - RND
    d[j] = v - q * base[j]
    return q, err


@nb.njit(cache=True)
def _round_carry(d, mul, add_at, add_value, base, ibase, k, t, c, J, pJ):
    """Round d (unweighted outputs) to integers, times mul, plus add_value at digit add_at (if >= 0), into
    balanced digits of N = k*2^n + c. Returns the largest round-off (BAD if the values were out of range).

    A carry is a chain of dependent float operations, so four quarters of the array are carried as
    independent chains in one loop (4x the instruction-level parallelism); each quarter's carry-out is
    then propagated into the next quarter, and the top one wraps. All of it is exact integer arithmetic.
    """
    L = d.shape[0]
    S = L // 4
    roe = 0.0
    c0 = c1 = c2 = c3 = 0.0
    for i in range(S):
        c0, e0 = _digit(d, i, c0, mul, base, ibase)
        c1, e1 = _digit(d, i + S, c1, mul, base, ibase)
        c2, e2 = _digit(d, i + 2 * S, c2, mul, base, ibase)
        c3, e3 = _digit(d, i + 3 * S, c3, mul, base, ibase)
        roe = max(roe, max(max(e0, e1), max(e2, e3)))
    for j in range(4 * S, L):
        c3, e3 = _digit(d, j, c3, mul, base, ibase)
        roe = max(roe, e3)
    top = c3
    if c0 != 0.0:
        top += _propagate(d, base, ibase, S, c0)
    if c1 != 0.0:
        top += _propagate(d, base, ibase, 2 * S, c1)
    if c2 != 0.0:
        top += _propagate(d, base, ibase, 3 * S, c2)
    if add_at >= 0:
        top += _propagate(d, base, ibase, add_at, add_value)
    if not _wrap(d, base, ibase, top, k, t, c, J, pJ):
        roe = BAD
    return roe


@nb.njit(cache=True)
def cyclic_step(real, d, iw, fw, mul, add_at, add_value, base, ibase, k, t, c, J, pJ):
    """c < 0: `real` holds the inverse real FFT; new digits go to d and, weighted, back into `real`."""
    L = d.shape[0]
    for j in range(L):
        d[j] = real[j] * iw[j]
    roe = _round_carry(d, mul, add_at, add_value, base, ibase, k, t, c, J, pJ)
    for j in range(L):
        real[j] = d[j] * fw[j]
    return roe


@nb.njit(cache=True)
def negacyclic_step(buf, d, D1, D2, A, B, mul, add_at, add_value, base, ibase, k, t, c, J, pJ):
    """c > 0 (right-angle transform, M = L/2 complex words): word j of `buf` carries digits j and j+M."""
    M = buf.shape[0]
    for j in range(M):
        w = buf[j]
        d[j] = w.real * D1[j].real - w.imag * D1[j].imag
        d[j + M] = w.real * D2[j].imag + w.imag * D2[j].real
    roe = _round_carry(d, mul, add_at, add_value, base, ibase, k, t, c, J, pJ)
    for j in range(M):
        buf[j] = d[j] * A[j] + d[j + M] * B[j]
    return roe


@nb.njit(cache=True)
def load_cyclic(real, d, fw):
    for j in range(d.shape[0]):
        real[j] = d[j] * fw[j]


@nb.njit(cache=True)
def load_negacyclic(buf, d, A, B):
    M = buf.shape[0]
    for j in range(M):
        buf[j] = d[j] * A[j] + d[j + M] * B[j]


@nb.njit(cache=True)
def normalise(d, mul, add_at, add_value, base, ibase, k, t, c, J, pJ):
    """Integer digits (any size below 2^51) times mul plus the add-in, into balanced digits (exact)."""
    return _round_carry(d, mul, add_at, add_value, base, ibase, k, t, c, J, pJ)
