"""The Pietrzak verifier's own FFT arithmetic modulo M = K*2^e + c (c = +-1, K odd and small) and b^(2^m) + 1.

Why a second FFT: the verifier must not share the prover's code (issue #13), yet on GMP products it costs 4-5x a
step of the FFT test, so verifying an FFT test cost 10-55% of it. This module is written from the mathematics
(not from darkreach_pipeline.arith, which it never imports) and is used only by proofs/pietrzak_verify.py.

The transform (an irrational-base weighted transform, Crandall-Fagin 1994, Percival 2003). With L digits and
beta = (e + log2 K)/L, digit j starts at bit s_j = ceil(j*beta) (s_L = e + ceil(log2 K)) and x = sum x_j 2^(s_j),
balanced digits |x_j| <= 2^(w_j - 1). The weights a_j = 2^(s_j - j*beta) turn the product into a plain length-L
convolution of X_j = a_j x_j in which a product term that wraps past j = L carries omega^L = 2^(L*beta) = K*2^e,
i.e. -c mod M divided by K. So a convolution that wraps with the sign -c (cyclic for c = -1, negacyclic for
c = +1: a "right-angle" complex transform of length L/2) gives K * z_m / a_m = integer output words whose value is
K*X*Y mod M. Numbers are therefore kept as X = x * K^-1 mod M (then K*X*Y is the form of x*y), a multiplication by
a small g is a multiplication of the output words before the carry, and a carry C out of the top digit is
C*2^(e+t) = (q*K + r)*2^e = -c*q + r*2^e mod M (C*2^t = q*K + r): -c*q goes into digit 0, r at bit e. The carry
has no chain from word to word: each word splits as lo + hi*2^w and hi moves one digit up, a few passes until
every hi is 0 or +-1 (digits within 2^(w-1) + 1). A generalized Fermat number b^(2^m) + 1 (GfnFFT) is the
rational case: 2^m digits in base b, no weights, the negacyclic transform (b^(2^m) = -1), the carry dividing by b.

Safety: the exponents s_j - j*beta are computed in 192-bit fixed point (exact for K = 1); every product
checks its round-off (max |v - rint(v)| over the output words) and raises RoundoffError above ROUNDOFF_LIMIT, as it
does for an output word beyond 2^52; the length keeps half a bit per word under the usual float64 limit (less
log2(K)/2; measured round-off 0.002-0.13 over 200-step chains at 50k-1.3M bits), and the verifier redoes a
tripped product on GMP and confirms any rejection on GMP (round-off can neither accept nor reject a proof).
"""

from __future__ import annotations

import math
import os
import threading
from functools import lru_cache
from pathlib import Path

import gmpy2
import numpy as np
import pyfftw
from gmpy2 import mpz
from numba import njit

ROUNDOFF_LIMIT = 0.40  # the usual action threshold: an output word this far from an integer stops the chain
MAX_K_BITS = 20  # K costs log2(K)/2 bits per word; beyond this the verifier stays on GMP
FIXED_BITS = 192  # fraction bits of the weight exponents for K > 1
MAX_SMALL = 1 << 10  # the small multiplier folded into the carry (int64 words of < 2^52 times it stay exact)


class RoundoffError(ArithmeticError):
    """A product whose output words were too far from integers to be trusted: `state` is z^(2^done) * g^(the
    digits done) mod M, the last value before it, and `left` the chain's steps still to do (on GMP)."""

    def __init__(self, roundoff: float, state: mpz, left: int):
        super().__init__(f"round-off {roundoff:.3f} above {ROUNDOFF_LIMIT}: {left} steps left")
        self.roundoff, self.state, self.left = roundoff, state, left


def _max_bits_per_word(L: int, K: int) -> float:
    """Bits per word (counting e + log2 K) that keep round-off well below 0.4: the float64 limit's usual fit,
    21.95 - 0.28*(log2 L - 10) (gwnum's table), less K's cost (log2(K)/2) and a margin of half a bit."""
    return 21.95 - 0.28 * (math.log2(L) - 10) - 0.5 - math.log2(K) / 2


