"""The FFT arithmetic on a device: k*2^n+-1 (weighted transform) and b^(2^m)+1 (GFN), written against an
array module `xp` (CuPy on a GPU, numpy on the CPU; arith/array_module.py).

The transforms are the CPU ones (arith/ibdwt.py, arith/gfn.py: same digit layouts, weights, right-angle
twist, k-form, promotion ladder and round-off limits); what changes is where they run. Weights, the
pointwise product, the rounding with its round-off, and the carry (arith/xp_carry.py: array-parallel
passes) are array operations on the device, and the residue stays there between squarings. The host sees
it only at the ends of a chain (the Gerbicz checks, checkpoints and RES64 work on integers, unchanged) and
reads the round-off once per ROE_WINDOW squarings: the largest round-off of the window is kept on the
device, and a window past ROE_REDO is redone from its saved input (at the next FFT length for k*2^n+-1, in
GMP for a GFN, as the CPU arithmetic does per product).

The digits are converted to and from integers by the CPU arithmetic of the same layout (its numba
kernels), so a device residue and a CPU residue of one length are the same digits.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from types import ModuleType

import gmpy2
import numpy as np
from gmpy2 import mpz

from darkreach_pipeline.arith.array_module import device_array_module, module_name, to_host
from darkreach_pipeline.arith.base import ModularArithmetic
from darkreach_pipeline.arith.gfn import MAX_REDONE, BitStringChains, GfnArithmetic
from darkreach_pipeline.arith.ibdwt import MAX_SMALL, ROE_REDO, IBDWTArithmetic, WeightedTransform
from darkreach_pipeline.arith.xp_carry import ParallelCarry, Wrap

ROE_WINDOW = 256  # squarings between two reads of the round-off (one host sync each)


class DeviceTransform:
    """One FFT length on the device: weighted digits -> spectrum -> product -> rounded, carried digits.

    Cyclic (c < 0): a real FFT of length L. Negacyclic (c > 0, GFNs): the right-angle complex FFT of length
    L/2, word j = (a_j*d_j + i*a_{j+L/2}*d_{j+L/2})*zeta^j. The inverse FFTs are numpy's/CuPy's normalised
    ones, so the unweighting table is k/a_j.
    """

    def __init__(self, xp: ModuleType, weights: np.ndarray, k: int, cyclic: bool, carry: ParallelCarry,
                 mul_width: float):
        L = weights.shape[0]
        self.xp, self.L, self.M, self.cyclic, self.carry = xp, L, L // 2, cyclic, carry
        self.mul_width = mul_width  # widest digit, in bits: sizes the carry after a multiplication
        iw = float(k) / weights
        if cyclic:
            self.fw, self.iw = xp.asarray(weights), xp.asarray(iw)
        else:
            M = self.M
            zeta = np.exp(1j * np.pi * np.arange(M) / L)
            self.tw_lo = xp.asarray(weights[:M] * zeta)
            self.tw_hi = xp.asarray(1j * weights[M:] * zeta)
            self.untwist = xp.asarray(np.conj(zeta))
            self.iw_lo, self.iw_hi = xp.asarray(iw[:M]), xp.asarray(iw[M:])

    def spectrum(self, d):
        xp = self.xp
        if self.cyclic:
            return xp.fft.rfft(d * self.fw)
        return xp.fft.fft(d[: self.M] * self.tw_lo + d[self.M:] * self.tw_hi)

    def _outputs(self, spec):
        """The product's integer-valued outputs (times k, unweighted) from its spectrum."""
        xp = self.xp
        if self.cyclic:
            return xp.fft.irfft(spec, n=self.L) * self.iw
        w = xp.fft.ifft(spec) * self.untwist
        return xp.concatenate((w.real * self.iw_lo, w.imag * self.iw_hi))

    def finish(self, spec, add_at: int = -1, add_value: float = 0.0, mul: float = 1.0):
        """(carried digits of the product, its round-off as a device scalar), plus add_value at digit add_at,
        times the small constant mul (carried again)."""
        d, roe = self.carry.round(self._outputs(spec))
        if add_at >= 0:
            d[add_at:add_at + 1] += add_value
        self.carry.settle(d)
        if mul != 1.0:
            self.scale(d, mul)
        return d, roe

    def scale(self, d, mul: float) -> None:
        """d times the small integer mul, carried (in place)."""
        d *= mul
        self.carry.settle(d, self.mul_width + math.log2(abs(mul)) + 2)

    def square(self, d, add_at: int = -1, add_value: float = 0.0, mul: float = 1.0):
        s = self.spectrum(d)
        return self.finish(s * s, add_at, add_value, mul)

    def multiply(self, a, b):
        return self.finish(self.spectrum(a) * self.spectrum(b))


