"""Pick the arithmetic for a modulus: GMP below the measured crossover, the weighted FFT above it.

DARKREACH_ARITH forces a choice: `gmp` everywhere (comparisons, and the double check that must not share
the first test's arithmetic), `fft` wherever an FFT arithmetic exists for the modulus (GMP elsewhere), or
`auto` (default): FFT from the crossover size up.
"""

from __future__ import annotations

import os

from gmpy2 import mpz

from darkreach_pipeline.arith import ibdwt
from darkreach_pipeline.arith.base import ModularArithmetic
from darkreach_pipeline.arith.gmp import GMPArithmetic

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


def arithmetic_for(N: int, K: int | None = None, e: int | None = None, c: int | None = None) -> ModularArithmetic:
    """The arithmetic for modulus N (= K*2^e + c when K, e, c are given: then a special-form one may apply)."""
    N = mpz(N)
    mode = arith_mode()
    if mode != "gmp" and _ibdwt_fits(N, K, e, c) and (mode == "fft" or N.bit_length() >= crossover_bits(K)):
        return ibdwt.IBDWTArithmetic(K, e, c)
    return GMPArithmetic(N, K, e, c)
