"""Cost of Gerbicz error checking and in-test checkpoints against the bare special-form loop.

For N = k*2^n+1 (sieved k), interleaved repetitions of:
  bare     SpecialModulus.square_chain from 3^K, n squarings (the baseline, measured in this run)
  checked  GerbiczChain with checks (default L, one forced check at the end)
  ckpt     the same plus a checkpoint hook that forces a check and saves state every 60 s
Prints seconds (median) and ratios checked/bare, ckpt/bare. Target: <= 1.01.

Usage: PYTHONPATH=. python benchmarks/bench_gerbicz.py [--sizes 10000 50000 100000] [--reps 3]
"""

import argparse
import statistics
import tempfile
import time

import gmpy2
from gmpy2 import mpz

from benchmarks.candidates import sieved_k
from darkreach_pipeline.checkpoint_policy import BlockCheckpointer
from darkreach_pipeline.primality.gerbicz import GerbiczChain, Reducer
from darkreach_pipeline.primality.special_form import SpecialModulus


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 50000, 100000])
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    print("| n | k | L | bare s | checked s | ckpt s | checked/bare | ckpt/bare |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.sizes:
        k = sieved_k(n)
        N = (mpz(k) << n) + 1
        reducer = Reducer(N, k, n, 1)
        times: dict[str, list[float]] = {"bare": [], "checked": [], "ckpt": []}
        results = set()
        with tempfile.TemporaryDirectory() as tmp:
            from darkreach_pipeline.stores.checkpoints import FileCheckpointStore

            for _ in range(args.reps):
                t = time.perf_counter()
                results.add(SpecialModulus(k, n, 1).square_chain(gmpy2.powmod(3, k, N), n))
                times["bare"].append(time.perf_counter() - t)

                t = time.perf_counter()
                chain = GerbiczChain(reducer, 3, k, n)
                results.add(chain.run())
                times["checked"].append(time.perf_counter() - t)

                ck = BlockCheckpointer(FileCheckpointStore(tmp), "bench/000000", "f" * 16, 0, b"b" * 32,
                                       every_seconds=60)
                t = time.perf_counter()
                results.add(GerbiczChain(reducer, 3, k, n).run(**ck.chain_hooks(n)))
                times["ckpt"].append(time.perf_counter() - t)
        assert len(results) == 1, "checked and bare residues differ"
        med = {name: statistics.median(v) for name, v in times.items()}
        print(f"| {n} | {k} | {chain.L} | {med['bare']:.3f} | {med['checked']:.3f} | {med['ckpt']:.3f} | "
              f"{med['checked'] / med['bare']:.4f} | {med['ckpt'] / med['bare']:.4f} |", flush=True)


if __name__ == "__main__":
    main()
