"""Engine benchmark: the special-form Fermat loop against gmpy2.powmod and the full KbnForm test.

For each size n and each sign c, N = k*2^n + c with the smallest odd k >= 3 for which N has no
prime factor below 10^5 (a "sieved" candidate, found by one gcd with the product of those primes).
Per rep every measurement runs once, round-robin (the start rotates per rep; below ~0.25 s a
sample repeats the call and reports the mean per call); the tables show medians, so one slow
moment on a noisy machine does not move a ratio; the ratios are also given from process CPU
time, which other processes on the machine disturb less. All ratios are against the baseline special loop
measured in the same run:

  special_loop  SpecialModulus(K, e, c).square_chain(powmod(3, K, N), e): the bare n squarings
  powmod        gmpy2.powmod(3, N - 1, N)
  engine_test   KbnForm(k, 2, c).test(n), everything the pipeline does per candidate (its Fermat
                chain is Gerbicz-checked when the engine has that)
  unchecked     KbnForm(k, 2, c).test(n, TestOptions(check=False)), the same without the Gerbicz checks (only
                when test() takes `check`); unchecked/loop - 1 is the engine's own overhead
  proof         the proof step alone, called as KbnForm.test calls it for a probable prime:
                c = -1: llr_is_prime(K, e, P) (P from rodseth_p outside the timing);
                c = +1: power_chain(a, K, e - 1, N), the Proth a^((N-1)/2) (a = proth_witness(N);
                not timed when a = 3, where test() reuses the Fermat chain's 3^((N-1)/2))

For sizes up to --prime-max-n the engine test is also timed on known primes 3*2^n+-1 with n near
each size (proven again by the engine in the run): a prime costs the Fermat test plus a proof
(Proth or LLR), so engine_test/special_loop should be ~2 when both run on the special loop.

Run:  PYTHONPATH=. .venv/bin/python benchmarks/bench_engine.py [--sizes 5000 10000 20000 50000] [--reps 3]
"""

from __future__ import annotations

import argparse
import inspect
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import gmpy2
from gmpy2 import mpz

from darkreach_pipeline.forms.kbn import KbnForm
from darkreach_pipeline.primality.llr import llr_is_prime, rodseth_p
from darkreach_pipeline.primality.options import TestOptions
from darkreach_pipeline.primality.outcome import COMPOSITE, PRIME
from darkreach_pipeline.primality.proth import proth_witness
from darkreach_pipeline.primality.special_form import SpecialModulus, power_chain, split_power_of_two
from darkreach_pipeline.sieve.primes import small_primes

TRIAL_LIMIT = 10**5
MIN_SAMPLE = 0.25  # seconds; small sizes repeat each call so timer and scheduler noise average out

# Exponents n of known primes 3*2^n+1 (OEIS A002253) and 3*2^n-1 (OEIS A002235); every one used
# is proven again by the engine during the run (the script stops if the engine disagrees).
KNOWN_PROTH_3 = (2208, 2816, 3168, 3189, 3912, 20909, 34350, 42294, 42665, 44685, 48150, 55182, 59973)
KNOWN_RIESEL_3 = (3276, 4204, 5134, 7559, 12676, 14898, 18123, 18819, 25690, 26459, 41628, 51387, 71783)


def sieved_k(n: int, c: int, trial_product: mpz) -> int:
    """Smallest odd k >= 3 with k*2^n + c free of prime factors below TRIAL_LIMIT."""
    k = 3
    while gmpy2.gcd((mpz(k) << n) + c, trial_product) != 1:
        k += 2
    return k


@dataclass
class Case:
    """One N = k*2^n + c and the timed callables that run on it."""

    label: str
    k: int
    n: int
    c: int
    jobs: dict[str, Callable[[], object]]
    inner: int = 1  # calls per timed sample, so that a sample lasts >= MIN_SAMPLE seconds
    times: dict[str, list[float]] = field(default_factory=dict)  # wall clock per call
    cpu: dict[str, list[float]] = field(default_factory=dict)  # process CPU time per call
    first: dict[str, object] = field(default_factory=dict)  # each job's result in the first rep
    outcome: str = ""
    proof: str = ""  # which proof step the "proof" job runs

    def median(self, name: str) -> float:
        return statistics.median(self.times[name])

    def cpu_median(self, name: str) -> float:
        return statistics.median(self.cpu[name])

    def spread(self, name: str) -> float:
        t = self.times[name]
        return (max(t) - min(t)) / statistics.median(t)


