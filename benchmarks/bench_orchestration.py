"""Orchestration cost of a fresh campaign of small blocks: `darkreach run` one block per run (before: the old
default) against the automatic blocks per run (after), each on a fresh DARKREACH_HOME.

Orchestration = CPU time of the whole command (its process and its worker processes) minus the CPU time of the
bare engine doing the same work in this process (candidates, sieve, tests, certificates of every block),
measured in the same run; also wall time. Modes are interleaved over --reps and the medians printed, with the
ratio before / after.

Usage: PYTHONPATH=. python benchmarks/bench_orchestration.py [--n-max 3000] [--block-size 250] [--workers 2]
       [--reps 2]
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from darkreach_pipeline import blocks
from darkreach_pipeline.campaign import parse_campaign

ROOT = Path(__file__).resolve().parents[1]


def bare_cpu(spec) -> float:
    """CPU seconds of the engine alone on every block (what any launcher must spend)."""
    start = time.process_time()
    for block in range(spec.block_count):
        sieved = blocks.sieve_frame(spec, block, blocks.candidate_frame(spec, block))
        blocks.certificate_frame(spec, blocks.test_frame(spec, block, sieved))
    return time.process_time() - start


def darkreach_run(toml: Path, workers: int, extra: list[str]) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the command and its children, its first line) on a fresh home."""
    home = Path(tempfile.mkdtemp(prefix="bench-orchestration-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DARKREACH_") and k != "DAGSTER_HOME"}
    env["DARKREACH_HOME"] = str(home)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "darkreach_pipeline.cli", "run", str(toml), "--workers",
                           str(workers), *extra], env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout.splitlines()[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-max", type=int, default=3000)
    parser.add_argument("--block-size", type=int, default=250)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reps", type=int, default=2)
    args = parser.parse_args()
    fields = {"name": "bench", "form": "kbn", "k": 3, "b": 2, "c": 1, "n_min": 1, "n_max": args.n_max,
              "block_size": args.block_size, "sieve_depth": "auto"}
    spec = parse_campaign(fields)
    toml = Path(tempfile.mkdtemp()) / "bench.toml"
    toml.write_text("".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in fields.items()))
    modes = {"before: one block per run": ["--blocks-per-run", "1"], "after: automatic": []}
    measured: dict[str, list[tuple[float, float]]] = {m: [] for m in modes}
    bare = []
    for rep in range(args.reps):
        bare.append(bare_cpu(spec))
        for mode, extra in modes.items():
            wall, cpu, first = darkreach_run(toml, args.workers, extra)
            measured[mode].append((wall, cpu))
            print(f"rep {rep + 1} {mode}: wall {wall:.1f} s, cpu {cpu:.1f} s ({first})", file=sys.stderr)
    engine = statistics.median(bare)
    print(f"campaign: 3*2^n+1, n = 1..{args.n_max}, {spec.block_count} blocks of {args.block_size}, sieve depth "
          f"{spec.sieve_depth}; `darkreach run --workers {args.workers}` on a fresh home; medians of {args.reps}")
    print(f"bare engine CPU (sieve, tests, certificates): {engine:.2f} s\n")
    print("| mode | wall s | CPU s | orchestration CPU s (CPU - bare) | per block s |")
    print("|---|---:|---:|---:|---:|")
    summary = {}
    for mode in modes:
        wall = statistics.median(w for w, _ in measured[mode])
        cpu = statistics.median(c for _, c in measured[mode])
        summary[mode] = (wall, cpu - engine)
        print(f"| {mode} | {wall:.1f} | {cpu:.1f} | {cpu - engine:.1f} | {(cpu - engine) / spec.block_count:.2f} |")
    (wall_0, over_0), (wall_1, over_1) = summary.values()
    print(f"\nratio before / after: wall {wall_0 / wall_1:.2f}x, orchestration CPU {over_0 / over_1:.2f}x")


if __name__ == "__main__":
    main()
