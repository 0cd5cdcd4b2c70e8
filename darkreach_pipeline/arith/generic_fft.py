"""FFT arithmetic modulo any odd N (n!+-1, p#+-1, palindromes, repunits, large k): Montgomery reduction
with two wrap-around transforms, gwnum's "MMGW" scheme (fft-arithmetic.md section 4).

Take n = bits(N) + GUARD_BITS (the next n with gcd(N, 2^n - 1) = 1), R = 2^n - 1 and Q = 2^n + 1. Both are
special forms the weighted transform of arith/ibdwt.py handles at one FFT length L with no zero padding:
R cyclic (real FFT), Q negacyclic (right-angle FFT), the same digit layout for both. For a product T = x*y:
  T_R = T mod R                        (cyclic product),
  m   = T_R * (N^-1 mod R) mod R       (cyclic product with a cached transform),
  V   = T - m*N mod Q                  (negacyclic, computed in the frequency domain from the spectra of x*y
                                        and of m times the cached transform of N: no transform of T_Q).
T - m*N = 0 mod R, so T - m*N = R*y exactly, and R = -2 mod Q gives V = -2y: the exact integer while
|2y| < Q/2, which the guard bits ensure (|V| < 1.1*N for inputs below 1.1*N; element operations that grow a
residue, mul_small and sub_small, are reduced through GMP before a product could overflow). V = -2*x*y/R
(mod N), so residues are held in Montgomery form X = x*C with C = -R/2 mod N: products stay products.
Seven transforms of length L per product (2 for a special-form squaring) and three carries.

Round-off is checked on all three carries of every product: above ROE_REDO the product is redone from its
inputs at the next FFT length of the core's promotion ladder and the arithmetic stays there; past ROE_FAIL at
the last length, RoundoffError.
"""

from __future__ import annotations

import gmpy2
import numpy as np
from gmpy2 import mpz

from darkreach_pipeline.arith.base import ArithStats, ModularArithmetic
from darkreach_pipeline.arith.fft_backend import FFTBackend, get_backend
from darkreach_pipeline.arith.ibdwt import ROE_REDO, PromotionLadder, WeightedTransform, choose_length

GUARD_BITS = 64  # n - bits(N): keeps V exact and leaves room for mul_small / sub_small growth
MAX_SMALL = 1 << 20  # mul_small / sub_small constants done on the digits (larger ones through GMP)
MIN_BITS = 256  # smaller moduli have nothing to gain from a transform
# Bits of N from which a product with reduction beats gmpy2.powmod per squaring (auto mode; measured by
# benchmarks/bench_fft_generic.py, benchmarks/RESULTS.md).
CROSSOVER_BITS = 16_000


