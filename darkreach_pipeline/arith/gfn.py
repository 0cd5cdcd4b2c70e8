"""FFT arithmetic modulo a generalized Fermat number N = b^(2^m) + 1 (even b): Genefer's transform.

N has L = 2^m digits in base b and b^L = -1 (mod N), so a product mod N is a negacyclic convolution of
base-b digits: a rational transform, no irrational weights. It runs as the right-angle transform
(fft-arithmetic.md sections 1(b) and 3, genefer's layout): word j = (x_j + i*x_{j+L/2})*zeta^j with
zeta = e^(i*pi/L), one complex FFT of length L/2, squared pointwise, inverted and untwisted; the real part
of word j is output j, its imaginary part output j + L/2. Digits are balanced, in [-b/2, b/2] (the closed
range makes every residue representable, so a carry always settles). One fused numba kernel untwists,
rounds (recording the round-off), multiplies by a small constant (the "square, and multiply by the base"
of a Fermat test, free here), carries in float64 (exact while |v| < 2^51) and writes the next twisted input.

Precision: 2*log2(b) + 0.6*m <= B_LIMIT_BITS (measured at the limit: max round-off 0.06-0.09 over
benchmark chains of thousands of squarings, x4 per bit of b, m = 8..18; benchmarks/RESULTS.md); above it
`gfn_arithmetic` returns None and GMP is used. The round-off of every product is checked; a product above
ROE_REDO is redone in GMP (the base-b length is fixed by m, so there is no longer transform to promote to),
and after MAX_REDONE such products a chain finishes in GMP.
"""

from __future__ import annotations

import math
from abc import abstractmethod

import gmpy2
import numba as nb
import numpy as np
from gmpy2 import mpz

from darkreach_pipeline.arith.base import ArithStats, ModularArithmetic
from darkreach_pipeline.arith.fft_backend import FFTBackend, get_backend
from darkreach_pipeline.arith.ibdwt import ROE_REDO

B_LIMIT_BITS = 49.0  # largest 2*log2(b) + 0.6*m accepted (round-off <= 0.1; ~0.4 at 51.5)
MAX_REDONE = 3  # products redone in GMP before a chain finishes in GMP
MAX_SMALL = 1 << 20  # mul_small / sub_small constants (exact in the carry: |digit * c| < 2^51)
# Bits of N from which the transform beats gmpy2.powmod per squaring (auto mode; bench_fft_generic.py):
# 6.8x at 22k bits already, ~1x near 2k.
CROSSOVER_BITS = 4_000
RND = 6755399441055744.0  # 1.5*2^52: (x + RND) - RND rounds x to an integer, exact for |x| < 2^51
MAX_EXACT = 2.0**51
BAD = 1.0  # round-off reported for an output past exact rounding (or NaN): the product is redone


def max_b_bits(m: int) -> float:
    """Largest log2(b) the float64 transform takes at L = 2^m digits."""
    return (B_LIMIT_BITS - 0.6 * m) / 2


def fits(b: int, m: int) -> bool:
    """True if the transform takes b^(2^m) + 1: b even, m >= 2 (L/2 >= 2 words), b within the limit."""
    return b >= 2 and b % 2 == 0 and 2 <= m <= 30 and math.log2(b) <= max_b_bits(m)


@nb.njit(cache=True, inline="always")
def _split(v, b, inv_b, half):
    """(balanced digit in [-b/2, b/2], carry) of the integer-valued v."""
    q = (v * inv_b + RND) - RND
    d = v - q * b
    if d > half:
        d -= b
        q += 1.0
    elif d < -half:
        d += b
        q -= 1.0
    return d, q


@nb.njit(cache=True)
def _settle(out, buf, tw, k, carry, b, inv_b):
    """Add carry at digit k and carry upwards (negated past the top digit) until it is 0, re-twisting every
    word touched into buf (buf of length 0: digits only)."""
    L = out.shape[0]
    H = L // 2
    half = 0.5 * b
    while carry != 0.0:
        out[k], carry = _split(out[k] + carry, b, inv_b, half)
        if buf.shape[0]:
            i = k % H
            buf[i] = complex(out[i], out[i + H]) * tw[i]
        k += 1
        if k == L:
            k = 0
            carry = -carry


