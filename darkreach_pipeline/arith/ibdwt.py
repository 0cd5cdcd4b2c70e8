"""FFT arithmetic modulo N = k*2^n + c (k odd and small, c = +-1): the irrational-base weighted transform.

Method (reference: shared fft-arithmetic.md sections 1, 2, 5, 6). With beta = (n + log2 k)/L, digit j
starts at bit s_j = ceil(j*beta) and has weight a_j = 2^(s_j - j*beta); then rho = 2^beta has
rho^L = k*2^n = -c (mod N), so squaring the weighted digits is a cyclic convolution (c = -1, a real FFT of
length L) or a negacyclic one (c = +1, the right-angle complex FFT of length L/2). The outputs times k,
unweighted, are integers that represent k*X^2. Residues are therefore held in "k-Montgomery form"
X = x*k^-1 mod N, where k^-1 = -c*2^n: conversion is a shift, and a product stays a product.
The weight exponents s_j - j*beta are computed in 128-bit fixed point (exact integers for k = 1), never
as a float j*n/L, whose error (~1e-12) shows up as round-off.

Precision: the FFT length is the smallest L = 2^a*m (m odd, 7-smooth, <= 25) whose bits per word stay
under `bpw_limit`. The round-off of every product is checked in the carry kernel: above ROE_REDO the
product is redone from its input at the next FFT length and the arithmetic stays there; past ROE_FAIL
with no longer length left, RoundoffError. Gerbicz checks on top of the chains catch what the round-off
check cannot (an error that lands on an integer).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import gmpy2
import numpy as np
from gmpy2 import mpz

from darkreach_pipeline.arith.base import ArithStats, ModularArithmetic, RoundoffError, window_plan
from darkreach_pipeline.arith.fft_backend import FFTBackend, get_backend
from darkreach_pipeline.primality.special_form import SpecialModulus

# gwnum's measured Mersenne limits (fft-arithmetic.md 5.2) fit 21.95 - 0.28*(log2 L - 10) bits per word.
BPW_AT_1K, BPW_SLOPE = 21.95, 0.28
BPW_MARGIN = 0.5  # puts the max round-off near 0.1-0.2
ROE_REDO = 0.40  # LLR's and PRST's action threshold
ROE_FAIL = 0.45  # never accepted (fft-arithmetic.md 5.3)
MAX_PROMOTIONS = 5  # longer lengths tried past the rule's choice (LLR: at most 5 increments)
PROMOTION_STEP = 1.04  # each at least 4% longer: ~0.6 bits a word, about 4x less round-off
MAX_K_BITS = 30  # beyond this the k penalty halves the word size: use the GMP or a generic arithmetic
MAX_SMALL = 1 << 20  # mul_small / sub_small constants handled inside the carry (exact below 2^51)
MAX_ODD_FACTOR = 25  # 2*7^4 and 2^3*3^8 measured 1.3-1.5x slower per word than 5*2^10 (FFTW)
FIXED_POINT = 128  # bits of the weight-exponent fixed point for k > 1


def bpw_limit(L: int, k: int = 1, c: int = -1) -> float:
    """Usable bits per word at FFT length L for N = k*2^n + c (fft-arithmetic.md 5.2): the Mersenne fit minus
    the margin minus (log2 k + 1.7*log2|c|)/2, since the output is scaled by k and round-off grows with |c|."""
    return BPW_AT_1K - BPW_SLOPE * (math.log2(L) - 10) - BPW_MARGIN - (math.log2(k) + 1.7 * math.log2(abs(c))) / 2


@cache
def _smooth_lengths(limit: int = 1 << 27) -> tuple[int, ...]:
    """Lengths 2^a*m (a >= 2, m odd 7-smooth, m <= MAX_ODD_FACTOR): FFTW is fast on these; the carry
    kernel works on quarters."""
    out = {1}
    for p in (2, 3, 5, 7):
        grown = set(out)
        for v in out:
            while v * p <= limit:
                v *= p
                grown.add(v)
        out = grown
    return tuple(sorted(v for v in out if v % 4 == 0 and (v & -v) * MAX_ODD_FACTOR >= v))


def choose_length(n: int, k: int = 1, c: int = -1) -> int:
    """The smallest FFT length whose bits per word (n + log2 k)/L pass `bpw_limit` (at least one bit a word)."""
    bits = n + math.log2(k)
    for L in _smooth_lengths():
        if bits / L <= bpw_limit(L, k, c) and L <= bits:
            return L
    raise ValueError(f"no FFT length fits n={n}, k={k}: n must be at least 4 and k below 2^{MAX_K_BITS}")


def next_lengths(L: int, count: int) -> list[int]:
    """The promotion ladder: `count` lengths above L, each at least PROMOTION_STEP times the one before."""
    out, last = [], L
    for m in _smooth_lengths():
        if len(out) == count:
            break
        if m >= last * PROMOTION_STEP:
            out.append(m)
            last = m
    return out


@dataclass(frozen=True)
class Layout:
    """Digit boundaries and weights for one FFT length."""

    L: int
    s: list[int]  # s_0..s_L: digit j holds bits s_j .. s_{j+1}-1; s_L = n + ceil(log2 k)
    weights: np.ndarray  # a_j = 2^(s_j - j*beta) in [1, 2)
    J: int  # the digit holding bit n (k > 1)
    pJ: float  # 2^(n - s_J)


def layout(n: int, k: int, L: int) -> Layout:
    t = (k - 1).bit_length()  # ceil(log2 k) for odd k
    if k == 1:
        s = [-((-j * n) // L) for j in range(L + 1)]
        frac = [(s[j] * L - j * n) / L for j in range(L)]  # exact rational, rounded once
    else:
        P = FIXED_POINT
        with gmpy2.context(gmpy2.get_context(), precision=P + 128):
            beta = int(gmpy2.floor((n + gmpy2.log2(gmpy2.mpfr(k))) * (mpz(1) << P) / L))
        s, frac = [], []
        for j in range(L + 1):
            v = j * beta
            sj = -((-v) >> P)
            s.append(sj)
            frac.append(((sj << P) - v) / (1 << P))
        frac.pop()
    if s[L] != n + t:
        raise AssertionError(f"weight exponents inconsistent: s_L={s[L]}, expected n+t={n + t}")
    if any(s[j + 1] <= s[j] for j in range(L)):
        raise ValueError(f"FFT length {L} is too long for n={n}: a digit would hold no bits")
    J = max(j for j in range(L) if s[j] <= n) if k > 1 else 0
    return Layout(L, s, np.exp2(np.array(frac)), J, float(2 ** (n - s[J])) if k > 1 else 0.0)


class PromotionLadder:
    """The FFT lengths a weighted-FFT arithmetic may run at (the rule's choice, then MAX_PROMOTIONS longer ones)
    and its round-off policy: a product above ROE_REDO is redone one length up and the arithmetic stays there;
    at the longest length one below ROE_FAIL is accepted, anything else raises RoundoffError."""

    def __init__(self, first: int, stats: ArithStats, use: Callable[[int], None], modulus: str):
        self.lengths = [first, *next_lengths(first, MAX_PROMOTIONS)]
        self.current, self.stats, self.use, self.modulus = first, stats, use, modulus
        use(first)

    def accept(self, roe: float) -> bool:
        """True if a product with this round-off is accepted (recorded in stats.max_roe); False after a
        promotion, when it must be redone at the new length."""
        if roe <= ROE_REDO or (self.current == self.lengths[-1] and roe < ROE_FAIL):
            if roe > self.stats.max_roe:
                self.stats.max_roe = roe
            return True
        i = self.lengths.index(self.current) + 1
        if i == len(self.lengths):
            raise RoundoffError(f"round-off {roe:.3f} at FFT length {self.current}, the longest tried for "
                                f"{self.modulus}")
        self.current = self.lengths[i]
        self.use(self.current)
        self.stats.promotions += 1
        return False


class WeightedTransform:
    """One FFT length's plan and tables for N = k*2^n + c (residues at that length are its digit arrays)."""

    def __init__(self, k: int, n: int, c: int, L: int, backend: FFTBackend, kern):
        lay = layout(n, k, L)
        self.L, self.layout, self.kern, self.N = L, lay, kern, (mpz(k) << n) + c
        self.cyclic = c < 0
        widths = np.diff(np.array(lay.s, dtype=np.int64))
        if widths.max() > 32:
            raise ValueError(f"FFT length {L} is too short for n={n}: digits of {widths.max()} bits")
        base = np.exp2(widths.astype(np.float64))
        self.carry_args = (base, 1.0 / base, k, (k - 1).bit_length(), c, lay.J, lay.pJ)
        a, kf = lay.weights, float(k)
        if self.cyclic:
            self.plan = backend.real_plan(L)
            self.spectrum = self.plan.spectrum
            self.fw, self.iw = a, kf / (L * a)
        else:
            M = L // 2
            self.plan = backend.complex_plan(M)
            self.spectrum = self.plan.buffer
            self.zeta = np.exp(1j * np.pi * np.arange(M) / L)  # the right-angle twist, zeta^(L/2) = i
            self.fw, self.iw = a, kf / (M * a)
        self.starts = np.array(lay.s, dtype=np.int64)

    def digits(self, X: mpz) -> np.ndarray:
        """Balanced digits of 0 <= X < N (N - 1 = 2^n needs a word more than 2^n + 1 has: taken as -1)."""
        total = self.layout.s[-1]
        if X.bit_length() > total:
            return -self.digits(self.N - X)
        raw = np.zeros((total + 7) // 8 + 8, dtype=np.uint8)
        raw[: (total + 7) // 8] = np.frombuffer(int(X).to_bytes((total + 7) // 8, "little"), dtype=np.uint8)
        d = np.empty(self.L)
        self.kern.unpack_digits(raw, self.starts, d)
        self.kern.normalise(d, 1.0, -1, 0.0, *self.carry_args)
        return d

    def value(self, d: np.ndarray) -> mpz:
        """The integer the digits represent (any sign)."""
        total = self.layout.s[-1]
        out = np.zeros((total + 7) // 8 + 8, dtype=np.uint8)
        top = self.kern.pack_digits(d, self.starts, out)
        return mpz(int.from_bytes(out.tobytes(), "little")) + (mpz(int(top)) << total)

    def load(self, d: np.ndarray) -> None:
        """Weighted digits into the forward FFT's input."""
        if self.cyclic:
            self.kern.load_cyclic(self.plan.real, d, self.fw)
        else:
            self.kern.load_negacyclic(self.plan.buffer, d, self.zeta, self.fw)

    def finish(self, out: np.ndarray, add_at: int, add_value: float) -> float:
        """Inverse FFT of the product's spectrum, carry into `out`, reload the forward input; the round-off."""
        self.plan.inverse()
        if self.cyclic:
            return self.kern.cyclic_step(self.plan.real, out, self.iw, self.fw, add_at, add_value, *self.carry_args)
        return self.kern.negacyclic_step(self.plan.buffer, out, self.zeta, self.iw, self.fw, add_at, add_value,
                                         *self.carry_args)


class IBDWTArithmetic(ModularArithmetic):
    """Arithmetic modulo k*2^n + c by weighted FFT. A residue is a float64 array of balanced digits (k-form);
    its length tells which FFT length made it, so residues stay valid across promotions.

    `fft_length` forces the starting length (tests, benchmarks); it is promoted like any other on round-off.
    `fault` (tests, diagnostics) is called as fault(step, buffer) before each squaring's forward FFT in
    square_chain and lucas_chain, where it may corrupt a word of the transform's input.
    """

    name = "fft-ibdwt"

    def __init__(self, k: int, n: int, c: int, fft_length: int | None = None,
                 backend: FFTBackend | str | None = None, fault: Callable[[int, np.ndarray], None] | None = None):
        if k < 1 or k % 2 == 0:
            raise ValueError(f"k must be odd and positive, got k={k}: write k*2^n with k odd first")
        if k.bit_length() > MAX_K_BITS:
            raise ValueError(f"k={k} has more than {MAX_K_BITS} bits: use the GMP arithmetic")
        if c not in (1, -1):
            raise ValueError(f"c must be +1 or -1, got c={c}")
        if n < 4:
            raise ValueError(f"n must be at least 4, got n={n}")
        from darkreach_pipeline.arith import carry  # numba: compiled on first use only

        self._kern = carry
        self.k, self.n, self.c = k, n, c
        self.N = (mpz(k) << n) + c
        self._special = SpecialModulus(k, n, c)
        self.backend = backend if isinstance(backend, FFTBackend) else get_backend(backend)
        self.fault = fault
        self.stats = ArithStats()
        self._transforms: dict[int, WeightedTransform] = {}
        self._ladder = PromotionLadder(fft_length or choose_length(n, k, c), self.stats, self._use,
                                       f"{k}*2^{n}{c:+d}")

    @property
    def L(self) -> int:
        return self._tr.L

    def _use(self, L: int) -> None:
        if L not in self._transforms:
            self._transforms[L] = WeightedTransform(self.k, self.n, self.c, L, self.backend, self._kern)
        self._tr = self._transforms[L]

    def _accept(self, roe: float) -> bool:
        return self._ladder.accept(roe)

    def _addin(self, u: int) -> tuple[int, float]:
        """(digit, value) that subtracts u from x in k-form: X - u*k^-1 = X + u*c*2^n, one term at bit n."""
        if u == 0:
            return -1, 0.0
        if self.k == 1:
            return 0, float(-u)  # 2^n = -c
        lay = self._tr.layout
        return lay.J, float(u * self.c) * lay.pJ

    def _kform(self, r: np.ndarray) -> mpz:
        return self._transforms[r.shape[0]].value(r) % self.N

    def _here(self, r: np.ndarray) -> np.ndarray:
        """r as digits of the current length."""
        return r if r.shape[0] == self.L else self._tr.digits(self._kform(r))

    # --- ModularArithmetic ----------------------------------------------------------------------------
    def from_int(self, x: int) -> np.ndarray:
        return self._tr.digits(self._to_kform(x))

    def _to_kform(self, x: int) -> mpz:
        """x * k^-1 mod N, with k^-1 = -c * 2^n: a shift and a special-form reduction."""
        X = self._special.reduce((mpz(x) % self.N) << self.n)
        return X if self.c < 0 or X == 0 else self.N - X

    def to_int(self, r: np.ndarray) -> mpz:
        return self._kform(r) * self.k % self.N

    def _product(self, a: np.ndarray, b: np.ndarray | None, u: int = 0) -> np.ndarray:
        """a*b - u (b None: a^2 - u), redone at longer lengths while the round-off is too big."""
        while True:
            tr, a_here = self._tr, self._here(a)
            out = np.empty(tr.L)
            if b is not None:
                tr.load(self._here(b))
                tr.plan.forward()
                other = tr.spectrum.copy()
            tr.load(a_here)
            tr.plan.forward()
            np.multiply(tr.spectrum, tr.spectrum if b is None else other, out=tr.spectrum)
            roe = tr.finish(out, *self._addin(u))
            if self._accept(roe):
                return out

    def square(self, r: np.ndarray) -> np.ndarray:
        return self._product(r, None)

    def multiply(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return self._product(a, b)

    def power_residue(self, r: np.ndarray, exponent: int) -> np.ndarray:
        """r^exponent by the sliding window of the base class, with every table entry kept as its spectrum: a
        product by an entry then costs one forward FFT, as a squaring does (a general product costs two), and
        consecutive steps reuse the input the carry kernel loads. Redone from r at the longer length after a
        round-off promotion."""
        while True:
            out = self._windowed_power(self._here(r), exponent)
            if out is not None:
                return out

    def _windowed_power(self, d: np.ndarray, exponent: int) -> np.ndarray | None:
        """d^exponent at the current length, or None if a product's round-off promoted the length."""
        first, ops = window_plan(exponent)
        top = max([first, *(v for _, v in ops)])
        tr = self._tr
        out, spec = np.empty(tr.L), tr.spectrum

        def finished() -> bool:
            """The product in `spec` into `out` (which the kernel loads as the next input); False: redo."""
            return self._accept(tr.finish(out, -1, 0.0))

        digits, spectra = {1: d}, {}
        tr.load(d)
        tr.plan.forward()
        spectra[1] = spec.copy()
        if top > 1:
            np.multiply(spec, spec, out=spec)
            if not finished():
                return None
            tr.plan.forward()
            square = spec.copy()
            for v in range(3, top + 1, 2):
                np.multiply(spectra[v - 2], square, out=spec)
                if not finished():
                    return None
                digits[v] = out.copy()
                tr.plan.forward()
                spectra[v] = spec.copy()
        if not ops:
            return digits[first].copy()
        tr.load(digits[first])
        for squarings, value in ops:
            for factor in [None] * squarings + ([spectra[value]] if value else []):
                tr.plan.forward()
                np.multiply(spec, spec if factor is None else factor, out=spec)
                if not finished():
                    return None
        return out

    def _exact(self, r: np.ndarray, mul: int, u: int) -> np.ndarray:
        """r*mul - u on the digits (no transform, exact)."""
        if abs(mul) >= MAX_SMALL or abs(u) >= MAX_SMALL:
            return self.from_int((self.to_int(r) * mul - u) % self.N)
        out = self._here(r).copy()
        self._kern.normalise(out, float(mul), *self._addin(u), *self._tr.carry_args)
        return out

    def mul_small(self, r: np.ndarray, c: int) -> np.ndarray:
        return self._exact(r, c, 0)

    def sub_small(self, r: np.ndarray, c: int) -> np.ndarray:
        return self._exact(r, 1, c)

    def _chain(self, X: mpz, count: int, u: int, bits: int = 0, base: int = 1) -> mpz:
        """count steps X <- X^2 - u on the k-form integer X: the hot loop, ~4 Python calls a squaring. Step s
        (from 0) is followed by an exact multiplication by `base` where bit count-1-s of `bits` is set."""
        tr = self._tr
        d, spare = tr.digits(X), np.empty(tr.L)
        tr.load(d)
        add_at, add_value = self._addin(u)
        times_base = float(base)
        fault, step, max_roe = self.fault, 0, self.stats.max_roe
        while step < count:
            if fault is not None:
                fault(step, tr.plan.real if tr.cyclic else tr.plan.buffer)
            tr.plan.forward()
            spec = tr.spectrum
            np.multiply(spec, spec, out=spec)
            roe = tr.finish(spare, add_at, add_value)  # also loads the new digits for the next step
            if roe > ROE_REDO:
                self.stats.max_roe = max_roe
                if not self._accept(roe):  # redo this step from its input digits, at the longer length
                    X = tr.value(d) % self.N
                    tr = self._tr
                    d, spare = tr.digits(X), np.empty(tr.L)
                    add_at, add_value = self._addin(u)
                    tr.load(d)
                    continue
                max_roe = self.stats.max_roe
            elif roe > max_roe:
                max_roe = roe
            if (bits >> (count - 1 - step)) & 1:
                self._kern.normalise(spare, times_base, -1, 0.0, *tr.carry_args)
                tr.load(spare)
            d, spare = spare, d
            step += 1
        self.stats.max_roe = max_roe
        return tr.value(d) % self.N

    def square_chain(self, x: int, count: int) -> mpz:
        return self._chain(self._to_kform(x), count, 0) * self.k % self.N

    def lucas_chain(self, u: int, count: int) -> mpz:
        return self._chain(self._to_kform(u), count, 2) * self.k % self.N

    def binary_chain(self, x: int, digit: int, count: int, base: int) -> mpz:
        if not 0 < base < MAX_SMALL:
            return super().binary_chain(x, digit, count, base)
        return self._chain(self._to_kform(x), count, 0, digit, base) * self.k % self.N
