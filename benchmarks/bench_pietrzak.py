"""Pietrzak proofs: what proving adds to a test, and what verifying costs, as ratios to the same test in the same run.

For each arithmetic (GMP forced, FFT forced: DARKREACH_ARITH) and each size (default 3*2^n+1 at n = 50k, 100k,
200k: the x -> x^2 chain of kbn, Cullen/Woodall, twins...; and one Gerbicz-Li chain, Wagstaff (2^p+1)/3, whose
proof has digits), per rep and interleaved:

  plain     form.test(value): the test as it ran before proofs
  proving   form.test(value) with a ProofRecorder: residues kept every T/2^p steps + the proof at the end
  prove     the proof alone (the recorder's finish, timed inside the run above)
  verify    pietrzak_verify.verify_prp_proof on the proof (independent verifier, gmpy2.powmod arithmetic)

Times are process CPU seconds (the machines are shared; wall time varies by +-30% under load). The table gives
medians, the overhead (proving/plain - 1), prove/plain and verify/plain, p (choose_power) and the
proof size; the residue of every run is checked against the plain test's and every proof must verify. Memory of the
kept residues: 2^p residues of bits/8 bytes (computed for 1.3M bits, p = 8, at the end).

Run:  PYTHONPATH=. .venv/bin/python benchmarks/bench_pietrzak.py [--sizes 50000 100000 200000] [--reps 2]
      [--arith gmp fft] [--wagstaff 50021]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import gmpy2

from darkreach_pipeline.forms import KbnForm, WagstaffForm
from darkreach_pipeline.primality.options import TestOptions
from darkreach_pipeline.proofs.pietrzak import ProofRecorder, choose_power
from darkreach_pipeline.proofs.pietrzak_verify import verify_prp_proof


class TimedRecorder(ProofRecorder):
    """A ProofRecorder that times its own proof (the tree evaluation and hashing at the chain's end)."""

    prove_seconds = 0.0

    def finish(self, *args, **kwargs) -> None:
        start = time.process_time()
        super().finish(*args, **kwargs)
        self.prove_seconds = time.process_time() - start


def one_rep(form, value: int, power: int | None = None) -> dict[str, float | int | str]:
    start = time.process_time()
    plain = form.test(value)
    t_plain = time.process_time() - start
    recorder = TimedRecorder(power=power)
    start = time.process_time()
    proved = form.test(value, TestOptions(chain_run={"proof": recorder}))
    t_proving = time.process_time() - start
    if proved.res64 != plain.res64 or recorder.proof is None:
        sys.exit(f"{form.expression(value)}: residues differ or no proof ({recorder.reason})")
    start = time.process_time()
    verdict = verify_prp_proof(form.number(value), recorder.proof, base=3, res64=plain.res64)
    t_verify = time.process_time() - start
    if not verdict.accepted:
        sys.exit(f"{form.expression(value)}: proof rejected: {verdict.reason}")
    return {"plain": t_plain, "proving": t_proving, "prove": recorder.prove_seconds, "verify": t_verify,
            "p": recorder.p, "T": recorder.T, "bytes": len(recorder.proof), "arith": plain.arithmetic}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[50_000, 100_000, 200_000])
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--arith", nargs="+", default=["gmp", "fft"])
    parser.add_argument("--wagstaff", type=int, nargs="*", default=[50_021], help="Wagstaff exponents (primes)")
    parser.add_argument("--power", type=int, default=None, help="force p (default: choose_power)")
    args = parser.parse_args()
    cases = [(KbnForm(3, 2, 1), n) for n in args.sizes] + [(WagstaffForm(), p) for p in args.wagstaff]
    rows = []
    for arith in args.arith:
        os.environ["DARKREACH_ARITH"] = arith
        one_rep(KbnForm(3, 2, 1), 5000)  # warm-up: FFT plans, numba compilation
        samples: dict[int, list[dict]] = {i: [] for i in range(len(cases))}
        for rep in range(args.reps):
            for i, (form, value) in enumerate(cases):
                sample = one_rep(form, value, args.power)
                samples[i].append(sample)
                print(f"{arith} {form.expression(value)} rep {rep}: {sample}", file=sys.stderr, flush=True)
        for i, (form, value) in enumerate(cases):
            s = samples[i]

            def med(key: str, s=s) -> float:
                return statistics.median(x[key] for x in s)

            rows.append((arith, s[0]["arith"], form.expression(value), int(form.bits(value)), s[0]["p"], s[0]["T"],
                         med("plain"), med("proving"), med("prove"), med("verify"), s[0]["bytes"]))
    print(f"gmpy2 {gmpy2.version()}, {gmpy2.mp_version()}; {args.reps} reps, medians\n")
    print("| forced | arithmetic | number | bits | p | T | test s | with proof s | overhead | prove/test "
          "| verify s | verify/test | proof bytes |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for arith, used, expr, bits, p, T, plain, proving, prove, verify, size in rows:
        print(f"| {arith} | {used} | {expr} | {bits} | {p} | {T} | {plain:.2f} | {proving:.2f} | "
              f"{100 * (proving / plain - 1):+.1f}% | {100 * prove / plain:.1f}% | {verify:.3f} | "
              f"{100 * verify / plain:.1f}% | {size} |")
    bits, p = 1_300_000, choose_power(1_300_000)
    print(f"\nKept residues at {bits} bits, p = {p}: {2**p} x {bits // 8} bytes = {2**p * bits / 8 / 2**20:.1f} MiB "
          f"in memory (twice that as hex in a checkpoint); the proof: {(p + 1) * bits / 8 / 2**20:.2f} MiB.")


if __name__ == "__main__":
    main()
