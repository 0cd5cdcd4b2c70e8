"""Importing a sieve file against sieving here: what `darkreach import-sieve` costs a campaign.

Baseline (same run): the product's own sieve of every block of a k*2^n+1 campaign (`blocks.sieve_frame`,
numba BSGS) to the depth, from the blocks' candidate frames (built once: both paths need them). Measured:
reading that campaign's survivors back from a file in each format (parse only), `plan_import` (parse + every
check against the campaign: re-sieve to 2^17, the removed-candidate sample), and the blocks' sieve frames
built from the import. Every import must give exactly the product's own
survivors, or the script stops. Medians over interleaved reps, wall and process CPU time.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_formats.py [--n-max 1000000] [--block-size 100000]
        [--depth 1000000] [--reps 3]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from darkreach_pipeline.blocks import SURVIVOR, candidate_frame, sieve_frame
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.formats import WRITERS, read_sieve_file
from darkreach_pipeline.sieve_import import export_text, plan_import


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-max", type=int, default=1_000_000)
    parser.add_argument("--block-size", type=int, default=100_000)
    parser.add_argument("--depth", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    spec = parse_campaign({"name": "bench", "form": "kbn", "k": 3, "b": 2, "c": 1, "n_min": 1,
                           "n_max": args.n_max, "block_size": args.block_size, "sieve_depth": args.depth})
    folder = Path(tempfile.mkdtemp(prefix="bench-formats-"))

    candidates = [candidate_frame(spec, b) for b in range(spec.block_count)]  # the candidate_ranges stage: common

    def own_sieve():
        return [int(n) for b in range(spec.block_count) for f in [sieve_frame(spec, b, candidates[b])]
                for n in f.loc[f["status"] == SURVIVOR, "n"]]

    survivors = own_sieve()  # warm-up (numba compile), and the survivors every import must give back
    files = {fmt: folder / f"survivors.{fmt}" for fmt in WRITERS}
    for fmt, path in files.items():
        path.write_text(export_text(spec, survivors, fmt, args.depth))

    def imported_frames():
        planned = plan_import(spec, files["abcd"], seed=1)
        return [int(n) for b in planned for f in [sieve_frame(spec, b.block, candidates[b.block], imported=b)]
                for n in f.loc[f["status"] == SURVIVOR, "n"]]

    cases = {"own sieve (baseline)": own_sieve, "plan_import + block frames (abcd)": imported_frames,
             "plan_import only (abcd)": lambda: sum(len(b.survivors) for b in plan_import(spec, files["abcd"], seed=1))}
    for fmt, path in files.items():
        cases[f"parse {fmt}"] = lambda path=path: len(read_sieve_file(path).terms)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
    for rep in range(args.reps):
        for name, fn in cases.items():
            value, wall, cpu = timed(fn)
            if isinstance(value, list) and value != survivors:
                sys.exit(f"{name}: survivors differ from the product's own sieve")
            if isinstance(value, int) and value != len(survivors):
                sys.exit(f"{name}: {value} candidates, expected {len(survivors)}")
            samples[name].append((wall, cpu))
            print(f"rep {rep + 1} {name}: {wall:.2f} s wall, {cpu:.2f} s cpu", file=sys.stderr)
    base_wall = statistics.median(w for w, _ in samples["own sieve (baseline)"])
    base_cpu = statistics.median(c for _, c in samples["own sieve (baseline)"])
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    print(f"# bench_formats  {stamp}  python {platform.python_version()}  reps {args.reps}")
    print(f"# 3*2^n+1, n = 1..{args.n_max}, {spec.block_count} blocks of {args.block_size}, depth {args.depth}: "
          f"{len(survivors)} survivors; file sizes: "
          + ", ".join(f"{fmt} {path.stat().st_size / 1e6:.2f} MB" for fmt, path in files.items()))
    print("\n| case | wall s | cpu s | cpu / own sieve |\n|---|---:|---:|---:|")
    for name, values in samples.items():
        wall = statistics.median(w for w, _ in values)
        cpu = statistics.median(c for _, c in values)
        print(f"| {name} | {wall:.2f} | {cpu:.2f} | {cpu / base_cpu:.3f} |")
    print(f"\n(own sieve baseline: {base_wall:.2f} s wall)")


if __name__ == "__main__":
    main()