def make_case(label: str, k: int, n: int, c: int, composite: bool) -> Case:
    N = (mpz(k) << n) + c
    K, e = split_power_of_two(k, 2, n)
    modulus = SpecialModulus(K, e, c)
    form = KbnForm(k, 2, c)

    jobs: dict[str, Callable[[], object]] = {
        "special_loop": lambda: modulus.square_chain(gmpy2.powmod(3, K, N), e),
        "engine_test": lambda: form.test(n),
    }
    if "check" in inspect.signature(form.test).parameters:
        jobs["unchecked"] = lambda: form.test(n, TestOptions(check=False))
    proof = ""
    if composite:
        jobs["powmod"] = lambda: gmpy2.powmod(3, N - 1, N)
        # The proof step alone, called exactly as KbnForm.test calls it for a probable prime.
        if c == -1:
            P = rodseth_p(N)
            if P is not None:
                jobs["proof"] = lambda: llr_is_prime(K, e, P)
                proof = f"llr P={P}"
        else:
            a = proth_witness(N)
            if a == 3:
                proof = "proth a=3 (reuses Fermat)"
            elif a is not None:
                jobs["proof"] = lambda: power_chain(a, K, e - 1, N)
                proof = f"proth a={a}"
    t0 = time.perf_counter()
    jobs["special_loop"]()  # warm-up, and calibration of the repeat count
    inner = max(1, round(MIN_SAMPLE / (time.perf_counter() - t0)))
    return Case(label, k, n, c, jobs, inner, proof=proof)


def run(cases: list[Case], reps: int) -> None:
    slots = [(case, name) for case in cases for name in case.jobs]
    for rep in range(reps):
        shift = rep % len(slots)
        for case, name in slots[shift:] + slots[:shift]:
            job = case.jobs[name]
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(case.inner):
                result = job()
            dt = (time.perf_counter() - t0) / case.inner
            case.times.setdefault(name, []).append(dt)
            case.cpu.setdefault(name, []).append((time.process_time() - c0) / case.inner)
            case.first.setdefault(name, result)
            if name == "engine_test":
                case.outcome = f"{result.result} ({result.method})"
        print(f"  rep {rep + 1}/{reps} done", file=sys.stderr, flush=True)


def check_residues(case: Case) -> None:
    """The special loop returns 3^(N - c); it must agree with powmod's 3^(N-1) (or with 1 for a prime),
    and with the engine's RES64; the checked and unchecked engine tests must agree."""
    N = (mpz(case.k) << case.n) + case.c
    loop = case.first["special_loop"]
    fermat = loop if case.c == 1 else loop * gmpy2.invert(9, N) % N
    expected = case.first.get("powmod", 1)
    if fermat != expected:
        raise SystemExit(f"special loop residue is wrong for {case.k}*2^{case.n}{case.c:+d}")
    test = case.first["engine_test"]
    if test.res64 != format(int(fermat) & (2**64 - 1), "016x"):
        raise SystemExit(f"engine RES64 differs from the loop's for {case.k}*2^{case.n}{case.c:+d}")
    unchecked = case.first.get("unchecked")
    if unchecked is not None and (unchecked.result, unchecked.res64) != (test.result, test.res64):
        raise SystemExit(f"test(check=False) disagrees with test() for {case.k}*2^{case.n}{case.c:+d}")


def fmt_s(x: float) -> str:
    return f"{x:.4f}" if x < 10 else f"{x:.2f}"


