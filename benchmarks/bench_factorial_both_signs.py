"""n!+-1 both signs in one sieve against mfsieve (issue #15), CPU time in one run.

The range n = N_MIN..N_MAX, primes up to --pmax (10^7: the issue's n <= 5000, p < 10^7):

- both:     FactorialForm.sieve_signs, one remainder tree and one walk for n!+1 and n!-1 together;
- one each: FactorialForm(+1).sieve then FactorialForm(-1).sieve (what two campaigns cost before);
- mfsieve (--mfsieve PATH, mtsieve): the same range, both signs (it always sieves both), one worker; its CPU
  time is the child process's rusage (its own prime generation included, ours excluded: primes are generated
  beforehand). It sieves whole chunks, so it stops at a prime a little above --pmax and prints it ("Sieved
  to"): ours then uses the primes up to that same prime.

The survivors must be identical: ours both-signs = ours one sign at a time = mfsieve's remaining terms (the
script stops otherwise), leaving out N < 2 (mfsieve keeps 2!-1 = 1 as a term) and N <= the depth (mfsieve
drops the primes it meets, "7!-1 is prime!"; ours keeps them to be tested: n <= 10 at 10^7).

Run:  PYTHONPATH=. .venv/bin/python benchmarks/bench_factorial_both_signs.py [--mfsieve /tmp/mtsieve/mfsieve]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

from darkreach_pipeline.forms.factorial import FactorialForm
from darkreach_pipeline.sieve.primes import prime_chunks

N_MIN, N_MAX = 2, 5000


def cpu(fn):
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.process_time() - c0, time.perf_counter() - w0, out


def mfsieve(binary: str, pmax: int) -> tuple[float, float, int, dict[int, set[int]]]:
    """(CPU s, wall s, sieved-to prime, {c: surviving n}) of mfsieve over n = N_MIN..N_MAX, primes below pmax."""
    with tempfile.TemporaryDirectory() as tmp:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        w = time.perf_counter()
        subprocess.run([binary, "-n", str(N_MIN), "-N", str(N_MAX), "-P", str(pmax), "-W", "1", "-o", "out.txt"],
                       cwd=tmp, check=True, capture_output=True, text=True)
        wall = time.perf_counter() - w
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        with open(os.path.join(tmp, "out.txt")) as fh:
            lines = fh.read().splitlines()
    depth = int(re.search(r"Sieved to (\d+)", lines[0]).group(1))
    left: dict[int, set[int]] = {1: set(), -1: set()}
    for line in lines[1:]:
        n, c = line.split()
        left[int(c)].add(int(n))
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall, depth, left


def compared(n: int, form: FactorialForm, depth: int) -> bool:
    """N < 2 is no candidate; N <= depth is itself a sieve-range prime or struck: mfsieve reports such primes
    ("6!-1 is prime!") and drops them from its terms, ours keeps them for the test. Both are left out."""
    return form.excluded(n) is None and form.number(n) > depth


def survivors(factors: np.ndarray, form: FactorialForm, depth: int) -> set[int]:
    return {N_MIN + i for i, p in enumerate(factors.tolist()) if p == 0 and compared(N_MIN + i, form, depth)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pmax", type=int, default=10**7)
    ap.add_argument("--mfsieve", default=None, help="path to a built mfsieve (mtsieve)")
    args = ap.parse_args()
    print(f"# bench_factorial_both_signs  {time.strftime('%Y-%m-%d %H:%M:%S')}  python {platform.python_version()}  "
          f"cpus {os.cpu_count()}  load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rows = []
    depth = args.pmax
    theirs = None
    if args.mfsieve:
        m_cpu, m_wall, depth, theirs = mfsieve(args.mfsieve, args.pmax)
    primes = np.concatenate(list(prime_chunks(2, depth)))
    print(f"# n!+-1, n = {N_MIN}..{N_MAX}; {len(primes)} primes up to {depth}")
    plus, minus = FactorialForm(1), FactorialForm(-1)
    plus.sieve_signs(N_MIN, N_MIN + 20, [primes[:100]])  # compile / load the kernels before timing
    plus.sieve(N_MIN, N_MIN + 20, [primes[:100]])
    b_cpu, b_wall, both = cpu(lambda: plus.sieve_signs(N_MIN, N_MAX + 1, [primes]))
    o_cpu, o_wall, each = cpu(lambda: {1: plus.sieve(N_MIN, N_MAX + 1, [primes]),
                                       -1: minus.sieve(N_MIN, N_MAX + 1, [primes])})
    ours = {c: survivors(both[c], f, depth) for c, f in ((1, plus), (-1, minus))}
    if ours != {c: survivors(each[c], f, depth) for c, f in ((1, plus), (-1, minus))}:
        sys.exit("both signs at once and one sign at a time disagree")
    rows.append(("ours, both signs in one sieve", b_cpu, b_wall))
    rows.append(("ours, one sign at a time (x2)", o_cpu, o_wall))
    if theirs is not None:
        theirs = {c: {n for n in left if compared(n, plus if c == 1 else minus, depth)} for c, left in theirs.items()}
        if theirs != ours:
            diff = {c: sorted(theirs[c] ^ ours[c])[:10] for c in (1, -1)}
            sys.exit(f"mfsieve's survivors differ from ours: {diff}")
        rows.append(("mfsieve (both signs)", m_cpu, m_wall))
    reference = rows[-1][1]
    print("\n| sieve | CPU s | wall s | CPU vs last row | survivors +1 / -1 |")
    print("|---|---:|---:|---:|---:|")
    for name, c, w in rows:
        print(f"| {name} | {c:.2f} | {w:.2f} | {c / reference:.2f}x | {len(ours[1])} / {len(ours[-1])} |")
    print(f"\nboth / one at a time (CPU): {b_cpu / o_cpu:.2f}; survivors identical"
          + (" to mfsieve's" if theirs is not None else ""))
    print(f"# load after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