@nb.njit(cache=True)
def _step(buf, out, tw, inv_h, b, inv_b, mul):
    """Inverse FFT output in buf -> balanced digits in out (times mul), next twisted input in buf; returns the
    largest round-off. The low and high halves are carried as two independent chains."""
    H = buf.shape[0]
    half = 0.5 * b
    roe = 0.0
    c_lo = 0.0
    c_hi = 0.0
    for j in range(H):
        br, bi, tr, ti = buf[j].real, buf[j].imag, tw[j].real, tw[j].imag
        zr = (br * tr + bi * ti) * inv_h  # buf[j] * conj(zeta^j) / H
        zi = (bi * tr - br * ti) * inv_h
        r = (zr + RND) - RND
        s = (zi + RND) - RND
        e = max(abs(zr - r), abs(zi - s))
        if not (abs(zr) < MAX_EXACT and abs(zi) < MAX_EXACT):
            e = BAD
        roe = max(roe, e)
        lo, c_lo = _split(r * mul + c_lo, b, inv_b, half)
        hi, c_hi = _split(s * mul + c_hi, b, inv_b, half)
        out[j] = lo
        out[j + H] = hi
        buf[j] = complex(lo, hi) * tw[j]
    _settle(out, buf, tw, H, c_lo, b, inv_b)  # the low half's carry enters digit L/2,
    _settle(out, buf, tw, 0, -c_hi, b, inv_b)  # the top carry wraps negated: b^L = -1
    return roe


@nb.njit(cache=True)
def _normalise(x, mul, b, inv_b):
    """Integer digits x (|x_j * mul| < 2^51) times mul, carried back into balanced digits in place."""
    L = x.shape[0]
    half = 0.5 * b
    carry = 0.0
    for j in range(L):
        x[j], carry = _split(x[j] * mul + carry, b, inv_b, half)
    _settle(x, np.empty(0, dtype=np.complex128), np.empty(0, dtype=np.complex128), 0, -carry, b, inv_b)


@nb.njit(cache=True)
def _twist(x, buf, tw):
    H = buf.shape[0]
    for j in range(H):
        buf[j] = complex(x[j], x[j + H]) * tw[j]


@nb.njit(cache=True)
def _split_leaves(leaves, b, out):
    """Leaf i (an integer below b^g, g = len(out) / len(leaves)) into its g base-b digits out[i*g:(i+1)*g]."""
    g = out.shape[0] // leaves.shape[0]
    for i in range(leaves.shape[0]):
        v = leaves[i]
        for t in range(g):
            out[i * g + t] = float(v % b)
            v //= b


@nb.njit(cache=True)
def _join_leaves(d, b, leaves):
    """Balanced digits d into standard digits [0, b) (carried upwards), joined g at a time into leaves
    (g = len(d) / len(leaves)); returns the carry out of the top digit."""
    g = d.shape[0] // leaves.shape[0]
    carry = np.int64(0)
    for i in range(leaves.shape[0]):
        acc = np.int64(0)
        scale = np.int64(1)
        for t in range(g):
            v = np.int64(d[i * g + t]) + carry
            q = v // b  # floor: the digit v - q*b is in [0, b)
            acc += (v - q * b) * scale
            carry = q
            scale *= b
        leaves[i] = acc
    return carry


