"""Sieve benchmark, numba BSGS (issue #3): microseconds per sieve prime at depths 10^7, 10^8, 10^9.

k*2^n+1 (k = 3) over n in [N0, N0 + 10^5). At each depth D the cost per prime is measured on a slice of
the primes just below D (sieving every prime below 10^9 would take far too long for the old path),
in the same run for:

- old:  the batched numpy BSGS, sieve/kbn.py as of commit OLD_REV (loaded with `git show`);
- new:  sieve_kbn, the compiled kernel of sieve/kbn_numba.py;
- srsieve2 (optional, --srsieve2 PATH to a built mtsieve srsieve2): the same n range (a terms file
  holding every n, "sieved to" 3) over a slice of primes below D, one worker. Its own prime
  generation is included; it is a separate process, so its CPU time is the children's CPU time.

Old and new must give identical factor arrays on the shared part of the slice. Reported: CPU us/prime
(process time, robust to the machine's other load) and wall us/prime, ratios new/old and new/srsieve2
(CPU). Also the first-call cost of the kernel: compile (empty cache dir) and cached load, each in a
fresh interpreter.

Run:  PYTHONPATH=. .venv/bin/python benchmarks/bench_sieve_numba.py [--srsieve2 /tmp/mtsieve/srsieve2]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time

import numba
import numpy as np

from darkreach_pipeline.sieve.kbn import sieve_kbn
from darkreach_pipeline.sieve.primes import prime_chunks

K, B, C = 3, 2, 1
N0, SPAN = 1_000_000, 100_000
DEPTHS = (10**7, 10**8, 10**9)
OLD_REV = "b9141a258d436d637e5782c077f37a8dfc647ae3"  # last commit with the numpy-only sieve_kbn
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def old_sieve_kbn():
    source = subprocess.run(["git", "-C", ROOT, "show", f"{OLD_REV}:darkreach_pipeline/sieve/kbn.py"],
                            check=True, capture_output=True, text=True).stdout
    path = os.path.join(tempfile.mkdtemp(), "kbn_numpy_old.py")
    with open(path, "w") as fh:
        fh.write(source)
    spec = importlib.util.spec_from_file_location("kbn_numpy_old", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.sieve_kbn


def slice_below(depth: int, count: int) -> np.ndarray:
    """The `count` largest primes below depth (a window wide enough, then trimmed)."""
    width = int(count * np.log(depth) * 1.3)
    primes = np.concatenate(list(prime_chunks(depth - width, depth)))
    return primes[-count:]


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w, time.process_time() - c, out


def first_call_seconds() -> tuple[float, float]:
    """Seconds for import + first sieve_kbn call in a fresh interpreter: empty numba cache, then cached."""
    code = ("import time; t = time.perf_counter(); from darkreach_pipeline.sieve.kbn import sieve_kbn; "
            "from darkreach_pipeline.sieve.primes import prime_chunks; "
            "sieve_kbn(3, 2, 1, 0, 100, prime_chunks(2, 1000)); print(time.perf_counter() - t)")
    env = dict(os.environ, NUMBA_CACHE_DIR=tempfile.mkdtemp(), PYTHONPATH=ROOT)
    # numba writes its cache next to the module when it can; force the temp dir for both runs.
    runs = [float(subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True,
                                 text=True).stdout) for _ in range(2)]
    return runs[0], runs[1]


def srsieve2_cpu(binary: str, lo_p: int, hi_p: int, shape: tuple[int, int, int] = (K, B, C), n0: int = N0,
                 span: int = SPAN) -> tuple[float, float, int, int]:
    """(wall s, CPU s, primes tested, terms removed) of srsieve2 over primes in (lo_p, hi_p) on every n in
    [n0, n0 + span) of k*b^n+c (shape)."""
    k, b, c = shape
    with tempfile.TemporaryDirectory() as tmp:
        terms = os.path.join(tmp, "terms.txt")
        with open(terms, "w") as fh:
            fh.write(f"ABCD {k}*{b}^$a{c:+d} [{n0}] // Sieved to 3\n" + "1\n" * (span - 1))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        w = time.perf_counter()
        out = subprocess.run([binary, "-i", terms, "-o", os.path.join(tmp, "out.txt"), "-p", str(lo_p),
                              "-P", str(hi_p), "-W", "1"], cwd=tmp, check=True, capture_output=True, text=True)
        wall = time.perf_counter() - w
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    text = out.stdout + out.stderr
    tested = int(re.findall(r"Primes tested: (\d+)", text)[-1])
    removed = int(re.findall(r"Factors found: (\d+)", text)[-1])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, tested, removed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--new-primes", type=int, default=300_000, help="slice size for the numba path")
    ap.add_argument("--old-primes", type=int, default=10_000, help="slice size for the numpy path")
    ap.add_argument("--srsieve2", default=None, help="path to a built srsieve2 (mtsieve)")
    ap.add_argument("--srsieve2-width", type=float, default=0.1, help="srsieve2 prime slice, fraction of D")
    args = ap.parse_args()

    print(f"# bench_sieve_numba  {time.strftime('%Y-%m-%d %H:%M:%S')}  python {platform.python_version()}  "
          f"numpy {np.__version__}  numba {numba.__version__}  cpus {os.cpu_count()}  "
          f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"# {K}*{B}^n+{C}, n in [{N0}, {N0 + SPAN}); primes: the largest below each depth D")
    compile_s, cached_s = first_call_seconds()
    print(f"# first call in a fresh interpreter (import + compile + sieve): {compile_s:.2f} s; "
          f"with the numba cache: {cached_s:.2f} s")
    old = old_sieve_kbn()
    sieve_kbn(K, B, C, N0, N0 + SPAN, [slice_below(10**6, 10)])  # load the kernel before timing

    print()
    print("| D | new primes | new CPU us/prime | new wall us/prime | old primes | old CPU us/prime "
          "| old wall us/prime | new/old (CPU) | srsieve2 primes | srsieve2 CPU us/prime "
          "| srsieve2 wall us/prime | new/srsieve2 (CPU) |")
    print("|" + "---:|" * 12)
    srs_rows: list[str] = []
    for depth in DEPTHS:
        primes = slice_below(depth, args.new_primes)
        nw, nc, new_f = timed(lambda primes=primes: sieve_kbn(K, B, C, N0, N0 + SPAN, [primes]))
        old_slice = primes[-args.old_primes:]
        ow, oc, old_f = timed(lambda s=old_slice: old(K, B, C, N0, N0 + SPAN, [s]))
        check = sieve_kbn(K, B, C, N0, N0 + SPAN, [old_slice])
        assert np.array_equal(check, old_f), f"old and new factor arrays differ at D = {depth}"
        n_us, o_us = nc / len(primes) * 1e6, oc / len(old_slice) * 1e6
        row = (f"| 10^{round(np.log10(depth))} | {len(primes)} | {n_us:.3f} | {nw / len(primes) * 1e6:.3f} "
               f"| {len(old_slice)} | {o_us:.2f} | {ow / len(old_slice) * 1e6:.2f} | {n_us / o_us:.4f}")
        if args.srsieve2:
            lo_p = int(depth * (1 - args.srsieve2_width))
            sw, sc, tested, removed = srsieve2_cpu(args.srsieve2, lo_p, depth)
            same = np.concatenate(list(prime_chunks(lo_p + 1, depth - 1)))  # srsieve2: lo_p < p < depth
            mw, mc, mine = timed(lambda same=same: sieve_kbn(K, B, C, N0, N0 + SPAN, [same]))
            s_us, m_us = sc / tested * 1e6, mc / len(same) * 1e6
            srs_rows.append(f"| 10^{round(np.log10(depth))} | {lo_p}..{depth} | {tested} | {len(same)} "
                            f"| {removed} | {np.count_nonzero(mine)} | {s_us:.3f} | {sw / tested * 1e6:.3f} "
                            f"| {m_us:.3f} | {mw / len(same) * 1e6:.3f} | {m_us / s_us:.2f} |")
            row += f" | {tested} | {s_us:.3f} | {sw / tested * 1e6:.3f} | {n_us / s_us:.2f} |"
        else:
            row += " | - | - | - | - |"
        print(row, flush=True)
    if srs_rows:
        print("\nSame prime slice for both (srsieve2's p range), n values removed must agree:\n")
        print("| D | primes | srsieve2 primes tested | new primes | srsieve2 removed | new removed "
              "| srsieve2 CPU us/prime | srsieve2 wall us/prime | new CPU us/prime | new wall us/prime "
              "| new/srsieve2 (CPU) |")
        print("|" + "---:|" * 11)
        print("\n".join(srs_rows))
    print(f"\n# load after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
