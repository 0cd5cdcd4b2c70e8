"""GPU against CPU on the same host: per squaring at 100k / 1M / 4M bits (k*2^n+1), a whole GFN test, and the
k*b^n+c sieve. Every result is checked (squarings bit-exact against gmpy2 and between the two paths, GFN RES64
equal, sieve factors identical); ratios are CPU time / GPU time measured in this run.

    python benchmarks/gpu/bench_gpu.py --out DIR [--quick] [--bits 100000 ...] [--sieve-depth N]

Writes DIR/bench_gpu.json and prints a table (benchmarks/gpu/run_on_device.sh runs it on a GPU host)."""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import gmpy2
import numpy as np
from gmpy2 import mpz

from darkreach_pipeline.arith.array_module import device_array_module
from darkreach_pipeline.arith.gfn import GfnArithmetic
from darkreach_pipeline.arith.ibdwt import IBDWTArithmetic
from darkreach_pipeline.arith.xp_fft import DeviceGfnArithmetic, DeviceIBDWTArithmetic
from darkreach_pipeline.primality.outcome import res64
from darkreach_pipeline.sieve.kbn import sieve_kbn
from darkreach_pipeline.sieve.primes import prime_chunks

# (bits of n, CPU squarings timed, GPU squarings timed); the checked run uses the CPU count on both.
SQUARING_SIZES = [(100_000, 300, 2000), (1_000_000, 30, 500), (4_000_000, 8, 200)]


def timed(fn, *args):
    t = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - t


def squarings(xp, sizes: list[tuple[int, int, int]]) -> list[dict]:
    rows = []
    for n, cpu_count, gpu_count in sizes:
        k, c = 3, 1
        cpu, gpu = IBDWTArithmetic(k, n, c), DeviceIBDWTArithmetic(k, n, c, xp)
        N = cpu.N
        x = mpz(7) ** 5001 % N
        expected, gmp_s = timed(gmpy2.powmod, x, mpz(1) << cpu_count, N)
        cpu.square_chain(x, 3)  # warm-up: FFTW plans
        gpu.square_chain(x, 3)  # warm-up: cuFFT plans, kernels
        got_cpu, cpu_s = timed(cpu.square_chain, x, cpu_count)
        got_gpu, _ = timed(gpu.square_chain, x, cpu_count)
        _, gpu_s = timed(gpu.square_chain, x, gpu_count)
        row = {"bits": n, "cpu_fft_length": cpu.L, "gpu_fft_length": gpu.L, "cpu_backend": cpu.backend.name,
               "cpu_us_per_squaring": 1e6 * cpu_s / cpu_count, "gpu_us_per_squaring": 1e6 * gpu_s / gpu_count,
               "gmp_us_per_squaring": 1e6 * gmp_s / cpu_count,
               "bit_exact": bool(got_cpu == expected and got_gpu == expected),
               "gpu_max_roe": gpu.stats.max_roe, "cpu_max_roe": cpu.stats.max_roe}
        row["speedup"] = row["cpu_us_per_squaring"] / row["gpu_us_per_squaring"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def gfn_test(xp, quick: bool) -> dict:
    b, m = (1030, 10) if quick else (1030, 12)
    cpu, gpu = GfnArithmetic(b, m), DeviceGfnArithmetic(b, m, xp)
    N = cpu.N
    gpu.fermat_power(3, 10**20)  # warm-up
    r_cpu, cpu_s = timed(cpu.fermat_power, 3, N - 1)
    r_gpu, gpu_s = timed(gpu.fermat_power, 3, N - 1)
    r_gmp, gmp_s = timed(gmpy2.powmod, 3, N - 1, N)
    row = {"gfn": f"{b}^(2^{m})+1", "bits": int(N.bit_length()), "cpu_s": cpu_s, "gpu_s": gpu_s, "gmp_s": gmp_s,
           "res64_cpu": res64(r_cpu), "res64_gpu": res64(r_gpu), "res64_gmp": res64(r_gmp),
           "bit_exact": bool(r_cpu == r_gpu == r_gmp), "speedup": cpu_s / gpu_s}
    print(json.dumps(row), flush=True)
    return row


def sieve(xp, depth: int) -> dict:
    k, b, c, lo, span = 3, 2, -1, 1_000_000, 10_000
    primes = np.concatenate(list(prime_chunks(2, depth)))
    sieve_kbn(k, b, c, lo, lo + 100, [primes[:1000]])  # compile the CPU kernel
    sieve_kbn(k, b, c, lo, lo + 100, [primes[:1000]], xp=xp)
    cpu, cpu_s = timed(sieve_kbn, k, b, c, lo, lo + span, [primes])
    gpu, gpu_s = timed(lambda: sieve_kbn(k, b, c, lo, lo + span, [primes], xp=xp))
    row = {"sieve": f"{k}*{b}^n{c:+d}, n in [{lo}, {lo + span}), primes < {depth}", "primes": len(primes),
           "cpu_s": cpu_s, "gpu_s": gpu_s, "cpu_primes_per_s": len(primes) / cpu_s,
           "gpu_primes_per_s": len(primes) / gpu_s, "survivors": int((cpu == 0).sum()),
           "identical": bool(np.array_equal(cpu, gpu)), "speedup": cpu_s / gpu_s}
    print(json.dumps(row), flush=True)
    return row


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a first look, ~1 min)")
    parser.add_argument("--bits", type=int, nargs="+", help="squaring sizes (default 100000 1000000 4000000)")
    parser.add_argument("--sieve-depth", type=int, help="sieve primes below this (default 2e7, quick 2e6)")
    args = parser.parse_args()
    sizes = [row for row in SQUARING_SIZES if args.bits is None or row[0] in args.bits]
    sizes += [(n, 20, 50) for n in args.bits or [] if n not in {row[0] for row in SQUARING_SIZES}]
    if args.quick and args.bits is None:
        sizes = sizes[:2]
    xp = device_array_module()
    device = xp.cuda.runtime.getDeviceProperties(0)["name"].decode() if xp is not np else "numpy (CPU)"
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "device": device,
              "host": platform.node(), "python": sys.version.split()[0]}
    print(json.dumps(result), flush=True)
    result["squarings"] = squarings(xp, sizes)
    result["gfn_test"] = gfn_test(xp, args.quick)
    result["sieve"] = sieve(xp, args.sieve_depth or (2_000_000 if args.quick else 20_000_000))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_gpu.json").write_text(json.dumps(result, indent=1))
    ok = all(r["bit_exact"] for r in result["squarings"]) and result["gfn_test"]["bit_exact"] and \
        result["sieve"]["identical"]
    print("all results exact" if ok else "MISMATCH: a GPU result differs", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
