"""Factorial sieve benchmark: n! mod q carried across a block (sieve/carried_product.py) against baselines.

1. The whole block sieve as the pipeline runs it (FactorialForm(+1).sieve) for n in [lo, lo + R),
   lo = 1000 with R = 1000 (n = 1000..1999) and lo = 1500 with R = 100, with all primes up to 10^6
   and 10^7 (generated beforehand). Reported: seconds, us per sieve prime, and ns per prime per n
   (seconds / (primes >= lo) / R): the unit in which mfsieve is usually quoted.
2. Its two parts on the same primes: the start (lo-1)! mod q by the gmpy2 remainder tree, and the
   walk n -> n+1 (one mulmod per prime per n) in float64 and in numpy's uint64 remainder.
3. Baselines measured in the same run: a plain Python loop over a sample of the primes (every
   PRIMES_SAMPLE-th) that carries n! mod q from 1 to lo+R-1 as mfsieve does, and numpy carrying
   from 1 as well (the walk alone, no tree). The Python loop's factors must equal the sieve's on
   its sample. mfsieve itself (mtsieve) is not installed here, so it is not measured.
4. The cost model's constants: the tree per prime at lo = 1000, 10^4, 10^5 (TREE_SECONDS and
   TREE_SECONDS_PER_BIT), and one Gerbicz-checked Fermat test (fermat_prp, and the bare gmpy2 powmod
   beside it) of n!+1 at n = 1000, 1500, 2000 (TEST_CONSTANT).

Timings are medians over --reps runs, interleaved round-robin (the machine is noisy); CPU time is
reported next to wall time where it matters.

Run:  PYTHONPATH=. .venv/bin/python benchmarks/bench_factorial_sieve.py [--reps 3]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

import gmpy2
import numpy as np

from darkreach_pipeline.cost_model import GENERIC_CONSTANT as TEST_CONSTANT
from darkreach_pipeline.forms.factorial import FactorialForm, factorial_bits
from darkreach_pipeline.primality.fermat import fermat_prp
from darkreach_pipeline.sieve.carried_product import (
    BATCH,
    TREE_SECONDS,
    TREE_SECONDS_PER_BIT,
    WALK_SECONDS,
    remainders,
    walk,
)
from darkreach_pipeline.sieve.primes import prime_chunks

LIMITS = (10**6, 10**7)
BLOCKS = ((1000, 1000), (1500, 100))  # (lo, R)
PRIMES_SAMPLE = 331  # the Python baseline runs on every 331st prime
TREE_LOS = (1000, 10_000, 100_000)
TEST_NS = (1000, 1500, 2000)


def timed(fn: Callable[[], object]) -> tuple[float, float, object]:
    """(wall seconds, process CPU seconds, result)."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def batches(q: np.ndarray) -> list[np.ndarray]:
    """The sieve's own batches of primes."""
    return [q[s : s + BATCH] for s in range(0, len(q), BATCH)]


