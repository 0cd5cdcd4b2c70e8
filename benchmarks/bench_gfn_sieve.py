"""GFN sieve benchmark: sieve_gfn (roots of x^(2^m) = -1 mod p) against a naive powmod per b.

1. sieve_gfn(m, lo, lo + R) for b^(2^m)+1, m = 4..10, blocks of R = 10^4 and 10^5 values of b from
   b = 10^6, with all primes up to 10^7 (generated once beforehand, so this is the sieve alone).
   Reported: seconds, microseconds per sieve prime (every prime up to the limit counts, though only
   those = 1 mod 2^(m+1) are used), survivors (even b with no factor found) against GfnForm's model.
2. The baseline, measured in the same run on the R = 10^4 block: for every prime p = 1 mod 2^(m+1)
   (the naive method knows which primes can divide too), (b mod p)^(2^m) mod p for every b of the
   block by m numpy squarings. Its factor array must equal sieve_gfn's.

Timings are medians over --reps runs, interleaved round-robin (the machine is noisy); process CPU
time is reported next to wall time.

Run:  PYTHONPATH=. .venv/bin/python benchmarks/bench_gfn_sieve.py [--reps 3] [--ms 4 5 6 7 8 9 10]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

from darkreach_pipeline.forms.gfn import GfnForm
from darkreach_pipeline.sieve.gfn import sieve_gfn
from darkreach_pipeline.sieve.primes import prime_chunks

U64 = np.uint64
LO = 10**6
SPANS = (10**4, 10**5)
LIMIT = 10**7
BASELINE_SPAN = 10**4


def naive_sieve(m: int, lo: int, hi: int, primes: np.ndarray) -> np.ndarray:
    """Smallest eligible prime dividing b^(2^m)+1 for each b in [lo, hi) (2 for odd b), by powmod per b.

    Meant for lo > 2^32 ** (1/2^m), where no N can equal a sieve prime.
    """
    b = np.arange(lo, hi, dtype=U64)
    factors = np.zeros(hi - lo, dtype=np.int64)
    for p in primes[(primes & U64((1 << (m + 1)) - 1)) == U64(1)][::-1].tolist():  # descending: smallest last
        x = b % U64(p)
        for _ in range(m):
            x = x * x % U64(p)
        factors[x == U64(p - 1)] = p
    factors[(b & U64(1)) == U64(1)] = 2
    return factors


def timed(fn: Callable[[], object]) -> tuple[float, float, object]:
    """(wall seconds, process CPU seconds, result)."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--ms", type=int, nargs="+", default=list(range(4, 11)))
    args = ap.parse_args()
    wall0 = time.perf_counter()

    chunks = list(prime_chunks(2, LIMIT))
    all_primes = np.concatenate(chunks)
    nprimes = len(all_primes)

    jobs: dict[tuple, Callable[[], object]] = {}
    for m in args.ms:
        for span in SPANS:
            jobs[("sieve", m, span)] = lambda m=m, span=span: sieve_gfn(m, LO, LO + span, chunks)
        jobs[("naive", m, BASELINE_SPAN)] = lambda m=m: naive_sieve(m, LO, LO + BASELINE_SPAN, all_primes)

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

    for m in args.ms:
        if not np.array_equal(results[("sieve", m, BASELINE_SPAN)], results[("naive", m, BASELINE_SPAN)]):
            diff = int(np.count_nonzero(results[("sieve", m, BASELINE_SPAN)] != results[("naive", m, BASELINE_SPAN)]))
            raise SystemExit(f"m = {m}: sieve_gfn and the naive sieve disagree on {diff} values of b")

    med = {key: statistics.median(t) for key, t in times.items()}
    cmed = {key: statistics.median(t) for key, t in cpu.items()}
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"# bench_gfn_sieve  {time.strftime('%Y-%m-%d %H:%M:%S')}  python {platform.python_version()}  "
          f"numpy {np.__version__}  cpus {cpus}  reps {args.reps}")
    print(f"# b^(2^m)+1, blocks b in [{LO}, {LO} + R), all {nprimes} primes up to 10^7; medians")
    print()
    print("| m | eligible primes | R | sieve_gfn s | us/prime | CPU us/prime | naive s | naive us/prime "
          "| naive/sieve_gfn | same, CPU time | survivors | survivors % | model % |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for m in args.ms:
        eligible = int(np.count_nonzero((all_primes & U64((1 << (m + 1)) - 1)) == U64(1)))
        for span in SPANS:
            key = ("sieve", m, span)
            survivors = int(np.count_nonzero(results[key] == 0))
            model = 100 * GfnForm.survival_at(m, LIMIT)
            naive = ("naive", m, span)
            naive_cells = (f"{med[naive]:.3f} | {1e6 * med[naive] / nprimes:.3f} | {med[naive] / med[key]:.0f} "
                           f"| {cmed[naive] / cmed[key]:.0f}" if naive in med else "- | - | - | -")
            print(f"| {m} | {eligible} | {span} | {med[key]:.4f} | {1e6 * med[key] / nprimes:.3f} "
                  f"| {1e6 * cmed[key] / nprimes:.3f} | {naive_cells} | {survivors} | {100 * survivors / span:.2f} "
                  f"| {model:.2f} |")
    print()
    print(f"total wall time {time.perf_counter() - wall0:.0f} s")


if __name__ == "__main__":
    main()
