"""Cost of a residue double check against the first test, per library, and the campaign overhead
of verification with trusted workers (1 block in 10 double-checked).

For N = k*2^n+1 (sieved k, composite), interleaved repetitions of:
  engine  KbnForm.test(n): Gerbicz-checked Fermat test on the special-form loop (the first test)
  double  the double check as the double_checks asset runs it for this N: the special-form loop on
          python-flint integers (second_opinion)
  pari    PARI/GP Mod(3, N)^(N-1) through cypari2 (the tie-break; the double check for other forms)
  flint   python-flint pow(3, N-1, N) (the generic FLINT path)
Prints median seconds, ratios to the first test, and the verification overhead of a campaign whose
workers are trusted: double/engine / sample rate (target <= 15% at 1 in 10).

Usage: PYTHONPATH=. python benchmarks/bench_verification.py [--sizes 5000 10000 20000] [--reps 3]
"""

import argparse
import statistics
import time

from benchmarks.candidates import sieved_k
from darkreach_pipeline.forms.kbn import KbnForm
from darkreach_pipeline.verification.double_check import flint_fermat_residue, pari_fermat_residue, second_opinion


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 10000, 20000])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--sample-every", type=int, default=10)
    args = parser.parse_args()
    print("| n | k | engine s | double s | pari s | flint s | double/engine | pari/engine | flint/engine | "
          f"overhead at 1 in {args.sample_every} |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.sizes:
        k = sieved_k(n)
        form = KbnForm(k, 2, 1)
        N = form.number(n)
        times: dict[str, list[float]] = {"engine": [], "double": [], "pari": [], "flint": []}
        residues = set()
        for _ in range(args.reps):
            t = time.perf_counter()
            residues.add(form.test(n).res64)
            times["engine"].append(time.perf_counter() - t)
            t = time.perf_counter()
            library, residue, _ = second_opinion(form, n, N)
            residues.add(residue)
            times["double"].append(time.perf_counter() - t)
            assert library == "flint-special"
            for name, fn in (("pari", pari_fermat_residue), ("flint", flint_fermat_residue)):
                t = time.perf_counter()
                residues.add(format(fn(N) & 0xFFFF_FFFF_FFFF_FFFF, "016x"))
                times[name].append(time.perf_counter() - t)
        assert len(residues) == 1, "the libraries disagree"
        med = {name: statistics.median(v) for name, v in times.items()}
        double = med["double"] / med["engine"]
        print(f"| {n} | {k} | {med['engine']:.3f} | {med['double']:.3f} | {med['pari']:.3f} | {med['flint']:.3f} | "
              f"{double:.2f} | {med['pari'] / med['engine']:.2f} | {med['flint'] / med['engine']:.2f} | "
              f"{100 * double / args.sample_every:.0f}% |", flush=True)


if __name__ == "__main__":
    main()
