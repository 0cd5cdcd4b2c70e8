"""The pipeline on FFT arithmetic against the same pipeline with GMP forced, and the cost of finding a prime.

1. campaign: `darkreach run --workers 1` of 3*2^n+1 over n = N_MIN.. (default 100,000..100,199, one block) on
   fresh DARKREACH_HOMEs, once with DARKREACH_ARITH=fft and once with DARKREACH_ARITH=gmp. From prp_results:
   the summed engine seconds of every test (same survivors, same RES64 asserted), and the arithmetic each row
   records. Target: GMP / FFT >= 3.
2. prime: `darkreach run` of a campaign holding only the known prime 3*2^PRIME_N+1 (default 157169, OEIS A002253)
   on the FFT, against a bare FFT chain and a bare GMP special-form chain of the same n squarings measured in this
   process: the whole path (Fermat chain, Proth chain, the independent verifier) in units of those chains.

CPU time is not separable per subprocess here, so wall times are used; the machine should be otherwise idle.
Usage: PYTHONPATH=. python benchmarks/bench_fft_pipeline.py [--n-min 100000] [--count 200] [--prime-n 157169]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import gmpy2
from gmpy2 import mpz

from darkreach_pipeline.arith.gmp import GMPArithmetic
from darkreach_pipeline.arith.ibdwt import IBDWTArithmetic

ROOT = Path(__file__).resolve().parents[1]


def write_campaign(name: str, n_min: int, n_max: int, depth: str) -> Path:
    toml = Path(tempfile.mkdtemp(prefix="bench-fft-")) / f"{name}.toml"
    toml.write_text(f'name = "{name}"\nform = "kbn"\nk = 3\nb = 2\nc = 1\nn_min = {n_min}\nn_max = {n_max}\n'
                    f"block_size = {n_max - n_min + 1}\nsieve_depth = {depth}\n")
    return toml


def run(toml: Path, arith: str):
    """(wall seconds, prp_results, certificates) of `darkreach run --workers 1` with the arithmetic forced."""
    home = Path(tempfile.mkdtemp(prefix="bench-fft-home-"))
    env = {**os.environ, "DARKREACH_HOME": str(home), "DARKREACH_ARITH": arith}
    env.pop("DAGSTER_HOME", None)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "darkreach_pipeline.cli", "run", str(toml), "--workers", "1"],
                   env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    from darkreach_pipeline.stores.results import read_stage

    return wall, read_stage(str(home / "data"), "prp_results"), read_stage(str(home / "data"), "certificates")


def bare_chains(n: int) -> tuple[float, float]:
    """Seconds of n squarings of 3^3 mod 3*2^n+1: the weighted FFT, and GMP's special-form loop."""
    N = (mpz(3) << n) + 1
    x = gmpy2.powmod(3, 3, N)
    times = []
    for arith in (IBDWTArithmetic(3, n, 1), GMPArithmetic(N, 3, n, 1)):
        start = time.process_time()
        arith.square_chain(x, n)
        times.append(time.process_time() - start)
    return times[0], times[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-min", type=int, default=100_000)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--depth", default='"auto"')
    parser.add_argument("--prime-n", type=int, default=157169)
    parser.add_argument("--skip-prime", action="store_true")
    args = parser.parse_args()

    toml = write_campaign("fftbench", args.n_min, args.n_min + args.count - 1, args.depth)
    wall_fft, fft, _ = run(toml, "fft")
    wall_gmp, gmp, _ = run(toml, "gmp")
    fft, gmp = fft.sort_values("n").reset_index(drop=True), gmp.sort_values("n").reset_index(drop=True)
    assert fft["n"].tolist() == gmp["n"].tolist(), "the two runs tested different survivors"
    assert fft["res64"].tolist() == gmp["res64"].tolist(), "a RES64 differs between the arithmetics"
    print(f"campaign 3*2^n+1, n = {args.n_min}..{args.n_min + args.count - 1}, {len(fft)} tests, "
          f"arithmetics recorded: FFT run {sorted(set(fft['arithmetic']))}, GMP run {sorted(set(gmp['arithmetic']))}")
    print("| measure | FFT | GMP forced | GMP / FFT |")
    print("|---|---:|---:|---:|")
    print(f"| engine test seconds, all tests | {fft['seconds'].sum():.1f} | {gmp['seconds'].sum():.1f} | "
          f"{gmp['seconds'].sum() / fft['seconds'].sum():.2f} |")
    print(f"| wall, darkreach run --workers 1 | {wall_fft:.1f} | {wall_gmp:.1f} | {wall_gmp / wall_fft:.2f} |")
    print(f"| max round-off of any test | {fft['max_roundoff'].max():.4f} | - | - |")
    if args.skip_prime:
        return
    n = args.prime_n
    wall, results, certificates = run(write_campaign("fftprime", n, n, "1000000"), "auto")
    fft_chain, gmp_chain = bare_chains(n)
    assert len(certificates) == 1 and certificates["status"].iloc[0] == "proven", "the known prime was not proven"
    test_seconds = float(results["seconds"].sum())
    print(f"\nprime 3*2^{n}+1: proven; arithmetic {results['arithmetic'].iloc[0]}")
    print("| measure | seconds | in FFT chains | in GMP chains |")
    print("|---|---:|---:|---:|")
    print(f"| bare FFT chain ({n} squarings, CPU) | {fft_chain:.1f} | 1.00 | {fft_chain / gmp_chain:.2f} |")
    print(f"| bare GMP special-form chain (CPU) | {gmp_chain:.1f} | {gmp_chain / fft_chain:.2f} | 1.00 |")
    print(f"| test (Fermat + Proth, engine seconds) | {test_seconds:.1f} | {test_seconds / fft_chain:.2f} | "
          f"{test_seconds / gmp_chain:.2f} |")
    print(f"| whole darkreach run (test, verifier, Dagster; wall) | {wall:.1f} | {wall / fft_chain:.2f} | "
          f"{wall / gmp_chain:.2f} |")


if __name__ == "__main__":
    main()
