"""P-1 (darkreach_pipeline/factoring/): factors found per CPU hour, the net saving on a campaign at n ~ 100k,
and the bounds the cost model chooses there. CPU time throughout (the machine is shared).

1. Costs at 3*2^n+1 (default n = 100,000), measured in this run, interleaved over --reps rounds (medians): the
   PRP test's operation, an FFT squaring (arith/ibdwt.py, what the pipeline tests with at this size), and P-1's on
   the same arithmetic: a stage-1 step (binary_chain: squaring, x3 on a set bit) and a stage-2 product (from_int
   of a difference + multiply); gmpy2's powmod per exponent bit for reference (P-1 on plain GMP). The PRP test is
   not run (hours per test at 100k bits on this machine): its cost is simulated as n x the measured FFT squaring
   (a Fermat test makes n squarings; Gerbicz checks add ~0.3%, RESULTS.md "FFT arithmetic").
2. The bound choice at n for each sieve depth in --depths (the first: the auto depth of a 3*2^n+1 campaign at
   n = 100k..110k): factoring/p_minus_1_bounds.choose_bounds with the simulated test cost.
3. Factors found, per depth: P-1 with the chosen bounds (--b1/--b2 where none are chosen: what forcing P-1 would
   give) on --count sieve survivors of 3*2^m+1 at m ~ --sample-n sieved to that depth. Whether P-1 finds a factor
   depends on the factor's size and the bounds, not on N's size (N >> the factors found), so the share found
   there is the share at n; it is set against the model's probability. One full P-1 at n (FFT, stage 1 + 2 with
   those bounds) is timed for the cost per candidate.
4. Per depth, for a campaign of --campaign survivors at n: factors, CPU hours of P-1, test hours saved (the test
   and its double check, TESTS_SAVED; and the test alone), net; factors per CPU hour of P-1 at n.

Usage: PYTHONPATH=. python benchmarks/bench_p_minus_1.py [--n 100000] [--depths 1139023515 10000000 1000000]
       [--sample-n 4000] [--count 150] [--campaign 10000] [--reps 3] [--b1 10000 --b2 200000]
"""


from __future__ import annotations

import argparse
import math
import os
import platform
import random
import statistics
import time

import gmpy2
from gmpy2 import mpz

from darkreach_pipeline.arith.ibdwt import IBDWTArithmetic
from darkreach_pipeline.factoring.p_minus_1 import p_minus_1
from darkreach_pipeline.factoring.p_minus_1_bounds import (
    STAGE1_STEP,
    STAGE2_PRODUCT,
    TESTS_SAVED,
    choose_bounds,
    factor_probability,
    squarings,
)
from darkreach_pipeline.forms.kbn import KbnForm
from darkreach_pipeline.sieve.primes import prime_chunks

K, B, C = 3, 2, 1
AUTO_DEPTH = 1_139_023_515  # parse_campaign's auto sieve_depth for 3*2^n+1, n = 100,000..110,000


