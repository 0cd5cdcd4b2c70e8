"""The array-parallel carry of the device FFT arithmetic (arith/xp_fft.py): rounding, round-off and carry
as whole-array operations, so a GPU runs them without a sequential loop and without the host.

The CPU kernels (arith/carry.py, arith/gfn.py) carry word by word. Here every digit is split at once into
lo + q*base (q = rint(v/base), lo balanced), and q is added to the next digit: one *pass*. Each pass divides
the carries by the base, so a few passes (fft-arithmetic.md section 6, "data-parallel variant") leave digits
bounded by base/2 plus a carry of 1-2, which is all the next transform needs. Nothing is ever dropped: the
last pass adds its carries in unsplit, so the digits always represent the product exactly, whatever the
number of passes (that number only bounds the digits, and a digit larger than planned shows up as
round-off in the next product, which is checked).

The top digit is never split inside a pass: it collects carries, then its own carry C is split off once and
wrapped around the modulus (b^L = -1 for a GFN, 2^n = -c for k = 1, C*2^(n+t) = -c*q + r*2^n with
C*2^t = q*k + r for k > 1, computed in int64 without overflow), and a second round of passes spreads the
wrapped terms. All values are integers below 2^53 held in float64, so every step is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import numpy as np

MAX_EXACT = 2.0**51  # an output at or past this (or NaN) cannot be rounded safely: round-off BAD
BAD = 1.0
MAX_PASSES = 64


def passes_for(bits: float, width: float) -> int:
    """Passes after which the carries out of digits of at most 2^bits, split by bases of at least 2^width
    bits, are at most 2.5 (bound: B' = base/2 + B/base + 1/2 per pass)."""
    base, bound = 2.0**width, 2.0 ** min(bits, 60)
    for n in range(1, MAX_PASSES + 1):
        q = bound / base + 0.5
        if q <= 2.5:
            return n
        bound = base / 2 + q
    return MAX_PASSES


@dataclass(frozen=True)
class Wrap:
    """Where the carry C out of the top digit goes. kind "neg": -C at digit 0 (b^L = -1); "k1": -c*C at digit
    0 (2^n = -c, k = 1); "k": C*2^t = q*k + r gives -c*q at digit 0 and r*2^(n - s_J) at digit J."""

    kind: str
    c: int = 1
    k: int = 1
    t: int = 0
    J: int = 0
    pJ: float = 0.0


class ParallelCarry:
    """Carry for digits with per-digit bases `base` (2^w_j for the weighted transform, b for a GFN)."""

    def __init__(self, xp: ModuleType, base: np.ndarray, wrap: Wrap, out_bits: float):
        self.xp, self.wrap = xp, wrap
        self.L = base.shape[0]
        self.base = xp.asarray(base[:-1])
        self.inv = xp.asarray(1.0 / base[:-1])
        self.top_base, self.top_inv = float(base[-1]), 1.0 / float(base[-1])
        self.exact_split = bool(np.all(np.exp2(np.round(np.log2(base))) == base))  # powers of two: v/base exact
        self.half = xp.asarray(base[:-1] / 2)
        self.width = float(np.log2(base.min()))
        # the wrapped term r*2^(n - s_J) < 2^(t + widest digit) must be spread too, whatever the product's size
        self.wrap_bits = wrap.t + float(np.log2(base.max())) + 1 if wrap.kind == "k" else 0.0
        self.passes = passes_for(out_bits, self.width)
        self.wrap_passes = passes_for(max(out_bits, self.wrap_bits), self.width)

    def _pass(self, v) -> None:
        """Split digits 0..L-2 into balanced lo + q*base and add q to the next digit (the top collects)."""
        xp = self.xp
        q = xp.rint(v[:-1] * self.inv)
        lo = v[:-1] - q * self.base
        if not self.exact_split:  # q may be one off when v/base is inexact: bring lo back into [-b/2, b/2]
            up = lo > self.half
            down = lo < -self.half
            lo = lo - self.base * up + self.base * down
            q = q + up - down
        v[:-1] = lo
        v[1:] += q

    def settle(self, v, bits: float | None = None) -> None:
        """Carry the integer-valued digits v (float64, in place) into bounded digits of the same value mod N."""
        if bits is None:
            passes, wrap_passes = self.passes, self.wrap_passes
        else:
            passes, wrap_passes = passes_for(bits, self.width), passes_for(max(bits, self.wrap_bits), self.width)
        for _ in range(passes):
            self._pass(v)
        self._wrap(v)
        for _ in range(wrap_passes):
            self._pass(v)

    def _wrap(self, v) -> None:
        xp, w = self.xp, self.wrap
        C = xp.rint(v[-1:] * self.top_inv)
        v[-1:] -= C * self.top_base
        if w.kind == "neg":
            v[:1] -= C
        elif w.kind == "k1":
            v[:1] += -w.c * C
        else:  # C*2^t = q*k + r (0 <= r < k) without forming C*2^t: C = q0*k + r0, then r0*2^t < 2^60
            Ci = C.astype(xp.int64)
            q0 = xp.floor_divide(Ci, w.k)
            r0 = Ci - q0 * w.k
            t2 = r0 * (1 << w.t)
            q1 = xp.floor_divide(t2, w.k)
            r = t2 - q1 * w.k
            q = q0 * (1 << w.t) + q1
            v[:1] += (-w.c * q).astype(xp.float64)
            v[w.J:w.J + 1] += r.astype(xp.float64) * w.pJ

    def round(self, z):
        """(rint(z), the largest |z - rint(z)| as a device scalar): BAD where |z| >= 2^51 or z is NaN."""
        xp = self.xp
        r = xp.rint(z)
        err = xp.abs(z - r)
        err = xp.where(xp.abs(z) < MAX_EXACT, err, BAD)  # NaN compares False: BAD
        return r, xp.max(err)