class DeviceArithmetic(ModularArithmetic):
    """What the device arithmetics share: element operations on device residues through the current
    DeviceTransform (`_transform`), each reading its round-off once (`_product`)."""

    xp: ModuleType

    @abstractmethod
    def _transform(self) -> DeviceTransform: ...

    @abstractmethod
    def _product(self, a, b): ...

    @abstractmethod
    def _subtract_at(self, c: int) -> tuple[int, float]:
        """(digit, value) whose addition subtracts c from the residue."""

    def _here(self, r):
        """r as digits of the current FFT length."""
        return r

    def square(self, r):
        return self._product(r, None)

    def multiply(self, a, b):
        return self._product(a, b)

    def mul_small(self, r, c: int):
        if abs(c) >= MAX_SMALL:
            return self.from_int(self.to_int(r) * c % self.N)
        d = self._here(r).copy()
        self._transform().scale(d, float(c))
        return d

    def sub_small(self, r, c: int):
        if abs(c) >= MAX_SMALL or c == 0:
            return self.from_int((self.to_int(r) - c) % self.N)
        d, tr = self._here(r).copy(), self._transform()
        at, value = self._subtract_at(c)
        d[at:at + 1] += value
        tr.carry.settle(d, tr.mul_width + math.log2(MAX_SMALL) + 2)
        return d


def _ibdwt_transform(xp: ModuleType, tr: WeightedTransform, k: int, n: int, c: int) -> DeviceTransform:
    lay = tr.layout
    widths = np.diff(np.array(lay.s, dtype=np.int64))
    base = np.exp2(widths.astype(np.float64))
    t = (k - 1).bit_length()
    wrap = Wrap("k1", c=c) if k == 1 else Wrap("k", c=c, k=k, t=t, J=lay.J, pJ=lay.pJ)
    out_bits = 2 * float(widths.max()) + math.log2(tr.L) + math.log2(k) + 2
    carry = ParallelCarry(xp, base, wrap, out_bits)
    return DeviceTransform(xp, lay.weights, k, c < 0, carry, float(widths.max()))


class DeviceIBDWTArithmetic(DeviceArithmetic):
    """Arithmetic modulo k*2^n + c (k odd, c = +-1) by the weighted FFT on the device. A residue is a device
    float64 array of bounded digits in k-form; its length tells which FFT length made it.

    The CPU arithmetic of the same modulus (numpy backend) validates the arguments, converts digits and keeps
    the promotion ladder and stats, so both follow the same length rule and round-off limits."""

    def __init__(self, k: int, n: int, c: int, xp: ModuleType | None = None, fft_length: int | None = None):
        self.xp = xp if xp is not None else device_array_module()
        self.name = f"{module_name(self.xp)}-ibdwt"
        self.host = IBDWTArithmetic(k, n, c, fft_length=fft_length, backend="numpy")
        self.k, self.n, self.c, self.N = k, n, c, self.host.N
        self.stats = self.host.stats
        self._device: dict[int, DeviceTransform] = {}

    @property
    def L(self) -> int:
        return self.host.L

    def _transform(self) -> DeviceTransform:
        L = self.host.L
        if L not in self._device:
            self._device[L] = _ibdwt_transform(self.xp, self.host._tr, self.k, self.n, self.c)
        return self._device[L]

    # --- conversions (host) -----------------------------------------------------------------------------
    def _kform_of(self, d) -> mpz:
        host_digits = to_host(self.xp, d)
        return self.host._transforms[host_digits.shape[0]].value(host_digits) % self.N

    def _digits(self, X: mpz):
        return self.xp.asarray(self.host._tr.digits(mpz(X)))

    def _here(self, r):
        return r if r.shape[0] == self.L else self._digits(self._kform_of(r))

    def from_int(self, x: int):
        return self._digits(self.host._to_kform(x))

    def _subtract_at(self, c: int) -> tuple[int, float]:
        return self.host._addin(c)

    def to_int(self, r) -> mpz:
        return self._kform_of(r) * self.k % self.N

    # --- element operations (one round-off read each: the chains below are the hot path) -----------------
    def _product(self, a, b, u: int = 0):
        while True:
            tr = self._transform()
            a_here = self._here(a)
            if b is None:
                d, roe = tr.square(a_here, *self.host._addin(u))
            else:
                d, roe = tr.multiply(a_here, self._here(b))
            if self.host._accept(float(roe)):
                return d

    # --- the chains: the residue stays on the device ------------------------------------------------------
    def _chain(self, X: mpz, count: int, u: int, bits: int = 0, base: int = 1) -> mpz:
        """count steps X <- X^2 - u on the k-form integer X, each followed by a multiplication by `base` where
        bit count-1-step of `bits` is set; the round-off is read once per window of ROE_WINDOW steps."""
        xp, step = self.xp, 0
        d = self._digits(X)
        while step < count:
            tr, start = self._transform(), d
            add_at, add_value = self.host._addin(u)
            worst = xp.zeros(())
            todo = min(ROE_WINDOW, count - step)
            for i in range(step, step + todo):
                mul = float(base) if (bits >> (count - 1 - i)) & 1 else 1.0
                d, roe = tr.square(d, add_at, add_value, mul)
                worst = xp.maximum(worst, roe)
            if self.host._accept(float(worst)):
                step += todo
            else:  # promoted: redo the window from its input at the longer length
                d = self._digits(self._kform_of(start))
        return self._kform_of(d)

    def square_chain(self, x: int, count: int) -> mpz:
        return self._chain(self.host._to_kform(x), count, 0) * self.k % self.N

    def lucas_chain(self, u: int, count: int) -> mpz:
        return self._chain(self.host._to_kform(u), count, 2) * self.k % self.N

    def binary_chain(self, x: int, digit: int, count: int, base: int) -> mpz:
        if not 0 < base < MAX_SMALL:
            return super().binary_chain(x, digit, count, base)
        return self._chain(self.host._to_kform(x), count, 0, digit, base) * self.k % self.N