class _Pair:
    """The cyclic (mod R) and negacyclic (mod Q) transforms at one FFT length, with the cached spectra."""

    def __init__(self, n: int, L: int, ninv_r: mpz, N: mpz, backend: FFTBackend, kern):
        self.cyc = WeightedTransform(1, n, -1, L, backend, kern)
        self.neg = WeightedTransform(1, n, 1, L, backend, kern)
        self.L, self.kern = L, kern
        self.starts = self.neg.starts
        self.cyc.load(self.cyc.digits(ninv_r))  # mod R: its balanced digits may wrap, as R allows
        self.cyc.plan.forward()
        self.ninv_spectrum = self.cyc.spectrum.copy()
        self.neg.load(self.digits(N))
        self.neg.plan.forward()
        self.n_spectrum = self.neg.spectrum.copy()
        self.square_q = np.empty_like(self.n_spectrum)  # the negacyclic spectrum of x*y, kept for the last step

    def digits(self, V: mpz) -> np.ndarray:
        """Balanced digits of the integer V, |V| < 2^(n-1) (any sign)."""
        return self.neg.digits(V) if V >= 0 else -self.neg.digits(-V)

    def value(self, d: np.ndarray) -> mpz:
        return self.neg.value(d)

    def top_bits(self, d: np.ndarray) -> int:
        """An upper bound on the bits of |value(d)|: where the highest non-zero digit ends."""
        nz = np.flatnonzero(d)
        return int(self.starts[nz[-1] + 1]) if nz.size else 0

    def reduce(self) -> float:
        """The spectra of x*y are in cyc.spectrum and square_q: carry V = x*y - m*N into neg's input and its
        digits; returns the largest round-off of the three carries."""
        cyc, neg, L = self.cyc, self.neg, self.L
        t = np.empty(L)
        roe = cyc.finish(t, -1, 0.0)  # T mod R, reloaded into the cyclic input
        cyc.plan.forward()
        np.multiply(cyc.spectrum, self.ninv_spectrum, out=cyc.spectrum)
        roe = max(roe, cyc.finish(t, -1, 0.0))  # m
        neg.load(t)
        neg.plan.forward()
        np.multiply(neg.spectrum, self.n_spectrum, out=neg.spectrum)
        np.subtract(self.square_q, neg.spectrum, out=neg.spectrum)
        self.out = np.empty(L)
        return max(roe, neg.finish(self.out, -1, 0.0))

    def product(self, a: np.ndarray, b: np.ndarray | None) -> tuple[np.ndarray, float]:
        """(digits of -2*a*b/R mod N as an exact small integer, round-off); b None squares a."""
        cyc, neg = self.cyc, self.neg
        if b is not None:
            cyc.load(b)
            cyc.plan.forward()
            other_c = cyc.spectrum.copy()
            neg.load(b)
            neg.plan.forward()
            other_q = neg.spectrum.copy()
        cyc.load(a)
        cyc.plan.forward()
        neg.load(a)
        neg.plan.forward()
        np.multiply(neg.spectrum, neg.spectrum if b is None else other_q, out=self.square_q)
        np.multiply(cyc.spectrum, cyc.spectrum if b is None else other_c, out=cyc.spectrum)
        roe = self.reduce()
        return self.out, roe