class BitStringChains(ModularArithmetic):
    """The chains of a GFN arithmetic as one loop, `_chain(x, bits, base)`: x squared once per character of
    `bits`, times the small `base` after each "1" (shared by the CPU and the device arithmetic)."""

    @abstractmethod
    def _chain(self, x: mpz, bits: str, base: int) -> mpz: ...

    def square_chain(self, x: int, count: int) -> mpz:
        return self._chain(mpz(x), "0" * count, 1)

    def fermat_power(self, base: int, exponent: int) -> mpz:
        """base^exponent mod N, left to right: square, and multiply by the base where the exponent's bit is
        set, that multiplication folded into the squaring's carry (genefer's squareDup). The GFN test is
        fermat_power(a, N - 1), N - 1 = b^(2^m)."""
        if not 2 <= base < MAX_SMALL:
            raise ValueError(f"base must be in [2, 2^20) (a small Fermat base), got {base}")
        if exponent < 1:
            raise ValueError(f"exponent must be >= 1, got {exponent}")
        return self._chain(mpz(base), bin(exponent)[3:], base)

    def binary_chain(self, x: int, digit: int, count: int, base: int) -> mpz:
        if not 2 <= base < MAX_SMALL:
            return super().binary_chain(x, digit, count, base)
        return self._chain(mpz(x) % self.N, format(digit, f"0{count}b") if count else "", base)