def cpu(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def operation_costs(n: int, reps: int) -> dict[str, float]:
    """Seconds per FFT squaring (the test), per stage-1 step and stage-2 product on the FFT (P-1), and per gmpy2
    powmod exponent bit, at N = 3*2^n+1."""
    N = mpz(K) * mpz(B) ** n + C
    fft = IBDWTArithmetic(K, n, C)
    x = mpz(random.Random(n).randrange(N))
    y = mpz(random.Random(n + 1).randrange(N))
    fft.square_chain(x, 8)  # the plan (FFTW_MEASURE) is made once, outside the timing
    exponent = mpz(random.Random(1).getrandbits(400)) | (mpz(1) << 399)
    rx = fft.from_int(x)
    rounds: dict[str, list[float]] = {"fft_square": [], "stage1_step": [], "stage2_product": [], "powmod_bit": []}
    for _ in range(reps):
        rounds["fft_square"].append(cpu(lambda: fft.square_chain(x, 400)) / 400)
        rounds["stage1_step"].append(cpu(lambda: fft.binary_chain(1, exponent, 400, 3)) / 400)

        def products():
            r = rx
            for _ in range(50):
                r = fft.multiply(r, fft.from_int((y - x) % N))
        rounds["stage2_product"].append(cpu(products) / 50)
        rounds["powmod_bit"].append(cpu(lambda: gmpy2.powmod(x, exponent, N)) / 400)
    return {name: statistics.median(values) for name, values in rounds.items()}


def survivors(lo: int, hi: int, depth: int) -> list[int]:
    form = KbnForm(K, B, C)
    factors = form.sieve(lo, hi, prime_chunks(2, depth))
    return [lo + i for i, f in enumerate(factors.tolist()) if f == 0 and not form.excluded(lo + i)]


def full_run_seconds(n: int, depth: int, b1: int, b2: int) -> float:
    """CPU seconds of one whole P-1 (stage 1 and 2, no factor found) on the FFT at the first survivor m >= n of the
    sieve to `depth` where P-1 finds nothing (a factor found in stage 1 would skip stage 2)."""
    for m in survivors(n, n + 400, depth):
        arith = IBDWTArithmetic(K, m, C)
        arith.square_chain(mpz(3), 2)  # the plan, outside the timing
        start = time.process_time()
        result = p_minus_1(arith.N, b1, b2, arith=arith)
        seconds = time.process_time() - start
        if result.factor is None:
            return seconds
    raise RuntimeError(f"every survivor near n = {n} had a P-1 factor: widen the range")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--depths", type=int, nargs="+", default=[AUTO_DEPTH, 10_000_000, 1_000_000])
    parser.add_argument("--sample-n", type=int, default=4_000)
    parser.add_argument("--count", type=int, default=150)
    parser.add_argument("--campaign", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--b1", type=int, default=10_000)
    parser.add_argument("--b2", type=int, default=200_000)
    args = parser.parse_args()
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"# bench_p_minus_1  {time.strftime('%Y-%m-%d %H:%M:%S')}  python {platform.python_version()}  gmpy2 "
          f"{gmpy2.version()}  cpus {os.cpu_count()}  load {load}")
    n, bits = args.n, args.n + math.log2(K)

    costs = operation_costs(n, args.reps)
    square = costs["fft_square"]
    test_seconds = n * square
    print(f"\n## Costs at 3*2^{n}+1 (CPU, median of {args.reps})\n")
    print("| operation | µs | in FFT squarings | model |\n|---|---|---|---|")
    print(f"| FFT squaring (the test) | {square * 1e6:.1f} | 1 | 1 |")
    print(f"| P-1 stage-1 step on the FFT (binary_chain) | {costs['stage1_step'] * 1e6:.1f} | "
          f"{costs['stage1_step'] / square:.2f} | {STAGE1_STEP} |")
    print(f"| P-1 stage-2 product on the FFT (from_int + multiply) | {costs['stage2_product'] * 1e6:.1f} | "
          f"{costs['stage2_product'] / square:.2f} | {STAGE2_PRODUCT} |")
    print(f"| gmpy2 powmod per exponent bit (P-1 on plain GMP) | {costs['powmod_bit'] * 1e6:.1f} | "
          f"{costs['powmod_bit'] / square:.2f} | |")
    print(f"\nsimulated PRP test: {n} x FFT squaring = {test_seconds:.2f} CPU s")

    form = KbnForm(K, B, C)
    rows = []
    for depth in args.depths:
        chosen = choose_bounds(bits, depth, test_seconds)
        b1, b2 = (chosen.b1, chosen.b2) if chosen else (args.b1, args.b2)
        sample = survivors(args.sample_n, args.sample_n + 25 * args.count, depth)[: args.count]
        found, stages, seconds = 0, {1: 0, 2: 0}, 0.0
        for m in sample:
            M = form.number(m)
            start = time.process_time()
            result = p_minus_1(M, b1, b2, arith=None)
            seconds += time.process_time() - start
            if result.factor is not None:
                assert M % result.factor == 0 and 1 < result.factor < M
                found += 1
                stages[result.stage] += 1
        share = found / len(sample)
        model = factor_probability(bits, math.log2(depth), b1, b2)
        one = full_run_seconds(n, depth, b1, b2)
        rows.append((depth, chosen, b1, b2, len(sample), sample, found, stages, share, model, one))

    print(f"\n## Bound choice at n = {n} (tests saved per factor: {TESTS_SAVED:g}; test {test_seconds:.2f} s)\n")
    print("| sieve depth | chosen B1 | B2 | P(factor), model | saved s | cost s (model) | net s |")
    print("|---|---|---|---|---|---|---|")
    for depth, chosen, *_ in rows:
        if chosen is None:
            print(f"| {depth} | none: no bounds save more than they cost | | | | | |")
        else:
            print(f"| {depth} | {chosen.b1} | {chosen.b2} | {chosen.probability:.4f} | {chosen.saved_seconds:.2f} | "
                  f"{chosen.cost_seconds:.2f} | {chosen.net_seconds:+.2f} |")

    print(f"\n## Factors found (sample: survivors of 3*2^m+1 from m = {args.sample_n}, gmpy2) and one P-1 at n "
          f"(FFT)\n")
    print("| sieve depth | bounds | candidates | found (stage 1 / 2) | share | model | P-1 at n, CPU s (model) | "
          "factors per CPU hour at n |")
    print("|---|---|---|---|---|---|---|---|")
    for depth, chosen, b1, b2, count, _, found, stages, share, model, one in rows:
        label = f"B1 {b1}, B2 {b2}" + ("" if chosen else " (forced)")
        print(f"| {depth} | {label} | {count} | {found} ({stages[1]} / {stages[2]}) | {share:.3f} | {model:.3f} | "
              f"{one:.2f} ({squarings(b1, b2) * square:.2f}) | {share / one * 3600:.0f} |")

    print(f"\n## A campaign of {args.campaign} survivors at n ~ {n} (the measured share, the measured P-1 cost)\n")
    print("| sieve depth | bounds | tests saved per factor | factors | P-1 CPU h | test CPU h saved | net CPU h | "
          "net, share of the tests |")
    print("|---|---|---|---|---|---|---|---|")
    for depth, chosen, b1, b2, _, _, _, _, share, _, one in rows:
        for saved in (TESTS_SAVED, 1.0):
            factors = share * args.campaign
            cost_h = one * args.campaign / 3600
            saved_h = factors * saved * test_seconds / 3600
            label = f"B1 {b1}, B2 {b2}" + ("" if chosen else " (forced)")
            all_tests_h = args.campaign * saved * test_seconds / 3600
            print(f"| {depth} | {label} | {saved:g} | {factors:.0f} | {cost_h:.2f} | {saved_h:.2f} | "
                  f"{saved_h - cost_h:+.2f} | {(saved_h - cost_h) / all_tests_h:+.1%} |")


if __name__ == "__main__":
    main()
