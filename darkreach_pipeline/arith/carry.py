"""Compiled (numba) carry kernels of the weighted transform (arith/ibdwt.py): one call per squaring.

Each kernel reads the unnormalised inverse FFT, unweights it (the tables also hold k and 1/length), rounds
to integers while recording the largest round-off, multiplies by a small constant, carries into balanced
digits with the top-carry wrap of N = k*2^n + c, adds a small term at one digit, and writes the weighted
digits back into the forward FFT's input. No fastmath: reassociation would break the rounding trick.

Rounding uses the 1.5*2^52 trick (x + R) - R, exact for |x| < 2^51. An output that large (or NaN) means
the transform was far past its precision, so it is reported as round-off BAD (the step is redone), never
rounded silently. Carries are divisions by powers of two, done as multiplications by exact 2^-w.
A digit is `w` or `w + 1` bits wide, so widths are one byte a word (`wide`), not two float tables: at 1M
bits the kernel's tables should stay in the L2 cache.

A carry is a chain of dependent float operations, so four quarters of the array (L = 4S) are carried as
independent chains in one loop (4x the instruction-level parallelism); each quarter's carry-out is then
propagated into the next quarter, and the top one wraps. All of it is exact integer arithmetic.
"""

from __future__ import annotations

import numba as nb
import numpy as np

RND = 6755399441055744.0  # 1.5 * 2^52
BAD = 1.0  # round-off reported when the result cannot be trusted at all
MAX_EXACT = 2.0**51
MAX_WRAPS = 64  # the top-carry wrap settles in 1-3 rounds; more means corrupt data


@nb.njit(cache=True, inline="always")
def _split(v, wide, j, b):
    """(digit, carry) of the integer-valued v at word j: balanced digit, carry = rint(v / 2^width).
    Branch-free (the wide/narrow pattern is irregular): b = (2^w, 2^-w, 2^w, -2^-(w+1)), so the base and
    its inverse for width w + wide are b0 + b2*wide and b1 + b3*wide, exactly."""
    f = float(wide[j])
    q = (v * (b[1] + b[3] * f) + RND) - RND
    return v - q * (b[0] + b[2] * f), q


@nb.njit(cache=True, inline="always")
def _digit(z, carry, mul, wide, j, b, d):
    """Round z, times mul, plus the incoming carry, into d[j]; returns (carry out, round-off). A value past
    exact rounding (NaN and infinity included) reports round-off BAD (a branch that is never taken)."""
    r = (z + RND) - RND
    err = abs(z - r)
    if not abs(z) < MAX_EXACT:
        err = BAD
    d[j], q = _split(r * mul + carry, wide, j, b)
    return q, err


@nb.njit(cache=True)
def _propagate(d, wide, b, j, v):
    """Add v to digit j and carry upwards until the carry is 0; returns the carry out of the top digit."""
    L = d.shape[0]
    v = d[j] + v
    while True:
        d[j], q = _split(v, wide, j, b)
        if q == 0.0:
            return 0.0
        j += 1
        if j == L:
            return q
        v = d[j] + q


@nb.njit(cache=True)
def _finish(d, c0, c1, c2, top, add_at, add_value, wide, b, k, t, c, J, pJ):
    """Carry each quarter's carry-out into the next, add the add-in, fold the top carry (worth C*2^(n+t))
    back in: C*2^t = q*k + r gives C*2^(n+t) = -c*q + r*2^n (mod N). False if it did not settle."""
    S = d.shape[0] // 4
    if c0 != 0.0:
        top += _propagate(d, wide, b, S, c0)
    if c1 != 0.0:
        top += _propagate(d, wide, b, 2 * S, c1)
    if c2 != 0.0:
        top += _propagate(d, wide, b, 3 * S, c2)
    if add_at >= 0:
        top += _propagate(d, wide, b, add_at, add_value)
    for _ in range(MAX_WRAPS):
        if top == 0.0:
            return True
        if k == 1:
            top = _propagate(d, wide, b, 0, -c * top)
            continue
        ct = np.int64(top) * (np.int64(1) << t)
        q = ct // k  # floor division: 0 <= r < k
        r = ct - q * k
        top = _propagate(d, wide, b, 0, float(-c * q))
        if r != 0:
            top += _propagate(d, wide, b, J, float(r) * pJ)
    return top == 0.0


@nb.njit(cache=True)
def cyclic_step(real, d, iw, fw, mul, add_at, add_value, wide, b, k, t, c, J, pJ):
    """c < 0: `real` holds the inverse real FFT; new digits go to d and, weighted, back into `real`."""
    S = d.shape[0] // 4
    roe = 0.0
    c0 = c1 = c2 = c3 = 0.0
    for i in range(S):
        j1, j2, j3 = i + S, i + 2 * S, i + 3 * S
        c0, e0 = _digit(real[i] * iw[i], c0, mul, wide, i, b, d)
        c1, e1 = _digit(real[j1] * iw[j1], c1, mul, wide, j1, b, d)
        c2, e2 = _digit(real[j2] * iw[j2], c2, mul, wide, j2, b, d)
        c3, e3 = _digit(real[j3] * iw[j3], c3, mul, wide, j3, b, d)
        roe = max(roe, max(max(e0, e1), max(e2, e3)))
    if not _finish(d, c0, c1, c2, c3, add_at, add_value, wide, b, k, t, c, J, pJ):
        roe = BAD
    for j in range(d.shape[0]):
        real[j] = d[j] * fw[j]
    return roe