class GfnArithmetic(BitStringChains):
    """Arithmetic modulo b^(2^m) + 1; a residue is a float64 array of L = 2^m balanced base-b digits.

    `roe_redo` (tests, diagnostics) lowers the round-off that sends a product to GMP.
    """

    name = "fft-gfn"

    def __init__(self, b: int, m: int, *, roe_redo: float = ROE_REDO, backend: FFTBackend | str | None = None):
        if b < 2 or b % 2:
            raise ValueError(f"b must be even and >= 2 for b^(2^m)+1 (odd b gives an even N), got b={b}")
        if not 2 <= m <= 30:
            raise ValueError(f"m must be between 2 and 30 for the GFN transform (L = 2^m digits), got m={m}")
        if not fits(b, m):
            raise ValueError(f"b={b} is over the float64 limit 2^{max_b_bits(m):.2f} at m={m} "
                             f"(2*log2 b + 0.6*m <= {B_LIMIT_BITS}): use the GMP arithmetic for it")
        if not 0.0 < roe_redo <= ROE_REDO:
            raise ValueError(f"roe_redo must be in (0, {ROE_REDO}], got {roe_redo}")
        self.b, self.m, self.L = b, m, 1 << m
        self.N = mpz(b) ** self.L + 1
        self.roe_redo = roe_redo
        self.stats = ArithStats()
        self.redone = 0  # products redone in GMP after a round-off trip (also counted in stats.promotions)
        self._fb, self._inv_b = float(b), 1.0 / b
        H = self.L // 2
        self._inv_h = 1.0 / H
        self._tw = np.exp(1j * np.pi * np.arange(H) / self.L)  # zeta^j
        backend = backend if isinstance(backend, FFTBackend) else get_backend(backend)
        self._plan = backend.complex_plan(H)
        self._powers = [mpz(b)]  # b^(2^i), i < m: the splits of the digit conversions
        for _ in range(m - 1):
            self._powers.append(self._powers[-1] ** 2)
        # leaves of 2^i digits, the largest i with b^(2^i) < 2^62 (i >= 1: b < 2^25 here), at most L digits
        self._leaf_level = min(m, max(i for i in range(m + 1) if i == 0 or self._powers[i - 1] ** 2 < 2**62))

    # --- conversions ----------------------------------------------------------------------------------
    def from_int(self, x: int) -> np.ndarray:
        x = mpz(x) % self.N
        digits = np.zeros(self.L)
        if x == self.N - 1:  # b^L, the one residue with L+1 digits: -1
            digits[0] = -1.0
            return digits
        chunks = [x]  # split by b^(2^i) down to leaves of g digits, which fit an int64
        for power in reversed(self._powers[self._leaf_level:]):
            chunks = [part for c in chunks for part in reversed(gmpy2.t_divmod(c, power))]
        leaves = np.fromiter(map(int, chunks), dtype=np.int64, count=len(chunks))
        _split_leaves(leaves, self.b, digits)
        _normalise(digits, 1.0, self._fb, self._inv_b)
        return digits

    def to_int(self, r: np.ndarray) -> mpz:
        leaves = np.empty(self.L >> self._leaf_level, dtype=np.int64)
        top = _join_leaves(r, self.b, leaves)
        values = list(map(mpz, leaves.tolist()))
        for power in self._powers[self._leaf_level:]:
            values = [values[i] + values[i + 1] * power for i in range(0, len(values), 2)]
        return (values[0] - top) % self.N  # the carry out of the top digit is worth top*b^L = -top

    # --- ModularArithmetic ------------------------------------------------------------------------------
    def _accept(self, roe: float) -> bool:
        """Record a product's round-off; True if it is accepted, False if it must be redone in GMP."""
        if roe <= self.roe_redo:
            self.stats.max_roe = max(self.stats.max_roe, roe)
            return True
        self.redone += 1
        self.stats.promotions += 1
        return False

    def _product(self, a: np.ndarray, b: np.ndarray | None) -> np.ndarray:
        plan = self._plan
        if b is not None:
            _twist(b, plan.buffer, self._tw)
            plan.forward()
            other = plan.buffer.copy()
        _twist(a, plan.buffer, self._tw)
        plan.forward()
        np.multiply(plan.buffer, plan.buffer if b is None else other, out=plan.buffer)
        plan.inverse()
        out = np.empty(self.L)
        if self._accept(_step(plan.buffer, out, self._tw, self._inv_h, self._fb, self._inv_b, 1.0)):
            return out
        x = self.to_int(a)
        return self.from_int(x * (x if b is None else self.to_int(b)))

    def square(self, r: np.ndarray) -> np.ndarray:
        return self._product(r, None)

    def multiply(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return self._product(a, b)

    def mul_small(self, r: np.ndarray, c: int) -> np.ndarray:
        if abs(c) >= MAX_SMALL:
            return self.from_int(self.to_int(r) * c)
        out = r.copy()
        _normalise(out, float(c), self._fb, self._inv_b)
        return out

    def sub_small(self, r: np.ndarray, c: int) -> np.ndarray:
        if abs(c) >= MAX_SMALL:
            return self.from_int(self.to_int(r) - c)
        out = r.copy()
        out[0] -= c
        _normalise(out, 1.0, self._fb, self._inv_b)
        return out

    def _chain(self, x: mpz, bits: str, base: int) -> mpz:
        """x squared once per character of `bits`, times `base` after each "1": the hot loop."""
        plan, tw, inv_h, fb, inv_b, redo = self._plan, self._tw, self._inv_h, self._fb, self._inv_b, self.roe_redo
        buf = plan.buffer
        prev = self.from_int(x)
        cur = np.empty(self.L)
        _twist(prev, buf, tw)
        worst, fbase = self.stats.max_roe, float(base)
        for i, bit in enumerate(bits):
            mul = fbase if bit == "1" else 1.0
            plan.forward()
            np.multiply(buf, buf, out=buf)
            plan.inverse()
            roe = _step(buf, cur, tw, inv_h, fb, inv_b, mul)
            if roe > worst:
                if roe <= redo:
                    worst = roe
                elif not self._accept(roe):
                    y = self.to_int(prev)
                    y = y * y * (base if bit == "1" else 1) % self.N
                    if self.redone >= MAX_REDONE:  # the rest in GMP
                        self.stats.max_roe = max(self.stats.max_roe, worst)
                        rest = bits[i + 1:]
                        return gmpy2.powmod(y, mpz(1) << len(rest), self.N) * \
                            gmpy2.powmod(base, int(rest or "0", 2), self.N) % self.N
                    cur = self.from_int(y)
                    _twist(cur, buf, tw)
            prev, cur = cur, prev
        self.stats.max_roe = max(self.stats.max_roe, worst)
        return self.to_int(prev)


def gfn_applies(b: int, m: int, *, force: bool = False) -> bool:
    """True where the GFN transform takes b^(2^m) + 1 (even b within the float64 limit, m >= 2) and, unless
    `force` (DARKREACH_ARITH=fft), N is at or above the measured crossover."""
    return fits(b, m) and (force or (1 << m) * math.log2(b) >= CROSSOVER_BITS)


def gfn_arithmetic(b: int, m: int, *, force: bool = False) -> GfnArithmetic | None:
    """The GFN transform for b^(2^m) + 1 where `gfn_applies`, else None."""
    return GfnArithmetic(b, m) if gfn_applies(b, m, force=force) else None
