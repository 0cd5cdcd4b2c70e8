"""A proof verified in new processes, with and without the verifier's FFTW wisdom file: the cost a proof-check run
pays for its first verification (benchmarks/RESULTS.md, "The verifier's plans kept as wisdom").

The proof of 3*2^n+1 is made once on the FFT test (stored in --dir). Then, alternating, a new process verifies it
with HOME pointing at a folder without the wisdom file and one where an earlier process measured the plans; each
process also times 3,000 steps of the FFT test on that number, so verify/test is a ratio within one process.

Run:  PYTHONPATH=. .venv/bin/python benchmarks/bench_verifier_wisdom.py [--bits 450000] [--runs 6]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEPS = 3000


def make_proof(bits: int, folder: Path) -> None:
    from darkreach_pipeline.forms import KbnForm
    from darkreach_pipeline.primality.options import TestOptions
    from darkreach_pipeline.proofs.pietrzak import ProofRecorder

    recorder = ProofRecorder()
    result = KbnForm(3, 2, 1).test(bits, TestOptions(chain_run={"proof": recorder}))
    if recorder.proof is None:
        sys.exit(f"no proof: {recorder.reason}")
    (folder / "proof").write_bytes(recorder.proof)
    (folder / "res64").write_text(result.res64)
    print(f"3*2^{bits}+1: p = {recorder.p}", flush=True)


def verify_once(bits: int, folder: Path) -> None:
    """In a new process: verify the stored proof, then time STEPS steps of the FFT test; print verify/test."""
    import gmpy2

    from darkreach_pipeline.arith.select import arithmetic_for
    from darkreach_pipeline.forms import KbnForm
    from darkreach_pipeline.proofs.pietrzak_verify import verify_prp_proof

    N = KbnForm(3, 2, 1).number(bits)
    start = time.process_time()
    verdict = verify_prp_proof(N, (folder / "proof").read_bytes(), base=3, res64=(folder / "res64").read_text())
    seconds = time.process_time() - start
    if not verdict.accepted:
        sys.exit(verdict.reason)
    arith, x = arithmetic_for(N, K=3, e=bits, c=1), gmpy2.mpz(3) ** 100_000 % N
    arith.square_chain(x, 200)  # plans and kernels ready
    start = time.process_time()
    arith.square_chain(x, STEPS)
    step = (time.process_time() - start) / STEPS
    print(f"{seconds / (bits * step)} {seconds}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bits", type=int, default=450_000)
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--dir", type=Path, default=None, help="where the proof is kept (default: a new folder)")
    parser.add_argument("--verify-once", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ["DARKREACH_ARITH"] = "fft"
    folder = args.dir or Path(tempfile.mkdtemp(prefix="verifier-wisdom-"))
    if args.verify_once:
        if args.measure:  # plans measured at once, so their wisdom is written
            from darkreach_pipeline.proofs import verifier_fft

            verifier_fft.MEASURE_AFTER_STEPS = 0
        verify_once(args.bits, folder)
        return
    if not (folder / "proof").exists():
        make_proof(args.bits, folder)
    homes = {"no wisdom file": folder / "home-none", "wisdom from an earlier process": folder / "home-wisdom"}
    for home in homes.values():
        home.mkdir(exist_ok=True)
    command = [sys.executable, __file__, "--bits", str(args.bits), "--dir", str(folder), "--verify-once"]
    subprocess.run([*command, "--measure"], env={**os.environ, "HOME": str(homes["wisdom from an earlier process"])},
                   check=True, capture_output=True)  # one process measures the plans and keeps their wisdom
    ratios: dict[str, list[float]] = {name: [] for name in homes}
    for _ in range(args.runs):
        for name, home in homes.items():
            out = subprocess.run(command, env={**os.environ, "HOME": str(home)}, check=True, capture_output=True,
                                 text=True).stdout.split()
            ratios[name].append(float(out[0]))
    print(f"\n| 3*2^{args.bits}+1, new processes | verify / test (each run) | median |")
    print("|---|---|---:|")
    for name, values in ratios.items():
        print(f"| {name} | {', '.join(f'{100 * v:.2f}%' for v in values)} | {100 * statistics.median(values):.2f}% |")


if __name__ == "__main__":
    main()
