"""Pick the arithmetic for a modulus: GMP below the measured crossovers, an FFT arithmetic above them.

In order: the weighted FFT for k*2^n+-1 (small k), the base-b transform for b^(2^m)+1, GMP's special-form
loop where it applies (K*2^e+-1 with K up to 64 bits), the generic FFT (Montgomery over 2^n-+1) for any
other odd modulus, else GMP. DARKREACH_ARITH forces a choice: `gmp` everywhere (comparisons, and checks
that must not share the first test's arithmetic), `fft` wherever an FFT arithmetic exists for the modulus
(GMP elsewhere), or `auto` (default): FFT from each arithmetic's crossover size up.

DARKREACH_GPU (arith/array_module.py) moves the weighted FFT and the GFN transform to the device (CuPy, or
numpy with DARKREACH_GPU_ARRAY=numpy) where they are chosen; the crossovers stay the CPU ones until measured
on a GPU (benchmarks/gpu/).
"""

from __future__ import annotations

import math
import os

from gmpy2 import mpz

from darkreach_pipeline.arith import ibdwt
from darkreach_pipeline.arith.array_module import selected_array_module
from darkreach_pipeline.arith.base import ModularArithmetic
from darkreach_pipeline.arith.generic_fft import CROSSOVER_BITS as GENERIC_CROSSOVER_BITS
from darkreach_pipeline.arith.generic_fft import generic_arithmetic
from darkreach_pipeline.arith.gfn import CROSSOVER_BITS as GFN_CROSSOVER_BITS
from darkreach_pipeline.arith.gfn import GfnArithmetic, gfn_applies
from darkreach_pipeline.arith.gmp import GMPArithmetic
from darkreach_pipeline.primality.special_form import MAX_SPECIAL_K_BITS as SPECIAL_K_BITS

ENV_VAR = "DARKREACH_ARITH"
MODES = ("auto", "gmp", "fft")

# Bits of N from which the weighted FFT squares faster than SpecialModulus.square_chain, for k = 1..3 and for
# a 20-bit k (its words are ~9 bits narrower). Measured by `benchmarks/bench_fft.py` (crossover table in
# benchmarks/RESULTS.md, "FFT arithmetic", 2026-12-02: 8k-12k and 12k-16k bits over two runs on a loaded
# host); in between, interpolated linearly in the bits of k. Near the crossover the two differ by < 1.5x.
CROSSOVER_BITS_SMALL_K = 10_000
CROSSOVER_BITS_K20 = 16_000


def crossover_bits(k: int) -> int:
    """Size of N = k*2^n+-1 from which the FFT arithmetic is chosen (auto mode)."""
    frac = min(1.0, max(0.0, (k.bit_length() - 2) / 18))
    return round(CROSSOVER_BITS_SMALL_K + frac * (CROSSOVER_BITS_K20 - CROSSOVER_BITS_SMALL_K))


def arith_mode() -> str:
    mode = os.environ.get(ENV_VAR, "auto").strip().lower() or "auto"
    if mode not in MODES:
        raise ValueError(f"{ENV_VAR}={mode!r} is not a mode: set it to one of {', '.join(MODES)}")
    return mode


def _ibdwt_fits(N: mpz, K: int | None, e: int | None, c: int | None) -> bool:
    return (K is not None and e is not None and c in (1, -1) and K >= 1 and K % 2 == 1 and e >= 4
            and K.bit_length() <= ibdwt.MAX_K_BITS and (mpz(K) << e) + c == N)


def arithmetic_for(N: int, K: int | None = None, e: int | None = None, c: int | None = None, *,
                   gfn: tuple[int, int] | None = None) -> ModularArithmetic:
    """The arithmetic for modulus N (= K*2^e + c when K, e, c are given, = b^(2^m) + 1 when gfn = (b, m) is:
    then a special-form one may apply)."""
    N = mpz(N)
    mode = arith_mode()
    gmp = GMPArithmetic(N, K, e, c)
    if mode == "gmp":
        return gmp
    force = mode == "fft"
    if _ibdwt_fits(N, K, e, c) and (force or N.bit_length() >= crossover_bits(K)):
        xp = selected_array_module()
        if xp is not None:
            from darkreach_pipeline.arith.xp_fft import DeviceIBDWTArithmetic

            return DeviceIBDWTArithmetic(K, e, c, xp)
        return ibdwt.IBDWTArithmetic(K, e, c)
    if gfn is not None:
        b, m = gfn
        if mpz(b) ** (1 << m) + 1 != N:
            raise ValueError(f"gfn = ({b}, {m}): b^(2^m)+1 does not equal N; pass the modulus's own b and m")
        if gfn_applies(b, m, force=force):
            xp = selected_array_module()
            if xp is not None:
                from darkreach_pipeline.arith.xp_fft import DeviceGfnArithmetic

                return DeviceGfnArithmetic(b, m, xp)
            return GfnArithmetic(b, m)
    if gmp.special is None or force:  # GMP's special-form loop where it applies, unless the FFT is forced
        arith = generic_arithmetic(N, force=force)
        if arith is not None:
            return arith
    return gmp


# Speed-up of each FFT arithmetic over GMP at measured sizes (bits, factor), benchmarks/RESULTS.md: the weighted FFT
# per squaring for 3*2^n+-1 against the special-form loop ("FFT arithmetic", bench_fft; at 100k bits the whole
# tests of a campaign, "FFT arithmetic in the pipeline": larger k gain less, 2-4x at 20 bits); the generic FFT and
# the GFN transform per squaring against powmod ("FFT arithmetic for generic moduli and GFNs"; GFN: the b = 1000
# rows, the least a b gains at its m: b near the float64 limit gains up to 3x more).
FFT_SPEEDUP = {
    "fft-ibdwt": ((10_000, 1.5), (50_000, 4.1), (100_000, 4.97), (200_000, 5.3), (1_000_000, 5.0)),
    "fft-generic": ((16_000, 1.24), (50_000, 2.7), (200_000, 4.2), (500_000, 4.2), (1_000_000, 4.4)),
    "fft-gfn": ((4_000, 1.28), (10_205, 2.12), (40_820, 4.67), (163_280, 7.96), (653_118, 7.46)),
}


def arithmetic_name(bits: float, K_bits: int | None = None, gfn: bool = False) -> str:
    """Which arithmetic `arithmetic_for` picks (auto mode) for a number of `bits`, from its shape alone:
    K_bits = bits of K when N = K*2^e+-1, gfn for b^(2^m)+1. For plans and cost estimates: N is never built."""
    if K_bits is not None and K_bits <= ibdwt.MAX_K_BITS and bits >= crossover_bits((1 << max(K_bits, 1)) - 1):
        return "fft-ibdwt"
    if gfn and bits >= GFN_CROSSOVER_BITS:
        return "fft-gfn"
    if K_bits is not None and K_bits <= SPECIAL_K_BITS:
        return "gmp-special"
    return "fft-generic" if bits >= GENERIC_CROSSOVER_BITS else "gmp"


def fft_speedup(name: str, bits: float) -> float:
    """Test-time speed-up of arithmetic `name` over GMP at `bits`: linear in log(bits) between the measured
    points, the nearest measured factor outside them (never extrapolated); 1 for the GMP arithmetics."""
    points = FFT_SPEEDUP.get(name)
    if points is None:
        return 1.0
    if bits <= points[0][0]:
        return points[0][1]
    for (b0, f0), (b1, f1) in zip(points, points[1:], strict=False):
        if bits <= b1:
            return f0 + (f1 - f0) * math.log(bits / b0) / math.log(b1 / b0)
    return points[-1][1]