def python_carry(lo: int, hi: int, primes: list[int]) -> dict[int, int]:
    """Smallest prime of `primes` dividing n!+1 for each n in [lo, hi) (n -> prime), n! mod q carried from 1."""
    found: dict[int, int] = {}
    for q in primes:
        r = 1
        for n in range(2, lo):
            r = r * n % q
        for n in range(lo, hi):
            r = r * n % q
            if r == q - 1 and n not in found:
                found[n] = q
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    wall0 = time.perf_counter()
    form = FactorialForm(1)
    primes = {limit: np.concatenate(list(prime_chunks(2, limit))) for limit in LIMITS}

    jobs: dict[tuple, Callable[[], object]] = {}
    used: dict[tuple, int] = {}
    for limit in LIMITS:
        for lo, span in BLOCKS:
            q = primes[limit][primes[limit] >= lo]
            used[(lo, limit)] = len(q)
            jobs[("sieve", lo, span, limit)] = lambda lo=lo, span=span, limit=limit: form.sieve(
                lo, lo + span, [primes[limit]])
            jobs[("tree", lo, span, limit)] = lambda lo=lo, q=q: [
                remainders(gmpy2.fac(lo - 1), b) for b in batches(q)]
            for arithmetic, use_float in (("float64", True), ("uint64", False)):
                jobs[(arithmetic, lo, span, limit)] = lambda lo=lo, span=span, q=q, use_float=use_float: [
                    walk(np.ones(len(b), dtype=np.uint64), b, list(range(lo, lo + span)), 1, use_float)
                    for b in batches(q)]
        lo, span = BLOCKS[0]
        q = primes[limit]
        jobs[("numpy-from-1", lo, span, limit)] = lambda lo=lo, span=span, q=q: [
            walk(np.ones(len(b), dtype=np.uint64), b, list(range(2, lo + span)), 1) for b in batches(q)]
        sample = primes[limit][primes[limit] >= lo][::PRIMES_SAMPLE].tolist()
        jobs[("python", lo, span, limit)] = lambda lo=lo, span=span, sample=sample: python_carry(
            lo, lo + span, sample)
    for lo in TREE_LOS:
        q = primes[10**7][primes[10**7] >= 10**6][: 1 << 16]
        jobs[("tree-only", lo, 0, len(q))] = lambda lo=lo, q=q: [remainders(gmpy2.fac(lo - 1), b) for b in batches(q)]
    for n in TEST_NS:
        N = gmpy2.fac(n) + 1
        jobs[("test", n, 0, 0)] = lambda N=N: fermat_prp(N, 3)
        jobs[("powmod", n, 0, 0)] = lambda N=N: gmpy2.powmod(3, N - 1, N)

    times: dict[tuple, list[float]] = {key: [] for key in jobs}
    cpu: dict[tuple, list[float]] = {key: [] for key in jobs}
    results: dict[tuple, object] = {}
    keys = list(jobs)
    for rep in range(args.reps):
        shift = rep % len(keys)
        for key in keys[shift:] + keys[:shift]:
            dt, dc, out = timed(jobs[key])
            times[key].append(dt)
            cpu[key].append(dc)
            results.setdefault(key, out)
        print(f"  rep {rep + 1}/{args.reps} done", file=sys.stderr, flush=True)
    med = {key: statistics.median(t) for key, t in times.items()}
    cmed = {key: statistics.median(t) for key, t in cpu.items()}

    # The baseline's factors must be the sieve's wherever the sieve's factor is one of the sampled primes.
    for limit in LIMITS:
        lo, span = BLOCKS[0]
        sieve = results[("sieve", lo, span, limit)]
        python = results[("python", lo, span, limit)]
        sample = set(primes[limit][primes[limit] >= lo][::PRIMES_SAMPLE].tolist())
        for n in range(lo, lo + span):
            f = int(sieve[n - lo])
            if n in python and (f == 0 or f > python[n]):
                raise SystemExit(f"n = {n}: sieve factor {f}, Python loop {python[n]}")
            if f in sample and python.get(n) != f:
                raise SystemExit(f"n = {n}: sieve factor {f} not found by the Python loop")
            if f and (gmpy2.fac(n) + 1) % f:
                raise SystemExit(f"n = {n}: {f} does not divide n!+1")

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"# bench_factorial_sieve  {time.strftime('%Y-%m-%d %H:%M:%S')}  python {platform.python_version()}  "
          f"numpy {np.__version__}  gmpy2 {gmpy2.version()}  cpus {cpus}  reps {args.reps}  "
          f"load {os.getloadavg()[0]:.1f}")
    print("# n!+1, blocks n in [lo, lo + R); medians; 'per prime' counts the primes >= lo (the others are skipped)")
    print()
    print("## FactorialForm.sieve (tree + float64 walk), primes pre-generated")
    print()
    print("| lo | R | primes up to | primes >= lo | seconds | CPU s | us/prime | ns/prime/n | CPU ns/prime/n "
          "| survivors |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for limit in LIMITS:
        for lo, span in BLOCKS:
            key = ("sieve", lo, span, limit)
            count = used[(lo, limit)]
            survivors = int(np.count_nonzero(results[key] == 0))
            print(f"| {lo} | {span} | 10^{round(math.log10(limit))} | {count} | {med[key]:.3f} | {cmed[key]:.3f} "
                  f"| {1e6 * med[key] / count:.2f} | {1e9 * med[key] / count / span:.2f} "
                  f"| {1e9 * cmed[key] / count / span:.2f} | {survivors} |")
    print()
    print("## The parts, and the baselines (ns per prime per n; the tree in us per prime)")
    print()
    print("| lo | R | primes up to | tree us/prime | walk float64 | walk uint64 | numpy from n = 1 "
          "| Python loop from n = 1 | Python / sieve |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for limit in LIMITS:
        for lo, span in BLOCKS:
            count = used[(lo, limit)]
            tree = 1e6 * cmed[("tree", lo, span, limit)] / count
            flt = 1e9 * cmed[("float64", lo, span, limit)] / count / span
            u64 = 1e9 * cmed[("uint64", lo, span, limit)] / count / span
            sieve = 1e9 * cmed[("sieve", lo, span, limit)] / count / span
            if (lo, span) == BLOCKS[0]:
                all_primes = len(primes[limit])
                from_one = 1e9 * cmed[("numpy-from-1", lo, span, limit)] / all_primes / (lo + span - 2)
                sampled = len(primes[limit][primes[limit] >= lo][::PRIMES_SAMPLE])
                python = 1e9 * cmed[("python", lo, span, limit)] / sampled / (lo + span - 2)
                python_block = 1e9 * cmed[("python", lo, span, limit)] / sampled / span
                extra = f"{from_one:.2f} | {python:.1f} | {python_block / sieve:.0f}x"
            else:
                extra = "| |"
            print(f"| {lo} | {span} | 10^{round(math.log10(limit))} | {tree:.2f} | {flt:.2f} | {u64:.2f} | {extra} |")
    print()
    print("## Cost model (CPU time)")
    print()
    print("| measure | value | model |")
    print("|---|---:|---:|")
    for lo in TREE_LOS:
        key = next(k for k in jobs if k[0] == "tree-only" and k[1] == lo)
        bits = factorial_bits(lo - 1)
        model = 1e6 * (TREE_SECONDS + TREE_SECONDS_PER_BIT * bits)
        print(f"| tree, (lo-1)! mod q, lo = {lo} ({bits:,.0f} bits), us/prime | {1e6 * cmed[key] / key[3]:.2f} "
              f"| {model:.2f} |")
    print(f"| walk, ns/prime/n (lo = {BLOCKS[0][0]}, 10^7) | "
          f"{1e9 * cmed[('float64', *BLOCKS[0], 10**7)] / used[(BLOCKS[0][0], 10**7)] / BLOCKS[0][1]:.2f} "
          f"| {1e9 * WALK_SECONDS:.2f} |")
    for n in TEST_NS:
        bits = factorial_bits(n)
        model = TEST_CONSTANT * bits * bits * math.log2(bits)
        print(f"| Fermat test of {n}!+1 ({bits:,.0f} bits; bare powmod {cmed[('powmod', n, 0, 0)]:.3f}), s "
              f"| {cmed[('test', n, 0, 0)]:.3f} | {model:.3f} |")
    print()
    print(f"total wall time {time.perf_counter() - wall0:.0f} s")


if __name__ == "__main__":
    main()
