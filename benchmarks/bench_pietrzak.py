"""Pietrzak proofs: what proving adds to a test, and what verifying costs, as ratios to the same test in the same run.

For each arithmetic (GMP forced, FFT forced: DARKREACH_ARITH) and each size (default 3*2^n+1 at n = 50k, 100k,
200k: the x -> x^2 chain of kbn, Cullen/Woodall, twins...; and one Gerbicz-Li chain, Wagstaff (2^p+1)/3, whose
proof has digits), per rep and interleaved:

  plain     form.test(value): the test as it ran before proofs
  proving   form.test(value) with a ProofRecorder: residues kept every T/2^p steps + the proof at the end
  prove     the proof alone (the recorder's finish, timed inside the run above)
  verify    pietrzak_verify.verify_prp_proof on the proof (independent verifier: its own FFT where it pays), then
            the same with DARKREACH_VERIFIER_FFT=never (its GMP products only: the verifier before its FFT)

Times are process CPU seconds (the machines are shared; wall time varies by +-30% under load). The table gives
medians, the overhead (proving/plain - 1), prove/plain and verify/plain, p (choose_power) and the
proof size; the residue of every run is checked against the plain test's and every proof must verify. Memory and
disk of the kept residues: 2^p records of bits/8 bytes (computed at the end for 1.3M bits, p = 8 and choose_power's).

Run:  PYTHONPATH=. .venv/bin/python benchmarks/bench_pietrzak.py [--sizes 50000 100000 200000] [--reps 2]
      [--arith gmp fft] [--wagstaff 50021] [--gfn 12:10000]
      PYTHONPATH=. .venv/bin/python benchmarks/bench_pietrzak.py --project 400000 1300000 5000000
      (sizes too large to test here: measured per-step costs of the test, the prover's and the verifier's
      arithmetic at that size, and the proving / verifying costs they give with choose_power's p)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import gmpy2

from darkreach_pipeline.forms import GfnForm, KbnForm, WagstaffForm
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
    verify = {}
    for mode in ("auto", "never"):  # the verifier as it runs, then with its long chain and powers on GMP only
        os.environ["DARKREACH_VERIFIER_FFT"] = mode
        start = time.process_time()
        verdict = verify_prp_proof(form.number(value), recorder.proof, base=3, res64=plain.res64)
        verify[mode] = time.process_time() - start
        if not verdict.accepted:
            sys.exit(f"{form.expression(value)}: proof rejected: {verdict.reason}")
        verify[f"{mode}-arith"] = verdict.arithmetic
    del os.environ["DARKREACH_VERIFIER_FFT"]
    return {"plain": t_plain, "proving": t_proving, "prove": recorder.prove_seconds, "verify": verify["auto"],
            "verify-gmp": verify["never"], "verifier": verify["auto-arith"],
            "p": recorder.p, "T": recorder.T, "bytes": len(recorder.proof), "arith": plain.arithmetic}


def per_step(call, steps: int) -> float:
    """CPU seconds of one call divided by the steps it makes (the median of 3)."""
    times = []
    for _ in range(3):
        start = time.process_time()
        call()
        times.append((time.process_time() - start) / steps)
    return statistics.median(times)


def project(bits_list: list[int], steps: int) -> None:
    """Costs at sizes too large to test here, from measured per-step costs at those sizes: one step of the test
    (GMP special form, FFT), one 64-bit power on each (the prover's), and one step, one 64-bit power and one
    Straus chain of the verifier's own arithmetic (its FFT, and its GMP shape reduction as it was before);
    proving and verifying modelled with choose_power's p."""
    from darkreach_pipeline.arith.select import arithmetic_for
    from darkreach_pipeline.proofs import verifier_fft
    from darkreach_pipeline.proofs.pietrzak_verify import _Modulus

    r = 0xF1E2D3C4B5A69788  # a 64-bit challenge
    print("\n| bits | p | arithmetic | test step ms | prover power (steps) | verifier | verifier step / test step | "
          "prove/test (model) | verify/test (model) |")
    print("|---:|---:|---|---:|---:|---|---:|---:|---:|")
    for bits in bits_list:
        N = 3 * gmpy2.mpz(2) ** bits + 1
        x = gmpy2.mpz(3) ** 1000 % N
        T, p = bits, choose_power(bits)
        costs = {}
        variants = [("FFT", _Modulus(N), min(T >> p, 2000), verifier_fft.MEASURE_AFTER_STEPS),
                    ("FFT, measured plans", _Modulus(N), min(T >> p, 2000), 0),  # a process's steady state
                    ("GMP", _Modulus(N, fft=False), steps, verifier_fft.MEASURE_AFTER_STEPS)]
        for name, verifier, count, measure_after in variants:
            default, verifier_fft.MEASURE_AFTER_STEPS = verifier_fft.MEASURE_AFTER_STEPS, measure_after
            # the FFT's chain as the verifier runs it, its conversions in and out included (one per T/2^p steps);
            # median of 3: the first call's planning (FFTW_MEASURE: seconds) is left out
            chain = per_step(lambda verifier=verifier, x=x, n=count: verifier.binary_chain(x, gmpy2.mpz(0), n, 3),
                             count)
            power = per_step(lambda verifier=verifier, x=x: verifier.power(x, r), 1)
            multi = per_step(lambda verifier=verifier, x=x, p=p: verifier.multi_power([x] * p, [r] * p), 1)
            verifier_fft.MEASURE_AFTER_STEPS = default
            costs[name] = (chain, power, multi, verifier.arithmetic)
        for mode in ("gmp", "fft"):
            os.environ["DARKREACH_ARITH"] = mode
            arith = arithmetic_for(N, K=3, e=bits, c=1)
            t_step = per_step(lambda arith=arith, x=x: arith.square_chain(x, steps), steps)
            t_power = per_step(lambda arith=arith, x=x: arith.power(x, r), 1)
            prove = ((1 << p) - p - 1) * t_power / (T * t_step)
            for name, (v_step, v_power, v_multi, used) in costs.items():
                verify = (T / (1 << p) * v_step + p * v_power + v_multi) / (T * t_step)
                print(f"| {bits} | {p} | {type(arith).__name__} | {1000 * t_step:.3f} | {t_power / t_step:.0f} | "
                      f"{name}: {used} | {v_step / t_step:.2f} | {100 * prove:.2f}% | {100 * verify:.2f}% |",
                      flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[50_000, 100_000, 200_000])
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--arith", nargs="+", default=["gmp", "fft"])
    parser.add_argument("--wagstaff", type=int, nargs="*", default=[50_021], help="Wagstaff exponents (primes)")
    parser.add_argument("--gfn", nargs="*", default=[], metavar="M:B", help="generalized Fermat b^(2^m)+1")
    parser.add_argument("--power", type=int, default=None, help="force p (default: choose_power)")
    parser.add_argument("--project", type=int, nargs="*", default=[],
                        help="bit sizes to model from measured per-step costs instead of running tests")
    parser.add_argument("--project-steps", type=int, default=100)
    args = parser.parse_args()
    if args.project:
        project(args.project, args.project_steps)
        return
    cases = [(KbnForm(3, 2, 1), n) for n in args.sizes] + [(WagstaffForm(), p) for p in args.wagstaff]
    cases += [(GfnForm(m=int(m)), int(b)) for m, b in (text.split(":") for text in args.gfn)]
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
                         med("plain"), med("proving"), med("prove"), med("verify"), s[0]["bytes"],
                         s[-1]["verifier"], med("verify-gmp")))
    print(f"gmpy2 {gmpy2.version()}, {gmpy2.mp_version()}; {args.reps} reps, medians\n")
    print("| forced | arithmetic | number | bits | p | T | test s | with proof s | overhead | prove/test "
          "| verifier | verify s | verify/test | verify s, GMP only | verify/test, GMP only | proof bytes |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|")
    for arith, used, expr, bits, p, T, plain, proving, prove, verify, size, verifier, verify_gmp in rows:
        print(f"| {arith} | {used} | {expr} | {bits} | {p} | {T} | {plain:.2f} | {proving:.2f} | "
              f"{100 * (proving / plain - 1):+.1f}% | {100 * prove / plain:.1f}% | {verifier} | {verify:.3f} | "
              f"{100 * verify / plain:.1f}% | {verify_gmp:.3f} | {100 * verify_gmp / plain:.1f}% | {size} |")
    bits = 1_300_000
    for p in sorted({8, choose_power(bits)}):
        width = -(-bits // 64) * 8  # one record of 64-bit limbs (stores/residue_file.py)
        print(f"\nKept residues at {bits} bits, p = {p}: {2**p} x {width} bytes = {2**p * width / 2**20:.1f} MiB "
              f"in memory and in the residue file beside the checkpoint (rewritten only when a residue is added; "
              f"as hex in the checkpoint's JSON it was {2**p * 2 * bits / 8 / 2**20:.0f} MiB); the proof: "
              f"{(p + 1) * bits / 8 / 2**20:.2f} MiB.")


if __name__ == "__main__":
    main()
