"""End-to-end cost of running tests through Dagster, against the bare engine on the same survivors.

1. bare: sieve each block with the engine and time KbnForm.test on every survivor, in this process
   (the baseline, measured in this run before and after step 2, averaged).
2. pipeline, 1 worker: `darkreach run --workers 1` on a fresh DARKREACH_HOME; from the Dagster
   instance: run durations, prp_results step durations, and the engine seconds recorded per test.
3. pipeline, 2 workers: `darkreach run --workers 2` on another fresh home: wall time.

Prints: PRP throughput of the pipeline relative to the bare engine (target >= 0.95), orchestration
overhead per block in seconds and as a share of test time (target < 1% for n >= 10,000), the
block size at which that overhead falls under 5%, and the 2-worker speed-up (target >= 1.8).

Usage: PYTHONPATH=. python benchmarks/bench_pipeline.py [--n-min 10000] [--blocks 4] [--block-size 400]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from darkreach_pipeline import blocks
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.forms import form_for

ROOT = Path(__file__).resolve().parents[1]


def campaign(args) -> dict:
    return dict(name="bench", form="kbn", k=3, b=2, c=1, n_min=args.n_min,
                n_max=args.n_min + args.blocks * args.block_size - 1, block_size=args.block_size,
                sieve_depth=args.depth)


def bare(spec) -> tuple[float, int]:
    form = form_for(spec)
    seconds, tests = 0.0, 0
    for block in range(spec.block_count):
        sieved = blocks.sieve_frame(spec, block, blocks.candidate_frame(spec, block))
        for n in sieved.loc[sieved["status"] == blocks.SURVIVOR, "n"].astype(int):
            start = time.perf_counter()
            form.test(int(n))
            seconds += time.perf_counter() - start
            tests += 1
    return seconds, tests


def pipeline(toml: Path, workers: int) -> tuple[float, Path]:
    home = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    env = {**os.environ, "DARKREACH_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "darkreach_pipeline.cli", "run", str(toml), "--workers", str(workers)],
                   env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, home


def run_stats(home: Path) -> dict[str, float]:
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    from dagster import DagsterInstance

    from darkreach_pipeline.stores.results import read_stage

    instance = DagsterInstance.get()
    runs = [r for r in instance.get_runs() if r.job_name == "campaign_job"]
    run_seconds = prp_steps = sieve_steps = 0.0
    for run in runs:
        stats = instance.get_run_stats(run.run_id)
        run_seconds += stats.end_time - stats.start_time
        for step in instance.get_run_step_stats(run.run_id):
            if step.step_key == "prp_results":
                prp_steps += step.end_time - step.start_time
            if step.step_key == "sieve_survivors":
                sieve_steps += step.end_time - step.start_time
    results = read_stage(str(home / "data"), "prp_results")
    return {"blocks": len(runs), "run_seconds": run_seconds, "prp_steps": prp_steps, "sieve_steps": sieve_steps,
            "engine_test_seconds": float(results["seconds"].sum()), "tests": len(results)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-min", type=int, default=10000)
    parser.add_argument("--blocks", type=int, default=4)
    parser.add_argument("--block-size", type=int, default=400)
    parser.add_argument("--depth", type=int, default=200_000)
    args = parser.parse_args()
    fields = campaign(args)
    spec = parse_campaign(fields)
    toml = Path(tempfile.mkdtemp()) / "bench.toml"
    toml.write_text("".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in fields.items()))

    # The bare engine is measured before and after the 1-worker pipeline and averaged: the machine's
    # speed drifts over minutes, and a single bare phase first biased the ratio.
    before, bare_tests = bare(spec)
    wall_1, home_1 = pipeline(toml, 1)
    after, _ = bare(spec)
    bare_seconds = (before + after) / 2
    wall_2, _ = pipeline(toml, 2)
    stats = run_stats(home_1)
    assert stats["tests"] == bare_tests, "pipeline and bare engine tested different survivors"

    compute = stats["engine_test_seconds"] + stats["sieve_steps"]
    overhead = stats["run_seconds"] - compute
    per_block = overhead / stats["blocks"]
    per_test = stats["engine_test_seconds"] / stats["tests"]
    survivors_per_n = stats["tests"] / (spec.axis_max - spec.axis_min + 1)
    block_for_5pct = per_block / (0.05 * per_test * survivors_per_n)
    print(f"campaign: 3*2^n+1, n = {spec.axis_min}..{spec.axis_max}, {spec.block_count} blocks of "
          f"{spec.block_size}, sieve depth {spec.sieve_depth}, {bare_tests} tests")
    print("| measure | value |")
    print("|---|---:|")
    print(f"| bare engine, sum of test seconds (before / after the pipeline) | {before:.2f} / {after:.2f} s |")
    print(f"| pipeline (1 worker): prp_results step seconds | {stats['prp_steps']:.2f} s |")
    print(f"| PRP throughput, pipeline / bare (target >= 0.95) | {bare_seconds / stats['prp_steps']:.3f} |")
    print(f"| engine seconds inside the pipeline / bare | {stats['engine_test_seconds'] / bare_seconds:.3f} |")
    print(f"| run seconds, all blocks (1 worker) | {stats['run_seconds']:.2f} s |")
    print(f"| orchestration per block (run - sieve - tests) | {per_block:.2f} s |")
    print(f"| orchestration / test time | {100 * overhead / stats['engine_test_seconds']:.1f} % |")
    print(f"| block size (n values) for overhead < 5% at this n | {block_for_5pct:,.0f} |")
    print(f"| wall, `darkreach run --workers 1` | {wall_1:.2f} s |")
    print(f"| wall, `darkreach run --workers 2` | {wall_2:.2f} s |")
    print(f"| speed-up on 2 cores (target >= 1.8) | {wall_1 / wall_2:.2f} |")


if __name__ == "__main__":
    main()