def choose_length(K: int, e: int) -> int:
    """The shortest even length m*2^a (m in 1, 3, 5, 7, 9, 21: lengths FFTW does fast) whose bits per word fit
    `_max_bits_per_word`."""
    bits = e + math.log2(K)
    best = None
    for m in (1, 3, 5, 7, 9, 21):
        L = 2 * m
        while bits / L > _max_bits_per_word(L, K):
            L *= 2
        best = L if best is None else min(best, L)
    return max(best, 16)


@njit(cache=True)
def _divide(v, w, base):
    """(h, lo) with v = lo + h * radix and |lo| <= radix/2, for the radix 2^w (base 0) or base (a GFN's b)."""
    if base == 0:
        h = (v + (np.int64(1) << (w - 1))) >> w
        return h, v - (h << w)
    h = np.int64(np.rint(v / base))  # within 1 of the quotient (|v| < 2^52 is exact in float64)
    lo = v - h * base
    while 2 * lo > base:
        lo -= base
        h += 1
    while 2 * lo < -base:
        lo += base
        h -= 1
    return h, lo


@njit(cache=True)
def _split(d, widths, base, j, carry):
    """d_j <- the balanced low part of d_j + carry (|d_j| <= radix/2); returns the carry to digit j + 1."""
    h, d[j] = _divide(d[j] + carry, widths[j], base)
    return h


@njit(cache=True)
def _settle(d, widths, base, start, carry):
    """Add `carry` to digit `start` and propagate upward until it is absorbed; returns the carry out of the top."""
    for j in range(start, d.shape[0]):
        carry = _split(d, widths, base, j, carry)
        if carry == 0:
            break
    return carry