class DeviceGfnArithmetic(BitStringChains, DeviceArithmetic):
    """Arithmetic modulo b^(2^m) + 1 by the base-b negacyclic transform on the device (genefer's layout).
    A residue is a device float64 array of L = 2^m bounded base-b digits. The CPU GfnArithmetic of the same
    modulus validates the arguments and converts digits."""

    def __init__(self, b: int, m: int, xp: ModuleType | None = None, *, roe_redo: float = ROE_REDO):
        self.xp = xp if xp is not None else device_array_module()
        self.name = f"{module_name(self.xp)}-gfn"
        self.host = GfnArithmetic(b, m, roe_redo=roe_redo, backend="numpy")
        self.b, self.m, self.L, self.N = b, m, self.host.L, self.host.N
        self.stats = self.host.stats
        width = math.log2(b)
        carry = ParallelCarry(self.xp, np.full(self.L, float(b)), Wrap("neg"), 2 * width + m + 2)
        self.tr = DeviceTransform(self.xp, np.ones(self.L), 1, False, carry, width)

    @property
    def redone(self) -> int:
        return self.host.redone

    def _transform(self) -> DeviceTransform:
        return self.tr

    def _subtract_at(self, c: int) -> tuple[int, float]:
        return 0, -float(c)

    def from_int(self, x: int):
        return self.xp.asarray(self.host.from_int(x))

    def to_int(self, r) -> mpz:
        return self.host.to_int(to_host(self.xp, r))

    def _product(self, a, b):
        d, roe = self.tr.square(a) if b is None else self.tr.multiply(a, b)
        if self.host._accept(float(roe)):
            return d
        x = self.to_int(a)
        return self.from_int(x * (x if b is None else self.to_int(b)))

    def _chain(self, x: mpz, bits: str, base: int) -> mpz:
        """x squared once per character of `bits`, times `base` after each "1"; a window whose round-off
        passed the limit is redone in GMP, and after MAX_REDONE of them the rest runs in GMP."""
        xp, N, pos = self.xp, self.N, 0
        d = self.from_int(x)
        while pos < len(bits):
            window = bits[pos:pos + ROE_WINDOW]
            start, worst = d, xp.zeros(())
            for bit in window:
                d, roe = self.tr.square(d, mul=float(base) if bit == "1" else 1.0)
                worst = xp.maximum(worst, roe)
            pos += len(window)
            if self.host._accept(float(worst)):
                continue
            y = self.to_int(start)
            if self.host.redone >= MAX_REDONE:  # the window and the rest in GMP
                window = window + bits[pos:]
                pos = len(bits)
            y = gmpy2.powmod(y, mpz(1) << len(window), N) * gmpy2.powmod(base, int(window, 2), N) % N
            if pos == len(bits):
                return y
            d = self.from_int(y)
        return self.to_int(d)