@nb.njit(cache=True)
def negacyclic_step(buf, d, zeta, iw, fw, mul, add_at, add_value, wide, b, k, t, c, J, pJ):
    """c > 0 (right-angle transform, M = L/2 complex words): word j of `buf` carries digits j and j+M as
    (fw_j*d_j + i*fw_{j+M}*d_{j+M}) * zeta_j; the inverse untwists by conj(zeta_j) and unweights by iw."""
    S = d.shape[0] // 4
    M = 2 * S
    roe = 0.0
    c0 = c1 = c2 = c3 = 0.0
    for i in range(S):
        u0 = buf[i] * zeta[i].conjugate()
        u1 = buf[i + S] * zeta[i + S].conjugate()
        c0, e0 = _digit(u0.real * iw[i], c0, mul, wide, i, b, d)
        c1, e1 = _digit(u1.real * iw[i + S], c1, mul, wide, i + S, b, d)
        c2, e2 = _digit(u0.imag * iw[i + M], c2, mul, wide, i + M, b, d)
        c3, e3 = _digit(u1.imag * iw[i + M + S], c3, mul, wide, i + M + S, b, d)
        roe = max(roe, max(max(e0, e1), max(e2, e3)))
    if not _finish(d, c0, c1, c2, c3, add_at, add_value, wide, b, k, t, c, J, pJ):
        roe = BAD
    load_negacyclic(buf, d, zeta, fw)
    return roe


@nb.njit(cache=True)
def load_cyclic(real, d, fw):
    for j in range(d.shape[0]):
        real[j] = d[j] * fw[j]


@nb.njit(cache=True)
def load_negacyclic(buf, d, zeta, fw):
    M = buf.shape[0]
    for j in range(M):
        buf[j] = complex(d[j] * fw[j], d[j + M] * fw[j + M]) * zeta[j]


@nb.njit(cache=True)
def normalise(d, mul, add_at, add_value, wide, b, k, t, c, J, pJ):
    """Integer digits (any size below 2^51) times mul plus the add-in, into balanced digits (exact)."""
    S = d.shape[0] // 4
    roe = 0.0
    c0 = c1 = c2 = c3 = 0.0
    for i in range(S):
        c0, e0 = _digit(d[i], c0, mul, wide, i, b, d)
        c1, e1 = _digit(d[i + S], c1, mul, wide, i + S, b, d)
        c2, e2 = _digit(d[i + 2 * S], c2, mul, wide, i + 2 * S, b, d)
        c3, e3 = _digit(d[i + 3 * S], c3, mul, wide, i + 3 * S, b, d)
        roe = max(roe, max(max(e0, e1), max(e2, e3)))
    if not _finish(d, c0, c1, c2, c3, add_at, add_value, wide, b, k, t, c, J, pJ):
        roe = BAD
    return roe


@nb.njit(cache=True)
def unpack_digits(raw, starts, d):
    """Digit j = bits starts[j] .. starts[j+1]-1 of the little-endian bytes `raw` (padded by 8 zero bytes);
    digits are at most 32 bits wide, so a 5-byte window holds any of them."""
    for j in range(d.shape[0]):
        s = starts[j]
        w = starts[j + 1] - s
        p = s >> 3
        word = np.uint64(0)
        for i in range(5):
            word |= np.uint64(raw[p + i]) << np.uint64(8 * i)
        d[j] = float((word >> np.uint64(s & 7)) & ((np.uint64(1) << np.uint64(w)) - np.uint64(1)))


@nb.njit(cache=True)
def pack_digits(d, starts, out):
    """Write the signed integer digits d (digit j worth 2^starts[j]) as the little-endian bits of
    sum d_j 2^starts[j] mod 2^starts[L] into `out`; returns the carry out of the top (the value is the
    bytes plus carry * 2^starts[L])."""
    acc = np.uint64(0)
    nbits = 0
    pos = 0
    carry = np.int64(0)
    for j in range(d.shape[0]):
        w = starts[j + 1] - starts[j]
        v = np.int64(d[j]) + carry
        carry = v >> w  # floor division by 2^w
        acc |= np.uint64(v - (carry << w)) << np.uint64(nbits)
        nbits += w
        while nbits >= 8:
            out[pos] = np.uint8(acc & np.uint64(0xFF))
            acc >>= np.uint64(8)
            nbits -= 8
            pos += 1
    while nbits > 0:
        out[pos] = np.uint8(acc & np.uint64(0xFF))
        acc >>= np.uint64(8)
        nbits -= 8
        pos += 1
    return carry