def nearest_known(size: int, known: tuple[int, ...], used: set[int]) -> int | None:
    """Known exponent closest to size (within a factor 1.5), not already used for another size."""
    options = [m for m in known if size / 1.5 <= m <= size * 1.5 and m not in used]
    return min(options, key=lambda m: abs(m - size)) if options else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[5000, 10000, 20000, 50000])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--prime-max-n", type=int, default=25000,
                    help="known-prime rows only for sizes up to this (0: none); default 25000 keeps "
                         "the default run under ~5 minutes")
    args = ap.parse_args()

    wall0 = time.perf_counter()
    trial_product = mpz(math.prod(int(p) for p in small_primes(TRIAL_LIMIT - 1)))

    composites: list[Case] = []
    for n in args.sizes:
        for c in (1, -1):
            k = sieved_k(n, c, trial_product)
            composites.append(make_case("composite", k, n, c, composite=True))

    primes: list[Case] = []
    for c, known in ((1, KNOWN_PROTH_3), (-1, KNOWN_RIESEL_3)):
        used: set[int] = set()
        for size in args.sizes:
            if size <= args.prime_max_n:
                m = nearest_known(size, known, used)
                if m is not None:
                    used.add(m)
                    primes.append(make_case("prime", 3, m, c, composite=False))

    print(f"# bench_engine  {time.strftime('%Y-%m-%d %H:%M:%S')}  python {platform.python_version()}  "
          f"gmpy2 {gmpy2.version()} ({gmpy2.mp_version()})  cpus {_cpus()}  reps {args.reps}")
    print(f"# sizes {args.sizes}; k = smallest odd k >= 3 with no prime factor < {TRIAL_LIMIT}")
    run(composites + primes, args.reps)

    for case in composites + primes:
        check_residues(case)
    for case in composites:
        if not case.outcome.startswith(COMPOSITE):
            print(f"note: k={case.k} n={case.n} c={case.c:+d} tested {case.outcome}, not composite")
    for case in primes:
        if not case.outcome.startswith(PRIME):
            raise SystemExit(f"engine says 3*2^{case.n}{case.c:+d} is {case.outcome}; it is a known prime")

    print()
    print("## Composite (sieved) candidates: medians in seconds, ratios against special_loop")
    print()
    print("| N | special_loop s | powmod s | engine_test s | unchecked s | proof s | engine_test/loop "
          "| unchecked/loop | powmod/loop | proof/loop | proof step | loop spread |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    for case in composites:
        loop = case.median("special_loop")
        cells = [f"{case.k}*2^{case.n}{case.c:+d}", fmt_s(loop)]
        cells += [fmt_s(case.median(nm)) if nm in case.times else "-"
                  for nm in ("powmod", "engine_test", "unchecked", "proof")]
        cells += [f"{case.median(nm) / loop:.3f}" if nm in case.times else "-"
                  for nm in ("engine_test", "unchecked", "powmod", "proof")]
        cells.append(case.proof or "-")
        cells.append(f"{100 * case.spread('special_loop'):.0f}%")
        print("| " + " | ".join(cells) + " |")
    print()
    print("Same ratios from process CPU time (less sensitive to other load on the machine):")
    print()
    print("| N | engine_test/loop | unchecked/loop | powmod/loop | proof/loop |")
    print("|---|---:|---:|---:|---:|")
    for case in composites:
        loop = case.cpu_median("special_loop")
        cells = [f"{case.cpu_median(nm) / loop:.3f}" if nm in case.cpu else "-"
                 for nm in ("engine_test", "unchecked", "powmod", "proof")]
        print(f"| {case.k}*2^{case.n}{case.c:+d} | " + " | ".join(cells) + " |")
    if primes:
        print()
        print("## Known primes 3*2^n+-1 (Fermat test + proof): medians in seconds")
        print()
        print("| N | special_loop s | engine_test s | engine_test/loop | same, CPU time | outcome |")
        print("|---|---:|---:|---:|---:|---|")
        for case in primes:
            loop = case.median("special_loop")
            test = case.median("engine_test")
            cpu_ratio = case.cpu_median("engine_test") / case.cpu_median("special_loop")
            print(f"| 3*2^{case.n}{case.c:+d} | {fmt_s(loop)} | {fmt_s(test)} | {test / loop:.3f} "
                  f"| {cpu_ratio:.3f} | {case.outcome} |")
    print()
    print("loop spread = (max - min) / median of special_loop over the reps (machine noise); "
          "calls per sample: " + ", ".join(f"n={cs.n}: {cs.inner}" for cs in composites if cs.c == 1))
    print(f"total wall time {time.perf_counter() - wall0:.0f} s")


def _cpus() -> str:
    return str(len(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else str(os.cpu_count())


if __name__ == "__main__":
    main()