class GenericFFTArithmetic(ModularArithmetic):
    """Arithmetic modulo an odd N of no special shape; a residue is a float64 array of balanced digits of the
    Montgomery form (its length tells the FFT length that made it, so residues survive promotions).

    `fft_length` forces the starting length (tests, benchmarks); it is promoted like any other on round-off.
    """

    name = "fft-generic"

    def __init__(self, N: int, fft_length: int | None = None, backend: FFTBackend | str | None = None):
        N = mpz(N)
        if N % 2 == 0 or N.bit_length() < MIN_BITS:
            raise ValueError(f"N must be odd with at least {MIN_BITS} bits for the generic FFT arithmetic, got "
                             f"{N.bit_length()} bits{' (even)' if N % 2 == 0 else ''}: use the GMP arithmetic")
        from darkreach_pipeline.arith import carry  # numba: compiled on first use only

        self._kern = carry
        self.N = N
        n = N.bit_length() + GUARD_BITS
        while gmpy2.gcd(N, (mpz(1) << n) - 1) != 1:
            n += 1
        self.n = n
        R = (mpz(1) << n) - 1
        self._ninv_r = gmpy2.invert(N, R)
        self._mont = (-R * gmpy2.invert(2, N)) % N  # C: X = x*C
        self._mont_inv = gmpy2.invert(self._mont, N)
        self.backend = backend if isinstance(backend, FFTBackend) else get_backend(backend)
        self.stats = ArithStats()
        self._pairs: dict[int, _Pair] = {}
        self._ladder = PromotionLadder(fft_length or choose_length(n, 1, 1), self.stats, self._use,
                                       f"a {N.bit_length()}-bit modulus")

    @property
    def L(self) -> int:
        return self._pair.L

    def _use(self, L: int) -> None:
        if L not in self._pairs:
            self._pairs[L] = _Pair(self.n, L, self._ninv_r, self.N, self.backend, self._kern)
        self._pair = self._pairs[L]
        self._mont_digits = self._pair.digits(self._mont)

    def _accept(self, roe: float) -> bool:
        return self._ladder.accept(roe)

    def _value(self, r: np.ndarray) -> mpz:
        return self._pairs[r.shape[0]].value(r)

    def _here(self, r: np.ndarray, limit_bits: int | None = None) -> np.ndarray:
        """r as digits of the current length, reduced mod N through GMP when its value has over limit_bits."""
        pair = self._pairs[r.shape[0]]
        if r.shape[0] == self.L and (limit_bits is None or pair.top_bits(r) <= limit_bits):
            return r
        return self._pair.digits(pair.value(r) % self.N)

    # --- ModularArithmetic ----------------------------------------------------------------------------
    def from_int(self, x: int) -> np.ndarray:
        return self._pair.digits(mpz(x) * self._mont % self.N)

    def to_int(self, r: np.ndarray) -> mpz:
        return self._value(r) * self._mont_inv % self.N

    def _product(self, a: np.ndarray, b: np.ndarray | None) -> np.ndarray:
        # |a*b| < 2^(n + bits(N) - 2) keeps the result below 3N: reduce a larger input first.
        limit = (self.n + self.N.bit_length() - 2) // 2
        while True:
            a_here = self._here(a, limit)
            b_here = None if b is None else self._here(b, limit)
            out, roe = self._pair.product(a_here, b_here)
            if self._accept(roe):
                return out

    def square(self, r: np.ndarray) -> np.ndarray:
        return self._product(r, None)

    def multiply(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return self._product(a, b)

    def _small(self, r: np.ndarray, mul: int, sub: int) -> np.ndarray:
        """r*mul - sub*C on the digits (exact), the input reduced first if the result could overflow."""
        if abs(mul) >= MAX_SMALL or abs(sub) >= MAX_SMALL:
            return self.from_int(self.to_int(r) * mul - sub)
        out = self._here(r, self.n - 2 - 2 * MAX_SMALL.bit_length()) * float(mul)
        if sub:
            out -= float(sub) * self._mont_digits
        self._kern.normalise(out, 1.0, -1, 0.0, *self._pair.neg.carry_args)
        return out

    def mul_small(self, r: np.ndarray, c: int) -> np.ndarray:
        return self._small(r, c, 0)

    def sub_small(self, r: np.ndarray, c: int) -> np.ndarray:
        return self._small(r, 1, c)

    def square_chain(self, x: int, count: int) -> mpz:
        """x^(2^count) mod N: the hot loop, the input digits kept for a redo at a longer length."""
        d = self.from_int(x)
        step = 0
        while step < count:
            pair = self._pair
            cyc, neg = pair.cyc, pair.neg
            cyc.load(d)
            neg.load(d)
            while step < count:
                cyc.plan.forward()
                neg.plan.forward()
                np.multiply(neg.spectrum, neg.spectrum, out=pair.square_q)
                np.multiply(cyc.spectrum, cyc.spectrum, out=cyc.spectrum)
                roe = pair.reduce()  # also loads the result into the negacyclic input
                if roe > ROE_REDO and not self._accept(roe):
                    d = self._here(d)  # redo this step at the longer length
                    break
                if roe > self.stats.max_roe:
                    self.stats.max_roe = roe
                d = pair.out
                cyc.load(d)
                step += 1
        return self.to_int(d)


def generic_arithmetic(N: int, *, force: bool = False) -> GenericFFTArithmetic | None:
    """The generic FFT arithmetic for N, or None where it does not apply (even N, under MIN_BITS bits) or,
    unless `force` (DARKREACH_ARITH=fft), where N is below the measured crossover."""
    N = mpz(N)
    if N % 2 == 0 or N.bit_length() < MIN_BITS or (not force and N.bit_length() < CROSSOVER_BITS):
        return None
    return GenericFFTArithmetic(N)

