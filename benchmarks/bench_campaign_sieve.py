"""Campaign-wide sieving benchmark (issue #15): one sieve over a 100-block k*2^n+1 campaign against its blocks
sieved one by one, and against srsieve2 over the same whole range, CPU time in one run.

The campaign: 3*2^n+1, n in [N0, N0 + BLOCKS * BLOCK_SIZE), BLOCKS blocks. A BSGS sieve prime costs about the
same at every p of a given size, so the cost per prime near a depth D is measured on a slice of the primes just
below D (all primes below 10^9 would take hours per block sieve) and the totals are extrapolated with pi(D):

- per block: what each block's sieve_survivors does without a campaign sieve, form.sieve over its own range with
  the slice's primes, block after block;
- campaign:  darkreach_pipeline.campaign_sieve.deepen from rows at the slice's start to its end (every n a
  survivor there: the BSGS cost does not depend on how many survive), i.e. one sieve over all blocks plus the
  slicing into per-block rows, as `darkreach sieve` runs it;
- srsieve2 (--srsieve2 PATH, mtsieve): every n of the whole range over the same primes, one worker; its CPU
  time is the child process's rusage (its own prime generation included, ours excluded).

Per-block and campaign survivors and factors must be identical (the script stops otherwise); srsieve2 must
remove the same number of n.

Run:  PYTHONPATH=. .venv/bin/python benchmarks/bench_campaign_sieve.py [--srsieve2 /tmp/mtsieve/srsieve2]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time

import numpy as np

from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.campaign_sieve import deepen
from darkreach_pipeline.forms import form_for
from darkreach_pipeline.sieve.primes import prime_chunks
from darkreach_pipeline.stores.sieve_imports import CAMPAIGN_SIEVE_FORMAT, ImportedBlock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_sieve_numba import srsieve2_cpu  # noqa: E402

K, B, C = 3, 2, 1
N0 = 1_000_000


def cpu(fn):
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.process_time() - c0, time.perf_counter() - w0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--blocks", type=int, default=100)
    ap.add_argument("--block-size", type=int, default=1000)
    ap.add_argument("--depth", type=int, default=10**9, help="the depth D the slice ends at")
    ap.add_argument("--width", type=int, default=4_000_000, help="the slice: primes in (D - width, D]")
    ap.add_argument("--srsieve2", default=None, help="path to a built srsieve2 (mtsieve)")
    args = ap.parse_args()
    span = args.blocks * args.block_size
    spec = parse_campaign({"name": "bench", "form": "kbn", "k": K, "b": B, "c": C, "n_min": N0,
                           "n_max": N0 + span - 1, "block_size": args.block_size, "sieve_depth": 1000})
    form = form_for(spec)
    lo_p, hi_p = args.depth - args.width, args.depth
    primes = np.concatenate(list(prime_chunks(lo_p + 1, hi_p)))
    print(f"# bench_campaign_sieve  {time.strftime('%Y-%m-%d %H:%M:%S')}  python {platform.python_version()}  "
          f"cpus {os.cpu_count()}  load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"# {K}*{B}^n{C:+d}, n in [{N0}, {N0 + span}): {args.blocks} blocks of {args.block_size}; "
          f"{len(primes)} primes in ({lo_p}, {hi_p}]")
    form.sieve(N0, N0 + 10, [primes[:10]])  # load the kernel before timing

    def per_block():
        return [form.sieve(*spec.block_range(b), [primes]) for b in range(spec.block_count)]

    start_rows = {b: ImportedBlock(spec.name, b, CAMPAIGN_SIEVE_FORMAT, "bench", "0" * 64, lo_p,
                                   np.arange(*spec.block_range(b), dtype=np.int64), {})
                  for b in range(spec.block_count)}
    pb_cpu, pb_wall, pb = cpu(per_block)
    cs_cpu, cs_wall, rows = cpu(lambda: deepen(spec, hi_p, start_rows, set()))
    for row, factors in zip(rows, pb, strict=True):
        lo = spec.block_range(row.block)[0]
        alone = {lo + i: int(p) for i, p in enumerate(factors.tolist()) if p}
        if row.factors != alone or set(row.survivors.tolist()) & set(alone):
            sys.exit(f"block {row.block}: the campaign sieve and the block sieve disagree")
    removed = sum(len(r.factors) for r in rows)
    pi_d = hi_p / (math.log(hi_p) - 1)  # pi(D), within 0.1% at 10^9
    print("\n| sieve | CPU s | wall s | CPU us/prime | removed | CPU vs campaign | extrapolated CPU h to D "
          "(pi(D) primes) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, c, w in (("per block", pb_cpu, pb_wall), ("campaign (deepen)", cs_cpu, cs_wall)):
        print(f"| {name} | {c:.2f} | {w:.2f} | {c / len(primes) * 1e6:.3f} | {removed} | {c / cs_cpu:.2f}x | "
              f"{c / len(primes) * pi_d / 3600:.2f} |")
    if args.srsieve2:
        sw, sc, tested, srs_removed = srsieve2_cpu(args.srsieve2, lo_p, hi_p + 1, (K, B, C), N0, span)
        same = "same" if srs_removed == removed else f"DIFFERENT ({removed} here)"
        print(f"| srsieve2 ({tested} primes) | {sc:.2f} | {sw:.2f} | {sc / tested * 1e6:.3f} | {srs_removed} "
              f"({same}) | {sc / cs_cpu:.2f}x | {sc / tested * pi_d / 3600:.2f} |")
        print(f"\ncampaign / srsieve2 (CPU per prime): {(cs_cpu / len(primes)) / (sc / tested):.2f}")
    print(f"per block / campaign (CPU): {pb_cpu / cs_cpu:.1f}x; survivors and factors identical")
    print(f"# load after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
