"""Sieve benchmark: the batched numpy BSGS sieve (sieve_kbn) and the prime generator (prime_chunks).

1. sieve_kbn(3, 2, +1, lo, lo + R, primes) for 3*2^n+1 on blocks of R = 500, 5000, 50000 values of n
   starting at n = 100000, with all primes up to 10^6 and 10^7. The primes are generated once
   beforehand, so this is the sieve alone. Reported: seconds, microseconds per sieve prime (every
   prime up to the limit counts, including the few the sieve skips: 2 and 3 divide k*b) and the
   survivors (n with no factor found).
2. A pure-Python per-prime BSGS (dict of baby steps) on the R = 5000 block with primes < 10^6, the
   baseline for the batching; its factor array must equal sieve_kbn's.
3. prime_chunks alone up to 10^7 and 10^8: primes per second.
4. Batch-size sensitivity of sieve_kbn (primes up to 10^6): its default batch holds about 2^22
   baby+giant keys per numpy call; smaller, cache-sized batches (2^18 .. 2^21 keys) are timed
   against it with the `batch` argument. Every batch size must give the identical factor array.

Timings are medians over --reps runs, interleaved round-robin (the machine is noisy); process CPU
time is reported next to wall time where it matters, since other load disturbs it less.

Run:  PYTHONPATH=. .venv/bin/python benchmarks/bench_sieve.py [--reps 3] [--lo 100000]
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

import numpy as np

from darkreach_pipeline.sieve.kbn import sieve_kbn
from darkreach_pipeline.sieve.primes import prime_chunks

K, B, C = 3, 2, 1
SPANS = (500, 5000, 50000)
LIMITS = (10**6, 10**7)
BASELINE_SPAN = 5000
BASELINE_LIMIT = 10**6
GENERATOR_LIMITS = (10**7, 10**8)
KEY_BUDGETS = (18, 19, 20, 21, 22)  # log2 of baby+giant keys per batch; 22 is sieve_kbn's default
SWEEP_LIMIT = 10**6


def batch_for(span: int, budget_log2: int) -> int:
    """sieve_kbn's own batch rule with 2^budget_log2 keys instead of 2^22."""
    m = max(1, math.isqrt(span - 1) + 1)
    return max(256, min(1 << 16, (1 << budget_log2) // (2 * m + 1)))


def python_bsgs(k: int, b: int, c: int, lo: int, hi: int, primes: list[int]) -> np.ndarray:
    """Smallest prime p (from `primes`, ascending) dividing k*b^n + c for each n in [lo, hi); 0 if none.

    One prime at a time: b^n = -c/k (mod p) solved by baby-step giant-step with a dict. Meant for
    n >= 64 (N is then far above every sieve prime, so p = N cannot happen).
    """
    span = hi - lo
    m = max(1, math.isqrt(span - 1) + 1)  # ceil(sqrt(span))
    factors = np.zeros(span, dtype=np.uint64)
    for p in primes:
        if b % p == 0 or k % p == 0:
            continue
        target = (-c * pow(k, -1, p)) % p
        baby: dict[int, int] = {}
        x = 1
        order = 0
        for i in range(m):
            if x in baby:  # b^i = b^0: the order of b is i < m
                order = i
                break
            baby[x] = i
            x = x * b % p
        b_inv = pow(b, -1, p)
        if order:
            # One period: n = lo + j with b^j = target * b^-lo, then every order-th n after it.
            j = baby.get(target * pow(b_inv, lo, p) % p)
            if j is not None:
                for off in range(j, span, order):
                    if factors[off] == 0:
                        factors[off] = p
            continue
        step = pow(b_inv, m, p)
        y = target * pow(b_inv, lo, p) % p  # target * b^-(lo + g*m)
        for g in range(-(-span // m)):
            i = baby.get(y)
            if i is not None:
                off = g * m + i
                if off < span and factors[off] == 0:
                    factors[off] = p
            y = y * step % p
    return factors


def timed(fn: Callable[[], object]) -> tuple[float, float, object]:
    """(wall seconds, process CPU seconds, result)."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def count_primes(limit: int) -> int:
    return sum(len(chunk) for chunk in prime_chunks(2, limit))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--lo", type=int, default=100_000, help="first n of every block")
    args = ap.parse_args()
    wall0 = time.perf_counter()

    chunks = {limit: list(prime_chunks(2, limit)) for limit in LIMITS}
    nprimes = {limit: sum(len(ch) for ch in chunks[limit]) for limit in LIMITS}
    base_primes = [int(p) for ch in chunks[BASELINE_LIMIT] for p in ch.tolist()]

    jobs: dict[tuple, Callable[[], object]] = {}
    for limit in LIMITS:
        for span in SPANS:
            lo, hi = args.lo, args.lo + span
            jobs[("sieve", span, limit)] = lambda lo=lo, hi=hi, limit=limit: sieve_kbn(
                K, B, C, lo, hi, chunks[limit])
    jobs[("python", BASELINE_SPAN, BASELINE_LIMIT)] = lambda: python_bsgs(
        K, B, C, args.lo, args.lo + BASELINE_SPAN, base_primes)
    for span in SPANS:
        for budget in KEY_BUDGETS[:-1]:  # the 2^22 row is the default run above
            lo, hi, batch = args.lo, args.lo + span, batch_for(span, budget)
            jobs[("batch", span, budget)] = lambda lo=lo, hi=hi, batch=batch: sieve_kbn(
                K, B, C, lo, hi, chunks[SWEEP_LIMIT], batch=batch)
    for limit in GENERATOR_LIMITS:
        jobs[("primes", 0, limit)] = lambda limit=limit: count_primes(limit)

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
    numpy_factors = results[("sieve", BASELINE_SPAN, BASELINE_LIMIT)]
    python_factors = results[("python", BASELINE_SPAN, BASELINE_LIMIT)]
    if not np.array_equal(numpy_factors, python_factors):
        diff = int(np.count_nonzero(numpy_factors != python_factors))
        raise SystemExit(f"sieve_kbn and the Python BSGS disagree on {diff} of {BASELINE_SPAN} n")

    for span in SPANS:
        for budget in KEY_BUDGETS[:-1]:
            if not np.array_equal(results[("batch", span, budget)], results[("sieve", span, SWEEP_LIMIT)]):
                raise SystemExit(f"sieve_kbn gives different factors with batch {batch_for(span, budget)}")

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"# bench_sieve  {time.strftime('%Y-%m-%d %H:%M:%S')}  python {platform.python_version()}  "
          f"numpy {np.__version__}  cpus {cpus}  reps {args.reps}")
    print(f"# {K}*{B}^n{C:+d}, blocks n in [{args.lo}, {args.lo} + R); medians")
    print()
    print("## sieve_kbn (batched numpy BSGS), primes pre-generated")
    print()
    print("| R (n values) | primes up to | sieve primes | seconds | us/prime | CPU us/prime | survivors "
          "| survivors % |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for limit in LIMITS:
        for span in SPANS:
            key = ("sieve", span, limit)
            survivors = int(np.count_nonzero(results[key] == 0))
            print(f"| {span} | 10^{round(math.log10(limit))} | {nprimes[limit]} | {med[key]:.3f} "
                  f"| {1e6 * med[key] / nprimes[limit]:.2f} | {1e6 * cmed[key] / nprimes[limit]:.2f} "
                  f"| {survivors} | {100 * survivors / span:.1f} |")
    print()
    print("## Per-prime pure-Python BSGS baseline (same block, same primes, identical factors)")
    print()
    py, npy = med[("python", BASELINE_SPAN, BASELINE_LIMIT)], med[("sieve", BASELINE_SPAN, BASELINE_LIMIT)]
    n_base = nprimes[BASELINE_LIMIT]
    base_key, sieve_key = ("python", BASELINE_SPAN, BASELINE_LIMIT), ("sieve", BASELINE_SPAN, BASELINE_LIMIT)
    print("| R | primes up to | python s | python us/prime | sieve_kbn s | sieve_kbn us/prime "
          "| python/sieve_kbn | same, CPU time |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {BASELINE_SPAN} | 10^{round(math.log10(BASELINE_LIMIT))} | {py:.3f} | {1e6 * py / n_base:.2f} "
          f"| {npy:.3f} | {1e6 * npy / n_base:.2f} | {py / npy:.1f} "
          f"| {cmed[base_key] / cmed[sieve_key]:.1f} |")
    print()
    print("## prime_chunks alone (segmented numpy sieve, iterate all chunks)")
    print()
    print("| primes up to | primes | seconds | primes/second |")
    print("|---:|---:|---:|---:|")
    for limit in GENERATOR_LIMITS:
        key = ("primes", 0, limit)
        count = results[key]
        print(f"| 10^{round(math.log10(limit))} | {count} | {med[key]:.3f} | {count / med[key]:.3g} |")
    print()
    print(f"## sieve_kbn batch size (primes up to 10^{round(math.log10(SWEEP_LIMIT))}): wall seconds, "
          "ratio to the default batch (2^22 keys) from wall / from CPU time")
    print()
    print("| R | " + " | ".join(f"2^{b} keys" for b in KEY_BUDGETS) + " |")
    print("|---:|" + "---:|" * len(KEY_BUDGETS))
    for span in SPANS:
        default_key = ("sieve", span, SWEEP_LIMIT)
        cells = []
        for budget in KEY_BUDGETS:
            key = default_key if budget == KEY_BUDGETS[-1] else ("batch", span, budget)
            cells.append(f"{med[key]:.3f} s ({med[key] / med[default_key]:.2f} / "
                         f"{cmed[key] / cmed[default_key]:.2f}, batch {batch_for(span, budget)})")
        print(f"| {span} | " + " | ".join(cells) + " |")
    print()
    print(f"total wall time {time.perf_counter() - wall0:.0f} s")


if __name__ == "__main__":
    main()
