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
disk of the kept residues: 2^p records of bits/8 bytes (computed at the end for 1.3M bits, choose_power's p there).

Run:  PYTHONPATH=. .venv/bin/python benchmarks/bench_pietrzak.py [--sizes 50000 100000 200000] [--reps 2]
      [--arith gmp fft] [--wagstaff 50021] [--gfn 12:10000]
      PYTHONPATH=. .venv/bin/python benchmarks/bench_pietrzak.py --project 400000 1300000 5000000
      (sizes too large to test here: measured per-step costs of the test, the prover's and the verifier's
      arithmetic at that size, and the proving / verifying costs they give with choose_power's p)
      PYTHONPATH=. .venv/bin/python benchmarks/bench_pietrzak.py --prover-cost 50000 100000 200000 400000 [--arith ..]
      (the prover alone, per 64-bit power of its tree in steps of the test: the bare power, `prove` end to end on
      the test's arithmetic, and `prove` with the plain gmpy2 tree, same residues and bytes: PROVE_STEPS_PER_POWER)
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import time

import gmpy2

from darkreach_pipeline.forms import GfnForm, KbnForm, WagstaffForm
from darkreach_pipeline.primality.options import TestOptions
from darkreach_pipeline.proofs.pietrzak import ProofRecorder, choose_power, prove
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
    proving and verifying modelled with choose_power's p for the test's arithmetic."""
    from darkreach_pipeline.arith.select import arithmetic_for
    from darkreach_pipeline.proofs import verifier_fft
    from darkreach_pipeline.proofs.pietrzak_verify import _Modulus

    r = 0xF1E2D3C4B5A69788  # a 64-bit challenge
    rng = random.Random(11)
    print("\n| bits | p | arithmetic | test step ms | prover power (steps) | verifier | verifier step / test step | "
          "prove/test (model) | verify/test (model) |")
    print("|---:|---:|---|---:|---:|---|---:|---:|---:|")
    for bits in bits_list:
        N = 3 * gmpy2.mpz(2) ** bits + 1
        x = gmpy2.mpz(rng.getrandbits(bits)) % N  # full size from the first product
        T = bits
        costs = {}
        variants = [("FFT", _Modulus(N), min(T >> 4, 2000), verifier_fft.MEASURE_AFTER_STEPS),
                    ("FFT, measured plans", _Modulus(N), min(T >> 4, 2000), 0),  # a process's steady state
                    ("GMP", _Modulus(N, fft=False), steps, verifier_fft.MEASURE_AFTER_STEPS)]
        for name, verifier, count, measure_after in variants:
            default, verifier_fft.MEASURE_AFTER_STEPS = verifier_fft.MEASURE_AFTER_STEPS, measure_after
            # the FFT's chain as the verifier runs it, its conversions in and out included (one per T/2^p steps);
            # median of 3: the first call's planning (FFTW_MEASURE: seconds) is left out
            chain = per_step(lambda verifier=verifier, x=x, n=count: verifier.binary_chain(x, gmpy2.mpz(0), n, 3),
                             count)
            power = per_step(lambda verifier=verifier, x=x: verifier.power(x, r), 1)
            verifier_fft.MEASURE_AFTER_STEPS = default
            costs[name] = (chain, power, verifier, measure_after)
        for mode in ("gmp", "fft"):
            os.environ["DARKREACH_ARITH"] = mode
            arith = arithmetic_for(N, K=3, e=bits, c=1)
            p = choose_power(T, arith.name)
            t_step = per_step(lambda arith=arith, x=x: arith.square_chain(x, steps), steps)
            t_power = per_step(lambda arith=arith, x=x: arith.power(x, r), 1)
            prove_share = ((1 << p) - p - 1) * t_power / (T * t_step)
            for name, (v_step, v_power, verifier, measure_after) in costs.items():
                default, verifier_fft.MEASURE_AFTER_STEPS = verifier_fft.MEASURE_AFTER_STEPS, measure_after
                v_multi = per_step(lambda verifier=verifier, x=x, p=p: verifier.multi_power([x] * p, [r] * p), 1)
                verifier_fft.MEASURE_AFTER_STEPS = default
                verify = (T / (1 << p) * v_step + p * v_power + v_multi) / (T * t_step)
                print(f"| {bits} | {p} | {type(arith).__name__} | {1000 * t_step:.3f} | {t_power / t_step:.0f} | "
                      f"{name}: {verifier.arithmetic} | {v_step / t_step:.2f} | {100 * prove_share:.2f}% | "
                      f"{100 * verify:.2f}% |", flush=True)


def prover_cost(cases: list[tuple[str, int]], modes: list[str]) -> None:
    """Per 64-bit power of the tree, in steps of the test (square_chain on the test's arithmetic): one bare power
    (arith.power), `prove` end to end on the test's arithmetic, and `prove` with the plain gmpy2 tree; the same
    residues (random: `prove` does not check them), p = choose_power for that arithmetic, identical bytes."""
    from darkreach_pipeline.arith.select import arithmetic_for

    rng = random.Random(13)
    r = 0xF1E2D3C4B5A69788  # a 64-bit challenge
    print("\n| forced | arithmetic | number | p | test step ms | bare power (steps) | prove per power (steps) | "
          "gmpy2 tree per power (steps) | prove / gmpy2 tree | same bytes |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---|")
    for mode in modes:
        os.environ["DARKREACH_ARITH"] = mode
        for kind, size in cases:
            if kind == "wagstaff":  # the Gerbicz-Li chain modulo 2^q+1 = 3N on the FFT, modulo N on GMP
                N, name = ((gmpy2.mpz(1) << size) + 1) // 3, f"(2^{size}+1)/3"
                arith = WagstaffForm._arithmetic(size) or arithmetic_for(N)
                steps = int(N.bit_length()) - 1 - math.isqrt(size)  # the chain's T: after a head of ~L bits
            else:
                N, name = 3 * gmpy2.mpz(2) ** size + 1, f"3*2^{size}+1"
                arith, steps = arithmetic_for(N, 3, size, 1), size - 1
            p = choose_power(steps, arith.name)
            T = steps - steps % (1 << p)
            x = gmpy2.mpz(rng.getrandbits(size)) % N  # full size from the first product
            arith.power(x, r)  # warm-up: plans, numba
            t_step = per_step(lambda arith=arith, x=x: arith.square_chain(x, 100), 100)
            residues = [gmpy2.mpz(rng.getrandbits(size)) % N for _ in range(1 << p)]
            powers = (1 << p) - p - 1
            runs = {}
            for label, on in (("arith", arith), ("gmpy2", None)):
                statement = (N, 3, 2, N - 1, T, p, residues, on)
                runs[label] = prove(*statement)
                runs[label + " s"] = per_step(lambda statement=statement: prove(*statement), powers)
            bare = per_step(lambda arith=arith, x=x: [arith.power(x, r) for _ in range(10)], 10)
            print(f"| {mode} | {arith.name} | {name} | {p} | {1000 * t_step:.4f} | {bare / t_step:.0f} | "
                  f"{runs['arith s'] / t_step:.0f} | {runs['gmpy2 s'] / t_step:.0f} | "
                  f"{runs['arith s'] / runs['gmpy2 s']:.2f} | {runs['arith'] == runs['gmpy2']} |", flush=True)


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
    parser.add_argument("--prover-cost", type=int, nargs="*", default=[],
                        help="kbn sizes (and --wagstaff) whose prover alone is timed per power (PROVE_STEPS_PER_POWER)")
    args = parser.parse_args()
    if args.project:
        project(args.project, args.project_steps)
        return
    if args.prover_cost:
        prover_cost([("kbn", n) for n in args.prover_cost] + [("wagstaff", q) for q in args.wagstaff], args.arith)
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
    for arith, used, expr, bits, p, T, plain, proving, t_prove, verify, size, verifier, verify_gmp in rows:
        print(f"| {arith} | {used} | {expr} | {bits} | {p} | {T} | {plain:.2f} | {proving:.2f} | "
              f"{100 * (proving / plain - 1):+.1f}% | {100 * t_prove / plain:.1f}% | {verifier} | {verify:.3f} | "
              f"{100 * verify / plain:.1f}% | {verify_gmp:.3f} | {100 * verify_gmp / plain:.1f}% | {size} |")
    bits = 1_300_000
    for p in sorted({choose_power(bits), choose_power(bits, "gmp"), choose_power(bits, "fft-ibdwt")}):
        width = -(-bits // 64) * 8  # one record of 64-bit limbs (stores/residue_file.py)
        print(f"\nKept residues at {bits} bits, p = {p}: {2**p} x {width} bytes = {2**p * width / 2**20:.1f} MiB "
              f"in memory and in the residue file beside the checkpoint (rewritten only when a residue is added; "
              f"as hex in the checkpoint's JSON it was {2**p * 2 * bits / 8 / 2**20:.0f} MiB); the proof: "
              f"{(p + 1) * bits / 8 / 2**20:.2f} MiB.")


if __name__ == "__main__":
    main()
