"""FFT modular squaring (darkreach_pipeline/arith/ibdwt.py) against the GMP special-form loop, same run.

For N = k*2^n+c: µs per squaring of IBDWTArithmetic.square_chain and of SpecialModulus.square_chain, CPU
time, the two interleaved over --reps rounds (medians; the ratio is the median of per-round ratios), both
residues compared. Forms: 3*2^n+1, 3*2^n-1, 2^n-1, 1005*2^n+1 and (2^19+1)*2^n+1 at 10k..200k bits (1M
with --big). Then: pyFFTW against the numpy.fft backend; the crossover (first size where the FFT is
faster) for k = 3 and k = 2^19+1; the memory of one 1.3M-bit arithmetic (tracemalloc peak: tables, plan
buffers, digits); and a projection of a whole Fermat + Gerbicz test of 3*2^1300000+1 from
--proj-squarings measured squarings, beside GMP's.

Usage: PYTHONPATH=. python benchmarks/bench_fft.py [--sizes 10000 50000 100000 200000] [--big] [--reps 5]
       [--no-backends] [--no-crossover] [--no-projection]
"""

import argparse
import os
import platform
import random
import statistics
import time
import tracemalloc

import gmpy2
import numpy as np
from gmpy2 import mpz

from darkreach_pipeline.arith.ibdwt import IBDWTArithmetic
from darkreach_pipeline.primality.gerbicz import default_block
from darkreach_pipeline.primality.special_form import SpecialModulus

FORMS = [(3, 1), (3, -1), (1, -1), (1005, 1), (2**19 + 1, 1)]


def per_squaring(fn, x, count: int) -> float:
    t = time.process_time()
    fn(x, count)
    return (time.process_time() - t) / count


def compare(k: int, n: int, c: int, reps: int, budget: float = 0.4, backend: str | None = None) -> dict:
    """Interleaved FFT / GMP timings for one modulus; counts sized to ~budget CPU seconds per round."""
    fft = IBDWTArithmetic(k, n, c, backend=backend)
    gmp = SpecialModulus(k, n, c)
    x = mpz(random.Random(n).randrange(fft.N))
    assert fft.square_chain(x, 64) == gmp.square_chain(x, 64), f"residues differ for {k}*2^{n}{c:+d}"
    f1, g1 = per_squaring(fft.square_chain, x, 16), per_squaring(gmp.square_chain, x, 4)
    nf, ng = max(16, int(budget / max(f1, 1e-7))), max(4, int(budget / max(g1, 1e-7)))
    fs, gs, ratios = [], [], []
    for _ in range(reps):
        f, g = per_squaring(fft.square_chain, x, nf), per_squaring(gmp.square_chain, x, ng)
        fs.append(f)
        gs.append(g)
        ratios.append(g / f)
    return {"k": k, "n": n, "c": c, "L": fft.L, "bpw": (n + np.log2(k)) / fft.L, "fft": statistics.median(fs),
            "gmp": statistics.median(gs), "ratio": statistics.median(ratios), "roe": fft.stats.max_roe,
            "promotions": fft.stats.promotions}


def form_name(k: int, c: int) -> str:
    return f"{'' if k == 1 else str(k) + '*'}2^n{c:+d}"


def table(sizes: list[int], reps: int) -> None:
    print("| form | n | L | bits/word | FFT µs/sq | GMP µs/sq | GMP/FFT | max ROE | promotions |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in sizes:
        for k, c in FORMS:
            r = compare(k, n, c, reps, budget=0.4 if n < 500_000 else 1.5)
            print(f"| {form_name(k, c)} | {n} | {r['L']} | {r['bpw']:.2f} | {r['fft'] * 1e6:.1f} | "
                  f"{r['gmp'] * 1e6:.1f} | {r['ratio']:.2f} | {r['roe']:.3f} | {r['promotions']} |", flush=True)


def backends(reps: int) -> None:
    """pyFFTW against the numpy.fft fallback (scipy.fft is not a dependency), each against GMP in its run."""
    print("\n| backend | form | n | FFT µs/sq | GMP µs/sq | GMP/FFT |")
    print("|---|---|---:|---:|---:|---:|")
    for n in (100_000, 200_000):
        for name in ("pyfftw", "numpy"):
            r = compare(3, n, 1, reps, backend=name)
            print(f"| {name} | 3*2^n+1 | {n} | {r['fft'] * 1e6:.1f} | {r['gmp'] * 1e6:.1f} | {r['ratio']:.2f} |",
                  flush=True)


def crossover(reps: int) -> None:
    print("\n| k | crossover n (GMP/FFT >= 1) | ratios on the way |")
    print("|---:|---:|---|")
    for k in (3, 2**19 + 1):
        seen = []
        found = None
        for n in (1000, 1500, 2000, 3000, 4000, 6000, 8000, 12000, 16000, 24000, 32000, 48000):
            r = compare(k, n, 1, reps, budget=0.15)
            seen.append(f"{n}: {r['ratio']:.2f}")
            if r["ratio"] >= 1.0:
                found = n
                break
        print(f"| {k} | {found} | {', '.join(seen)} |", flush=True)


def memory() -> None:
    tracemalloc.start()
    ar = IBDWTArithmetic(3, 1_300_000, 1)
    r = ar.from_int(mpz(random.Random(1).randrange(ar.N)))
    ar.to_int(ar.square(r))
    ar.square_chain(12345, 20)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"\nMemory of one 3*2^1300000+1 arithmetic (L={ar.L}): {current / 2**20:.1f} MiB held, "
          f"{peak / 2**20:.1f} MiB peak (tracemalloc, includes one to_int/from_int conversion)")


def projection(count: int) -> None:
    """A whole Fermat test with Gerbicz checks: n squarings plus n/L checksum products plus L squarings
    per check (default_block), priced at the measured per-squaring cost."""
    n, k = 1_300_000, 3
    L = default_block(n)
    ops = n + n // L + L + n % L
    fft = IBDWTArithmetic(k, n, 1)
    x = mpz(random.Random(2).randrange(fft.N))
    fft.square_chain(x, 8)
    f = per_squaring(fft.square_chain, x, count)
    g = per_squaring(SpecialModulus(k, n, 1).square_chain, x, max(20, count // 10))
    print(f"\nProjection, Fermat + Gerbicz test of 3*2^1300000+1 ({ops} operations, block {L}): FFT (L={fft.L}, "
          f"{f * 1e3:.3f} ms/sq from {count} squarings) {ops * f / 3600:.2f} h; GMP ({g * 1e3:.2f} ms/sq) "
          f"{ops * g / 3600:.2f} h; ratio {g / f:.2f}; max ROE {fft.stats.max_roe:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 50000, 100000, 200000])
    parser.add_argument("--big", action="store_true", help="add n = 1,000,000")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--proj-squarings", type=int, default=2000)
    parser.add_argument("--no-crossover", action="store_true")
    parser.add_argument("--no-backends", action="store_true", help="skip pyFFTW vs numpy.fft")
    parser.add_argument("--no-projection", action="store_true")
    args = parser.parse_args()
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"# bench_fft  {time.strftime('%Y-%m-%d %H:%M:%S')}  python {platform.python_version()}  gmpy2 "
          f"{gmpy2.version()}  numpy {np.__version__}  cpus {os.cpu_count()}  load {load}")
    table(args.sizes + ([1_000_000] if args.big else []), args.reps)
    if not args.no_backends:
        backends(args.reps)
    if not args.no_crossover:
        crossover(args.reps)
    memory()
    if not args.no_projection:
        projection(args.proj_squarings)
    print(f"# load after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