@njit(cache=True)
def _wrap(d, widths, base, top, K, c, t, J, shift):
    """Fold carries out of the top digit back in: top*2^t = q*K + r gives -c*q at digit 0 and r*2^shift at J."""
    while top != 0:
        high = top // K  # top*2^t = q*K + r without forming top*2^t (it may pass 2^63)
        low = (top - high * K) << t
        q = (high << t) + low // K
        r = low - (low // K) * K
        top = _settle(d, widths, base, 0, -c * q)
        if r != 0:
            top += _settle(d, widths, base, J, r << shift)


@njit(cache=True)
def _round(y, small, w, base, lo, hi, j):
    """Round one output word, multiply it by `small` and split it as lo + hi * radix (|lo| <= radix/2); returns
    the distance to the integer (1.0 for a word at or beyond 2^52, beyond exact float64 integers)."""
    r = np.rint(y)
    err = abs(y - r)
    if abs(r) >= 4503599627370496.0:
        err, r = 1.0, 0.0
    hi[j], lo[j] = _divide(np.int64(r) * small, w, base)
    return err


@njit(cache=True)
def _carry_cyclic(out, inverse, widths, small, lo, hi):
    """Unweight the inverse transform's real output and split each word (no carry chain: see `_combine`)."""
    roe = 0.0
    for k in range(out.shape[0] // 2):  # two words a turn: measured 3x faster than one (L is even)
        j = 2 * k
        roe = max(roe, _round(out[j] * inverse[j], small, widths[j], 0, lo, hi, j))
        roe = max(roe, _round(out[j + 1] * inverse[j + 1], small, widths[j + 1], 0, lo, hi, j + 1))
    return roe


@njit(cache=True)
def _carry_negacyclic(out, inverse, reciprocal, widths, base, small, lo, hi):
    """Untwist and unweight the right-angle output (word j in the real part, word j + L/2 in the imaginary part)
    and split each word."""
    roe = 0.0
    H = out.shape[0]
    for j in range(H):
        w = out[j] * inverse[j]
        roe = max(roe, _round(w.real * reciprocal[j], small, widths[j], base, lo, hi, j))
        roe = max(roe, _round(w.imag * reciprocal[j + H], small, widths[j + H], base, lo, hi, j + H))
    return roe


@njit(cache=True)
def _combine(d, lo, hi, widths, base, K, c, t, J, shift):
    """d_j = lo_j + hi_(j-1), split again the same way and added again until every carry is 0 or +-1 (a few passes
    without a carry chain, each about log2(word/2^w) bits shorter), so every digit is within 2^(w_j - 1) + 1; the
    carries out of the top are folded back in by `_wrap`."""
    L = d.shape[0]
    top = np.int64(0)
    while True:
        top += hi[L - 1]
        for j in range(L - 1, 0, -1):
            d[j] = lo[j] + hi[j - 1]
        d[0] = lo[0]
        largest = np.int64(0)
        for j in range(L - 1):
            largest = max(largest, abs(hi[j]))
        if largest <= 1:
            break
        for j in range(L):
            hi[j], lo[j] = _divide(d[j], widths[j], base)
    _wrap(d, widths, base, top, K, c, t, J, shift)


@njit(cache=True)
def _balance(d, widths, base, above, K, c, t, J, shift):
    """Balance every digit (carrying upward) and fold the top carry, plus `above` (a carry already out of the
    top), back in."""
    top = np.int64(0)
    for j in range(d.shape[0]):
        top = _split(d, widths, base, j, top)
    _wrap(d, widths, base, top + above, K, c, t, J, shift)


@njit(cache=True)
def _unsigned(d, widths):
    """Make every digit non-negative (0 <= d_j < 2^w_j) by floor carries; returns the carry out of the top."""
    top = np.int64(0)
    for j in range(d.shape[0]):
        v = d[j] + top
        w = widths[j]
        d[j] = v & ((np.int64(1) << w) - 1)
        top = v >> w
    return top


@njit(cache=True)
def _weight_cyclic(d, forward, buf):
    for j in range(d.shape[0]):
        buf[j] = d[j] * forward[j]


@njit(cache=True)
def _weight_negacyclic(d, low, high, buf):
    H = buf.shape[0]
    for j in range(H):
        buf[j] = d[j] * low[j] + d[j + H] * high[j]


MEASURE_AFTER_STEPS = 50_000  # FFTW_MEASURE plans cost ~7,000 steps of their length (1-2 s at 400k bits)
# and save ~20% a step: a length is measured once this process has run that many products on it
_steps_run: dict[tuple[int, bool], int] = {}


# The measured plans' wisdom (FFTW's timings, not code) kept across processes, so a proof-check run starts on
# measured plans for a length an earlier process measured; the verifier's own file, read once per process.
WISDOM_PATH = Path.home() / ".cache" / "darkreach" / "verifier-fftw-wisdom"
_wisdom_read = False


def _read_wisdom() -> None:
    global _wisdom_read
    if not _wisdom_read:
        _wisdom_read = True
        try:
            pyfftw.import_wisdom(tuple(WISDOM_PATH.read_bytes().split(b"\0\0")))
        except (OSError, ValueError, TypeError):
            pass  # wisdom only saves planning time


def _save_wisdom() -> None:
    try:
        WISDOM_PATH.parent.mkdir(parents=True, exist_ok=True)
        tmp = WISDOM_PATH.with_name(f"{WISDOM_PATH.name}.{os.getpid()}.tmp")
        tmp.write_bytes(b"\0\0".join(pyfftw.export_wisdom()))
        os.replace(tmp, WISDOM_PATH)
    except OSError:
        pass


def _plan(source: np.ndarray, target: np.ndarray, direction: str, measured: bool) -> pyfftw.FFTW:
    """A measured plan where asked, or where wisdom already has one (free), else an estimated one."""
    _read_wisdom()
    if not measured:
        try:
            return pyfftw.FFTW(source, target, direction=direction, threads=1,
                               flags=("FFTW_MEASURE", "FFTW_DESTROY_INPUT", "FFTW_WISDOM_ONLY"))
        except RuntimeError:  # no wisdom for this transform yet
            return pyfftw.FFTW(source, target, direction=direction, threads=1,
                               flags=("FFTW_ESTIMATE", "FFTW_DESTROY_INPUT"))
    return pyfftw.FFTW(source, target, direction=direction, threads=1, flags=("FFTW_MEASURE", "FFTW_DESTROY_INPUT"))


@lru_cache(maxsize=8)
def _plans(L: int, negacyclic: bool, measured: bool, thread: int):
    """FFTW plans and their buffers, one set per (length, wrap, planning effort, thread: two threads never share
    buffers): planned before they are filled (FFTW overwrites the arrays while measuring)."""
    if negacyclic:
        size = L // 2
        inbuf = pyfftw.empty_aligned(size, dtype="complex128")
        spec = pyfftw.empty_aligned(size, dtype="complex128")
        outbuf = pyfftw.empty_aligned(size, dtype="complex128")
    else:
        inbuf = pyfftw.empty_aligned(L, dtype="float64")
        spec = pyfftw.empty_aligned(L // 2 + 1, dtype="complex128")
        outbuf = pyfftw.empty_aligned(L, dtype="float64")
    forward = _plan(inbuf, spec, "FFTW_FORWARD", measured)
    inverse = _plan(spec, outbuf, "FFTW_BACKWARD", measured)
    if measured:
        _save_wisdom()
    return forward, inverse, inbuf, spec, outbuf


@lru_cache(maxsize=16)
def _layout(K: int, e: int, L: int) -> tuple[np.ndarray, np.ndarray]:
    """(s_j for j = 0..L, weights a_j) with s_j - j*beta in 192-bit fixed point (exact for K = 1)."""
    starts = np.empty(L + 1, dtype=np.int64)
    # j*beta in 192-bit fixed point: log2(K) rounded once (256-bit mpfr; 0 exactly for K = 1, where s_j is exact)
    with gmpy2.context(gmpy2.get_context(), precision=256):
        log_k = int(gmpy2.floor(gmpy2.log2(gmpy2.mpfr(K)) * gmpy2.exp2(FIXED_BITS)))
    step, unit = (e << FIXED_BITS) + log_k, L << FIXED_BITS  # j*beta = j*step/unit
    fractions = np.empty(L, dtype=np.float64)
    for j in range(L):
        s = -((-j * step) // unit)
        starts[j] = s
        fractions[j] = ((s * unit - j * step) >> (FIXED_BITS - 52)) / float(L << 52)
    weights = np.exp2(fractions)
    starts[L] = e + (K - 1).bit_length()
    return starts, weights


class ShapeFFT:
    """Products modulo M = K*2^e + c on a weighted FFT of length L (numbers held as balanced int64 digits of
    X = x*K^-1 mod M); `chain` is the verifier's binary chain z^(2^count) * g^digits."""

    def __init__(self, K: int, e: int, c: int, length: int | None = None):
        if c not in (1, -1) or K % 2 == 0 or K.bit_length() > MAX_K_BITS or e < 64:
            raise ValueError(f"no FFT of this module for {K}*2^{e}{c:+d}")
        self.K, self.e, self.c, self.base = K, e, c, 0
        self.M = mpz(K) * (mpz(1) << e) + c
        self.L = L = length or choose_length(K, e)
        if L % 2:
            raise ValueError("the length must be even")
        self.starts, weights = _layout(K, e, L)
        self.widths = np.diff(self.starts).astype(np.int64)
        if self.widths.min() < 2 or self.widths.max() > 40:
            raise ValueError(f"length {L} gives digits of {self.widths.min()}..{self.widths.max()} bits")
        self.t = (K - 1).bit_length()
        self.J = int(np.searchsorted(self.starts, e, side="right")) - 1  # the digit holding bit e
        self.shift = e - int(self.starts[self.J])
        self.K_inverse = gmpy2.invert(K, self.M)
        self.negacyclic = c == 1
        self.key = (L, self.negacyclic)
        measured = _steps_run.setdefault(self.key, 0) >= MEASURE_AFTER_STEPS
        plans = _plans(L, self.negacyclic, measured, threading.get_ident())
        self.forward, self.inverse, self.inbuf, self.spec, self.outbuf = plans
        self.lo, self.hi = np.empty(L, dtype=np.int64), np.empty(L, dtype=np.int64)
        self.limit = None
        self._places = np.arange(int(self.starts[-1]), dtype=np.int64) - np.repeat(self.starts[:-1], self.widths)
        if self.negacyclic:
            H = L // 2
            zeta = np.exp(1j * np.pi * np.arange(H) / L)
            self.low = weights[:H] * zeta
            self.high = 1j * weights[H:] * zeta
            self.unweight = K / H / zeta
            self.reciprocal = 1.0 / weights
        else:
            self.weights = weights
            self.unweight = K / L / weights

    def digits(self, x: mpz) -> np.ndarray:
        """The balanced digits of X = x * K^-1 mod M."""
        X = int(x * self.K_inverse % self.M)
        top = int(self.starts[-1])
        words = np.frombuffer(X.to_bytes(8 * (top // 64 + 2), "little"), dtype="<u8")  # a word to spare
        start = self.starts[:-1].astype(np.uint64)
        index, offset = (start >> np.uint64(6)).astype(np.int64), start & np.uint64(63)
        # digit j = bits s_j .. s_j + w_j - 1 (w_j <= 40): the rest of its first word, the head of the next
        spill = np.where(offset == 0, np.uint64(0), words[index + 1] << ((np.uint64(64) - offset) & np.uint64(63)))
        mask = (np.uint64(1) << self.widths.astype(np.uint64)) - np.uint64(1)
        d = (((words[index] >> offset) | spill) & mask).astype(np.int64)
        above = np.int64(X >> top)  # 1 only for X = 2^e of M = 2^e + 1
        _balance(d, self.widths, 0, above, self.K, self.c, self.t, self.J, self.shift)
        return d

    def value(self, d: np.ndarray) -> mpz:
        """x = K * X mod M for the digits d of X (unchanged)."""
        unsigned = d.copy()
        top = _unsigned(unsigned, self.widths)
        bits = (np.repeat(unsigned, self.widths) >> self._places) & 1
        X = int.from_bytes(np.packbits(bits.astype(np.uint8), bitorder="little").tobytes(), "little")
        return (mpz(X) + (mpz(int(top)) << int(self.starts[-1]))) * self.K % self.M

    def _load(self, d: np.ndarray) -> None:
        if self.negacyclic:
            _weight_negacyclic(d, self.low, self.high, self.inbuf)
        else:
            _weight_cyclic(d, self.weights, self.inbuf)

    def _square(self, d: np.ndarray, small: int, other: np.ndarray | None = None) -> float:
        """d <- small * d^2, or d * other for the spectrum `other` of another number (in place, as digits of the
        K-form; the input buffer holds d weighted and is loaded with the result); returns the round-off."""
        _steps_run[self.key] += 1
        self.forward.execute()
        np.multiply(self.spec, self.spec if other is None else other, out=self.spec)
        self.inverse.execute()
        if self.negacyclic:
            roe = _carry_negacyclic(self.outbuf, self.unweight, self.reciprocal, self.widths, self.base, small,
                                    self.lo, self.hi)
        else:
            roe = _carry_cyclic(self.outbuf, self.unweight, self.widths, small, self.lo, self.hi)
        _combine(d, self.lo, self.hi, self.widths, self.base, self.K, self.c, self.t, self.J, self.shift)
        self._load(d)
        return roe

    def chain(self, z: mpz, digits: mpz, count: int, g: int, limit: float | None = None) -> mpz:
        """z^(2^count) * g^digits mod M (digits < 2^count): count squarings, each followed by a multiplication by
        g where the digit's bit is 1 (folded into the carry). Raises RoundoffError (with the state to finish
        from, saved every 1,024 steps) when a squaring's round-off passes `limit` (default ROUNDOFF_LIMIT)."""
        if not 1 <= g < MAX_SMALL or digits >> count:
            raise ValueError(f"the chain takes digits below 2^{count} and a multiplier below {MAX_SMALL}")
        limit = ROUNDOFF_LIMIT if limit is None else limit
        d = self.digits(z)
        saved, saved_at = d.copy(), count
        self._load(d)
        bits = format(int(digits), "b").zfill(count) if count else ""
        self.roundoff = 0.0
        for i in range(count):
            if i % 1024 == 0:
                saved[:], saved_at = d, count - i
            roe = self._square(d, g if bits[i] == "1" else 1)
            self.roundoff = max(self.roundoff, roe)
            if roe > limit:
                raise RoundoffError(roe, self.value(saved), saved_at)
        return self.value(d)

    def _checked(self, d: np.ndarray, other: np.ndarray | None = None) -> None:
        """d <- d^2 or d * other, raising RoundoffError past the limit."""
        roe = self._square(d, 1, other)
        if roe > (ROUNDOFF_LIMIT if self.limit is None else self.limit):
            raise RoundoffError(roe, mpz(0), 0)

    def _table(self, x: mpz) -> list[tuple[np.ndarray, np.ndarray]]:
        """The digits and spectra of x^1 .. x^15 (a 4-bit window's table: 14 products)."""
        d = self.digits(x)
        self._load(d)
        self.forward.execute()
        table = [(d.copy(), self.spec.copy())]
        for _ in range(14):
            self._load(d)
            self._checked(d, table[0][1])
            self.forward.execute()
            table.append((d.copy(), self.spec.copy()))
        return table

    def multi_power(self, bases: list[mpz], exponents: list[int], limit: float | None = None) -> mpz:
        """prod bases[i]^exponents[i] mod M by Straus's method with 4-bit windows (the squarings shared), every
        product on this FFT with its round-off checked: RoundoffError (without a state: redo it elsewhere)."""
        self.limit = limit
        tables = [self._table(b) for b in bases]
        width = max(r.bit_length() for r in exponents)
        d = None
        for shift in range(((width + 3) // 4) * 4 - 4, -4, -4):
            for _ in range(4 if d is not None else 0):
                self._checked(d)
            for table, r in zip(tables, exponents, strict=True):
                window = (r >> shift) & 15
                if window and d is None:
                    d = table[window - 1][0].copy()
                    self._load(d)
                elif window:
                    self._checked(d, table[window - 1][1])
        return mpz(1) if d is None else self.value(d)


class GfnFFT(ShapeFFT):
    """Products modulo N = b^(2^m) + 1 (a generalized Fermat number): 2^m digits in base b, no weights (a
    rational transform), the negacyclic right-angle transform (b^(2^m) = -1: a carry out of the top is subtracted
    from digit 0), the carry dividing by b; the same chain, powers and round-off rules as ShapeFFT."""

    def __init__(self, b: int, m: int):
        L = 1 << m
        if b < 3 or L < 16 or math.log2(b) > _max_bits_per_word(L, 1):
            raise ValueError(f"no FFT of this module for {b}^(2^{m})+1")
        self.K, self.e, self.c, self.base, self.L, self.m = 1, 0, 1, b, L, m
        self.M = mpz(b) ** L + 1
        self.widths = np.full(L, 1, dtype=np.int64)  # unused by a base-b carry
        self.t = self.J = self.shift = 0
        self.K_inverse = mpz(1)
        self.negacyclic = True
        self.key = (L, True)
        measured = _steps_run.setdefault(self.key, 0) >= MEASURE_AFTER_STEPS
        plans = _plans(L, True, measured, threading.get_ident())
        self.forward, self.inverse, self.inbuf, self.spec, self.outbuf = plans
        self.lo, self.hi = np.empty(L, dtype=np.int64), np.empty(L, dtype=np.int64)
        self.limit = None
        H = L // 2
        zeta = np.exp(1j * np.pi * np.arange(H) / L)
        self.low, self.high = zeta.copy(), 1j * zeta
        self.unweight = 1.0 / H / zeta
        self.reciprocal = np.ones(L)
        self.powers = [mpz(b)]  # b^(2^k), k < m: the digit split's divisors
        for _ in range(m - 1):
            self.powers.append(self.powers[-1] ** 2)

    def digits(self, x: mpz) -> np.ndarray:
        """The balanced base-b digits of x mod N (by halving: divmod by b^(L/2), b^(L/4), ...)."""
        x = x % self.M
        if x == self.M - 1:  # b^L, the one residue with L + 1 digits, is -1
            d = np.zeros(self.L, dtype=np.int64)
            d[0] = -1
            return d
        parts = [x]
        for power in reversed(self.powers):
            parts = [piece for part in parts for piece in reversed(gmpy2.f_divmod(part, power))]
        d = np.array([int(part) for part in parts], dtype=np.int64)
        _balance(d, self.widths, self.base, np.int64(0), 1, 1, 0, 0, 0)
        return d

    def value(self, d: np.ndarray) -> mpz:
        """x mod N for the digits d."""
        parts = [mpz(int(v)) for v in d]
        for power in self.powers:
            parts = [parts[k] + parts[k + 1] * power for k in range(0, len(parts), 2)]
        return parts[0] % self.M
