"""`darkreach run` with and without its campaign-wide sieve first: the CPU of whole commands, in one run.

Each command is `darkreach run FILE --workers 1` in a fresh DARKREACH_HOME, once with `--campaign-sieve` (one
campaign_sieve run to the campaign's depth, then the blocks) and once with `--no-campaign-sieve` (each block sieves
itself), alternating, REPEATS times. CPU is the rusage of the command and its worker processes (RUSAGE_CHILDREN
deltas), so it holds on a loaded machine where wall times do not. The primes and every block's survivors must be
identical in both modes (the script stops otherwise).

- On a small campaign (the default: the tests' size, depth 10^3, where the sieve itself costs microseconds) the
  difference is what the extra Dagster run costs `darkreach run`: the basis of campaign_sieve.SIEVE_RUN_SECONDS.
- In-process (--in-process N): the CPU of N calls of cli.campaign_sieve_run itself, each on a fresh small
  campaign in one fresh home, as `darkreach run` makes it (the parent process has the instance open already).
- On a larger one (--n-min 20000 --blocks 8 --block-size 1000 --depth 100000000) the saving is the block sieves'.

Run:  PYTHONPATH=. .venv/bin/python benchmarks/bench_run_campaign_sieve.py [--repeats 3] [--n-min ... --depth ...]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.campaign_sieve import SieveState, sieve_seconds_saved
from darkreach_pipeline.stores.results import read_stage_checked

REPO = Path(__file__).resolve().parent.parent


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(campaign: Path, home: Path, flag: str) -> tuple[float, float, str]:
    """CPU and wall seconds of one `darkreach run`, and its output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DARKREACH_", "DAGSTER_"))}
    env.update(DARKREACH_HOME=str(home), PYTHONPATH=str(REPO))
    c0, w0 = children_cpu(), time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "darkreach_pipeline.cli", "run", str(campaign), "--workers", "1",
                           flag], env=env, cwd=home, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{flag}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-3000:]}")
    return children_cpu() - c0, time.perf_counter() - w0, proc.stdout


def stored(home: Path, name: str, asset: str, columns: list[str]) -> pd.DataFrame:
    frame, damaged = read_stage_checked(str(home / "data"), asset, campaign=name)
    if damaged:
        sys.exit(f"damaged: {damaged}")
    return frame[columns].sort_values("n").reset_index(drop=True)


def in_process_cpu(tmp: Path, fields: dict, calls: int) -> list[tuple[float, float]]:
    """CPU and wall seconds of each campaign_sieve_run call (one small campaign each), in this process."""
    os.environ["DARKREACH_HOME"] = str(tmp / "in-process")
    from darkreach_pipeline import cli

    instance = cli._instance()
    out = []
    for i in range(calls):
        spec = parse_campaign({**fields, "name": f"inproc{i}"})
        cli.register(spec, instance)
        start, wall = time.process_time(), time.perf_counter()
        if cli.campaign_sieve_run(instance, spec.partition_keys(), spec.sieve_depth) is None:
            sys.exit("the in-process campaign sieve failed")
        out.append((time.process_time() - start, time.perf_counter() - wall))
    return out


def compare_commands(fields: dict, repeats: int) -> None:
    """`darkreach run` both ways, alternating, `repeats` times each: CPU per command, identical results."""
    times: dict[str, list[tuple[float, float]]] = {"--campaign-sieve": [], "--no-campaign-sieve": []}
    with tempfile.TemporaryDirectory(prefix="bench-run-sieve-") as tmp:
        campaign = Path(tmp) / "bench.toml"
        campaign.write_text("".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in fields.items()))
        results = {}
        for repeat in range(repeats):
            for flag in times:
                home = Path(tmp) / f"{flag.strip('-')}-{repeat}"
                home.mkdir()
                cpu, wall, out = run(campaign, home, flag)
                if (flag == "--campaign-sieve") != ("campaign sieve first:" in out):
                    sys.exit(f"{flag}: unexpected output\n{out}")
                times[flag].append((cpu, wall))
                results[flag] = (stored(home, "bench", "sieve_survivors", ["n", "status", "factor"]),
                                 stored(home, "bench", "prp_results", ["n", "result", "res64"]))
        first_frames, alone_frames = results["--campaign-sieve"], results["--no-campaign-sieve"]
        if not all(a.equals(b) for a, b in zip(first_frames, alone_frames, strict=True)):
            sys.exit("survivors, factors or residues differ between the two modes")
    print("| darkreach run | CPU s (each run) | median CPU s | median wall s |")
    print("|---|---|---:|---:|")
    medians = {}
    for flag, rows in times.items():
        cpus, walls = sorted(c for c, _ in rows), sorted(w for _, w in rows)
        medians[flag] = cpus[len(cpus) // 2]
        print(f"| {flag} | {', '.join(f'{c:.2f}' for c, _ in rows)} | {medians[flag]:.2f} | "
              f"{walls[len(walls) // 2]:.2f} |")
    first, alone = medians["--campaign-sieve"], medians["--no-campaign-sieve"]
    print(f"\ncampaign sieve first - block by block (median CPU): {first - alone:+.2f} s ({first / alone:.2f}x); "
          "survivors, factors, residues identical")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-min", type=int, default=1)
    ap.add_argument("--blocks", type=int, default=4)
    ap.add_argument("--block-size", type=int, default=120)
    ap.add_argument("--depth", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--in-process", type=int, default=0, help="also time this many campaign_sieve_run calls")
    args = ap.parse_args()
    fields = {"name": "bench", "form": "kbn", "k": 5, "b": 2, "c": -1, "n_min": args.n_min,
              "n_max": args.n_min + args.blocks * args.block_size - 1, "block_size": args.block_size,
              "sieve_depth": args.depth}
    spec = parse_campaign(fields)
    print(f"# bench_run_campaign_sieve  {time.strftime('%Y-%m-%d %H:%M:%S')}  python {platform.python_version()}  "
          f"cpus {os.cpu_count()}  load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"# 5*2^n-1, n in [{fields['n_min']}, {fields['n_max']}]: {spec.block_count} blocks of {args.block_size}, "
          f"depth {args.depth:,}; model's saving {sieve_seconds_saved(SieveState(spec, {}, set()), args.depth):.3f}"
          " s of sieve CPU\n")
    if args.repeats:
        compare_commands(fields, args.repeats)
    if args.in_process:
        with tempfile.TemporaryDirectory(prefix="bench-run-sieve-") as tmp:
            calls = in_process_cpu(Path(tmp), fields, args.in_process)
        print(f"in-process campaign_sieve_run per call, CPU s: {', '.join(f'{c:.2f}' for c, _ in calls)}; "
              f"wall s: {', '.join(f'{w:.2f}' for _, w in calls)}")
    print(f"# load after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
