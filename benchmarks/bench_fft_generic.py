"""FFT arithmetic for moduli without special shape (arith/generic_fft.py) and for generalized Fermat numbers
(arith/gfn.py) against GMP, same run, CPU time.

Generic: µs per modular squaring of GenericFFTArithmetic.square_chain against gmpy2.powmod(x, 2^count, N)
(GMP's own Montgomery loop: the engine's generic route) and against `x*x % N` per step, for a random odd N
and n!+1 near each size; the three interleaved over --reps rounds (medians; a ratio is the median of the
per-round ratios), residues compared. GFN: GfnArithmetic.square_chain against gmpy2.powmod for b^(2^m)+1 at
b = the largest the float64 transform takes and b ~ 1000. An FFT chain's time includes its two digit
conversions, amortised to under 5% by the squaring count. Then each crossover: the first size in a sweep
where the FFT is faster than powmod.

Usage: PYTHONPATH=. python benchmarks/bench_fft_generic.py [--sizes 50000 200000 500000 1000000]
       [--gfn-m 10 12 14 16] [--reps 3] [--no-crossover]
"""

import argparse
import math
import os
import platform
import random
import statistics
import time

import gmpy2
from gmpy2 import mpz

from darkreach_pipeline.arith.generic_fft import GenericFFTArithmetic
from darkreach_pipeline.arith.gfn import GfnArithmetic, max_b_bits


def per_step(fn, count: int) -> float:
    t = time.process_time()
    fn(count)
    return (time.process_time() - t) / count


def mulmod_chain(x: mpz, N: mpz):
    def run(count: int) -> mpz:
        y = x
        for _ in range(count):
            y = y * y % N
        return y
    return run


def compare(arith, reps: int, budget: float = 0.4) -> dict:
    """Interleaved FFT / powmod / x*x % N timings for one arithmetic; counts sized to ~budget CPU s a round."""
    N = arith.N
    x = mpz(random.Random(N.bit_length() + 12345).randrange(N))
    def fft(count: int) -> mpz:
        return arith.square_chain(x, count)

    def powmod(count: int) -> mpz:
        return gmpy2.powmod(x, mpz(1) << count, N)

    mulmod = mulmod_chain(x, N)
    assert fft(16) == powmod(16) == mulmod(16), f"residues differ for a {N.bit_length()}-bit modulus"
    counts = [max(8, int(budget / max(per_step(f, 8), 1e-7))) for f in (powmod, mulmod)]
    # The FFT chain converts to and from digits once a call (GFN: ~90 ms at 1.3M bits): count enough
    # squarings that the conversions are under 5% of the measured time.
    t8, t72 = per_step(fft, 8) * 8, per_step(fft, 72) * 72
    step, overhead = max((t72 - t8) / 64, 1e-7), max(t8 - 8 * (t72 - t8) / 64, 0.0)
    counts.insert(0, max(8, int(budget / step), int(20 * overhead / step)))
    times = [[], [], []]
    for _ in range(reps):
        for i, f in enumerate((fft, powmod, mulmod)):
            times[i].append(per_step(f, counts[i]))

    def ratio(i: int) -> float:
        return statistics.median(g / f for f, g in zip(times[0], times[i], strict=True))

    return {"bits": N.bit_length(), "L": arith.L, "fft": statistics.median(times[0]),
            "powmod": statistics.median(times[1]), "mulmod": statistics.median(times[2]),
            "vs_powmod": ratio(1), "vs_mulmod": ratio(2), "roe": arith.stats.max_roe,
            "promotions": arith.stats.promotions}


def random_modulus(bits: int) -> mpz:
    return mpz(random.Random(bits).getrandbits(bits)) | 1 | (mpz(1) << (bits - 1))


def factorial_near(bits: int) -> tuple[str, mpz]:
    n = 2
    while gmpy2.fac(n).bit_length() < bits:
        n = max(n + 1, int(n * (1 + (bits - gmpy2.fac(n).bit_length()) / bits / 2)))
    return f"{n}!+1", gmpy2.fac(n) + 1


def largest_b(m: int) -> int:
    return int(2 ** max_b_bits(m)) // 2 * 2


def row(name: str, r: dict) -> str:
    return (f"| {name} | {r['bits']:,} | {r['L']:,} | {r['fft'] * 1e6:,.1f} | {r['powmod'] * 1e6:,.1f} | "
            f"{r['mulmod'] * 1e6:,.1f} | **{r['vs_powmod']:.2f}x** | {r['vs_mulmod']:.2f}x | {r['roe']:.3f} | "
            f"{r['promotions']} |")


HEADER = ("| modulus | bits | FFT length | FFT µs | powmod µs | x*x%N µs | vs powmod | vs x*x%N | max ROE | "
          "promotions |\n|---|---|---|---|---|---|---|---|---|---|")


def crossover(make, sizes, reps: int) -> tuple[int | None, list[str]]:
    """First size whose FFT is faster than powmod, and the sweep's ratios."""
    seen = []
    for bits in sizes:
        r = compare(make(bits), reps, budget=0.2)
        seen.append(f"{r['bits']:,}: {r['vs_powmod']:.2f}x")
        if r["vs_powmod"] > 1.0:
            return r["bits"], seen
    return None, seen


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[50_000, 200_000, 500_000, 1_000_000])
    ap.add_argument("--gfn-m", type=int, nargs="+", default=[10, 12, 14, 16])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--no-crossover", action="store_true")
    args = ap.parse_args()
    print(f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"GMP {gmpy2.mp_version()}; CPU time, medians of {args.reps} interleaved rounds.\n")

    print("Generic moduli: GenericFFTArithmetic.square_chain against GMP\n")
    print(HEADER)
    for bits in args.sizes:
        print(row("random odd", compare(GenericFFTArithmetic(random_modulus(bits)), args.reps)), flush=True)
        name, N = factorial_near(bits)
        print(row(name, compare(GenericFFTArithmetic(N), args.reps)), flush=True)

    print("\nGeneralized Fermat b^(2^m)+1: GfnArithmetic.square_chain against GMP\n")
    print(HEADER)
    for m in args.gfn_m:
        for b in (largest_b(m), 1000):
            print(row(f"{b}^(2^{m})+1", compare(GfnArithmetic(b, m), args.reps)), flush=True)

    if not args.no_crossover:
        bits, seen = crossover(lambda s: GenericFFTArithmetic(random_modulus(s)),
                               [4000, 6000, 8000, 10000, 12000, 16000, 20000, 24000, 32000], args.reps)
        print(f"\nGeneric crossover (first size faster than powmod): {bits} bits; sweep {', '.join(seen)}")

        def gfn_at(s: int) -> GfnArithmetic:
            m = 2  # the smallest m whose largest b reaches s bits: the shortest transform for that size
            while (1 << m) * math.log2(largest_b(m)) < s:
                m += 1
            b = 2 * math.ceil(2 ** (s / (1 << m)) / 2)
            return GfnArithmetic(b, m)

        bits, seen = crossover(gfn_at, [500, 1000, 1500, 2000, 3000, 4000, 6000, 8000], args.reps)
        print(f"GFN crossover (first size faster than powmod): {bits} bits; sweep {', '.join(seen)}")


if __name__ == "__main__":
    main()
