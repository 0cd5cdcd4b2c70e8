"""Test cost per form: every form variant's full test against a bare gmpy2.powmod on the same N.

For each campaign template (campaigns/*.toml: one per form variant, plus the kbn quickstart) and
each target size (default about 2,000, 8,000 and 20,000 bits), the axis value is chosen with
form.bits() and the template's own validation (parse_campaign on a one-value range, so every value
is one the form accepts), then moved up to the first value that is not excluded, has no prime
factor below 10^5 (a sieve survivor) and whose number is composite (the test must say so), so the
time measured is the Fermat PRP test that every candidate pays, not a proof. For pair forms
(twin, sophie_germain) that is the first member, number(value). Two calls are timed on the same N:

  test      form.test(value): the full path the pipeline runs (Fermat residue with Gerbicz checks)
  powmod    gmpy2.powmod(3, N - 1, N) with N = form.number(value), the bare generic baseline

Per rep each case runs both, the order alternating between reps (test first, then powmod first),
and the cases run round-robin; below ~0.25 s a sample repeats the call and reports the mean. The
tables show medians of wall and process CPU time (CPU time is disturbed less by other jobs on the
machine), the ratio test/powmod from each, and c = seconds / (bits^2 * log2(bits)) from the CPU
medians: the constant of the cost model (darkreach_pipeline/cost_model.py: 1.4e-10 for the special-form
loop, 3.5e-10 for generic numbers, as each form's special_test picks; stores/costs.py sizes run timeouts
with 3.5e-10 for every form until a form has measured costs). The fitted c of a form is the geometric mean
of its rows' c.

Where a template's fixed parameter cannot reach a size, it is changed and the row says so: gfn
(b <= 2^62) gets the smallest m >= the template's that reaches it; the over-k variants (twin_k,
sophie_germain_k: bits = n + log2 k) get n = size - log2(the template's k_max). A palindromic
campaign covers whole digit counts, so its block limits stop it at 19 digits (63 bits; the form's
own index would go to ~37): palindromic gets one row, at the largest digit count a campaign accepts.
Near-repdigits reach the target sizes (up to 200,001 digits) and are measured there.

Run:  PYTHONPATH=. .venv/bin/python benchmarks/bench_form_costs.py [--sizes 2000 8000 20000] [--reps 3]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gmpy2

from benchmarks.candidates import trial_product
from darkreach_pipeline.campaign import MAX_BLOCK_SIZE, CampaignSpec, parse_campaign
from darkreach_pipeline.cost_model import SPECIAL_CONSTANT, test_constant
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.forms import form_class, form_for
from darkreach_pipeline.forms.base import PrimeForm
from darkreach_pipeline.primality.outcome import COMPOSITE, res64

CAMPAIGNS = Path(__file__).resolve().parent.parent / "campaigns"
MIN_SAMPLE = 0.25  # seconds; small sizes repeat each call so timer and scheduler noise average out
MAX_STEPS = 20_000  # axis values tried from the chosen one before a size is given up
RANGE_SLACK = 1000  # the validated range starts at the chosen value (it holds a prime p, n for wagstaff, repunit)
TIMEOUT_CONSTANT = SPECIAL_CONSTANT  # the column "c/1.4e-10": against the special-form loop's constant

# Not a template: kbn with a base that is no power of two, whose Fermat chain is generic (x -> x^b steps).
EXTRA_TEMPLATES = {
    "kbn_b10 (extra)": {"name": "kbn-b10", "form": "kbn", "k": 3, "b": 10, "c": 1, "n_min": 1, "n_max": 1000,
                        "block_size": 500, "sieve_depth": "auto"},
}


def model_constant(spec: CampaignSpec) -> float:
    """The constant the form's own auto_sieve_depth uses for one test: cost_model's, as the form picks it."""
    return test_constant(form_class(spec.form, spec.range_key).special_test(spec.params))


def cost_unit(bits: float) -> float:
    return bits * bits * math.log2(bits)


@dataclass
class Case:
    template: str
    spec: CampaignSpec
    form: PrimeForm
    value: int
    target: int
    note: str = ""
    outcome: str = ""
    inner: int = 1
    times: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)

    @property
    def bits(self) -> float:
        return self.form.bits(self.value)

    def median(self, name: str) -> float:
        return statistics.median(self.times[name])

    def cpu_median(self, name: str) -> float:
        return statistics.median(self.cpu[name])

    def params(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.spec.params.items()) or "-"


def spec_for(raw: dict[str, Any], key: str, lo: int, hi: int) -> CampaignSpec:
    """The template with its range replaced by lo..hi, through the campaign validation."""
    return parse_campaign({**raw, f"{key}_min": lo, f"{key}_max": hi})


def axis_for_bits(raw: dict[str, Any], key: str, target: float) -> int | None:
    """Smallest axis value whose number has >= target bits (bits are increasing along these axes);
    None when the form's validation refuses the value that would be needed."""
    form = form_class(raw["form"], key)(**{p: raw[p] for p in form_class(raw["form"], key).param_names})
    lo, hi = 1, 2
    while form.bits(hi) < target:
        lo, hi = hi, 2 * hi
        if hi > 2**62:
            return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if form.bits(mid) < target else (lo, mid)
    try:
        spec_for(raw, key, hi, hi + RANGE_SLACK)  # one value may be refused (a p or n that is not prime)
    except CampaignError:
        return None
    return hi


def accepts(raw: dict[str, Any], key: str, lo: int, hi: int) -> bool:
    try:
        spec_for(raw, key, lo, hi)
    except CampaignError:
        return False
    return True


def digits_for_bits(raw: dict[str, Any], target: float) -> tuple[dict[str, Any], int, str]:
    """Odd digit count nearest the target size, or the largest a campaign accepts (and a note).

    A campaign covers whole digit counts, so its blocks limit the size: with the template's block_size,
    or else with the largest block_size a campaign may have."""
    base = raw.get("base", 10)
    want = max(3, round(target / math.log2(base)) | 1)
    if accepts(raw, "digits", want, want):
        return raw, want, ""
    raw, note = {**raw, "block_size": MAX_BLOCK_SIZE}, f"block_size = {MAX_BLOCK_SIZE:,}; "
    lo, hi = 3, want  # a campaign of lo digits is accepted, one of hi digits refused
    while hi - lo > 2:
        mid = ((lo + hi) // 2) | 1
        lo, hi = (mid, hi) if accepts(raw, "digits", mid, mid) else (lo, mid)
    return raw, lo, note + f"largest digit count a campaign accepts: {lo}"


def adjusted(raw: dict[str, Any], key: str, target: float) -> tuple[dict[str, Any], str]:
    """The template's parameters, or the smallest change that lets the axis reach the target size."""
    if axis_for_bits(raw, key, target) is not None:
        return raw, ""
    if raw["form"] == "gfn":
        for m in range(raw["m"] + 1, 25):
            if axis_for_bits({**raw, "m": m}, key, target) is not None:
                return {**raw, "m": m}, f"m = {m}: the template's m = {raw['m']} stops at b = 2^62"
    if key == "k" and "n" in raw:
        n = max(1, round(target - math.log2(raw["k_max"])))
        return {**raw, "n": n}, f"n = {n}: the template's n = {raw['n']} gives at most n + 62 bits"
    return raw, ""


def choose(name: str, raw: dict[str, Any], target: int, trial: gmpy2.mpz) -> Case | str:
    """The case for one template and size, or the reason there is none."""
    key = next(k[:-4] for k in raw if k.endswith("_min"))
    raw, note = (raw, "") if key == "digits" else adjusted(raw, key, target)
    if key == "digits":
        raw, digits, note = digits_for_bits(raw, target)
        spec = spec_for(raw, key, digits, digits)
        start, end = spec.axis_min + (spec.axis_max - spec.axis_min) // 2, spec.axis_max
    else:
        value = axis_for_bits(raw, key, target)
        if value is None:
            return f"cannot reach {target} bits ({key} limit of the form)"
        spec = spec_for(raw, key, value, value + RANGE_SLACK)
        start, end = value, value + MAX_STEPS
    form = form_for(spec)
    for value in range(start, min(end, start + MAX_STEPS) + 1):
        if form.excluded(value) is not None:
            continue
        N = form.number(value)
        if gmpy2.gcd(N, trial) != 1:
            continue
        outcome = form.test(value)  # the warm-up; a prime or probable prime is skipped
        if outcome.result != COMPOSITE:
            continue
        if form.fermat_base(value) == 3 and outcome.res64 != res64(gmpy2.powmod(3, N - 1, N)):
            raise SystemExit(f"{name}: test RES64 {outcome.res64} differs from powmod's for {form.expression(value)}")
        if key != "digits":
            spec = spec_for(raw, key, value, value)
        case = Case(name, spec, form, value, target, note, f"{outcome.result} ({outcome.method})")
        t0 = time.perf_counter()
        gmpy2.powmod(3, N - 1, N)
        case.inner = max(1, round(MIN_SAMPLE / max(time.perf_counter() - t0, 1e-7)))
        return case
    return f"no composite sieved value within {MAX_STEPS} steps of {start}"


def run(cases: list[Case], reps: int) -> None:
    for rep in range(reps):
        for case in cases:
            N = case.form.number(case.value)
            jobs: dict[str, Callable[[], object]] = {
                "test": lambda case=case: case.form.test(case.value),
                "powmod": lambda N=N: gmpy2.powmod(3, N - 1, N),
            }
            for name in (("test", "powmod") if rep % 2 == 0 else ("powmod", "test")):
                t0, c0 = time.perf_counter(), time.process_time()
                for _ in range(case.inner):
                    jobs[name]()
                case.times.setdefault(name, []).append((time.perf_counter() - t0) / case.inner)
                case.cpu.setdefault(name, []).append((time.process_time() - c0) / case.inner)
        print(f"  rep {rep + 1}/{reps} done", file=sys.stderr, flush=True)


def fmt_s(x: float) -> str:
    return f"{x:.2e}" if x < 1e-3 else (f"{x:.4f}" if x < 10 else f"{x:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 8000, 20000], help="target sizes in bits")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--templates", nargs="+", default=None, help="campaign template names (default: all)")
    args = ap.parse_args()

    wall0 = time.perf_counter()
    trial = trial_product()
    cases: list[Case] = []
    skipped: list[str] = []
    templates = {path.stem: tomllib.loads(path.read_text()) for path in sorted(CAMPAIGNS.glob("*.toml"))}
    for name, raw in {**templates, **EXTRA_TEMPLATES}.items():
        if args.templates and name not in args.templates:
            continue
        seen: set[tuple[int, str]] = set()
        for target in args.sizes:
            got = choose(name, raw, target, trial)
            if isinstance(got, str):
                skipped.append(f"{name} at {target} bits: {got}")
                continue
            if (got.value, got.params()) in seen:  # palindromic: every size lands on the largest digit count
                skipped.append(f"{name} at {target} bits: the form's largest size is already measured")
                continue
            seen.add((got.value, got.params()))
            cases.append(got)
            print(f"  {name} {target}: {got.form.expression(got.value)[:60]} ({got.bits:.0f} bits, inner "
                  f"{got.inner})", file=sys.stderr, flush=True)

    print(f"# bench_form_costs  {time.strftime('%Y-%m-%d %H:%M:%S')}  python {platform.python_version()}  "
          f"gmpy2 {gmpy2.version()} ({gmpy2.mp_version()})  cpus {_cpus()}  reps {args.reps}  "
          f"load average at start {_load()}")
    print(f"# sizes {args.sizes} bits; values: not excluded, no prime factor < 10^5, composite")
    run(cases, args.reps)
    load_end = _load()

    print()
    print("## Composite candidates: medians in seconds (wall and CPU), c = CPU s / (bits^2 log2 bits)")
    print()
    print("| template | params | value | bits | test s | powmod s | test/powmod | test CPU s | powmod CPU s "
          "| test/powmod CPU | c test | c powmod | model c | c/model | outcome | note |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for case in cases:
        unit = cost_unit(case.bits)
        c_test, c_pow = case.cpu_median("test") / unit, case.cpu_median("powmod") / unit
        model = model_constant(case.spec)
        cells = [case.template, case.params(), str(case.value), f"{case.bits:.0f}",
                 fmt_s(case.median("test")), fmt_s(case.median("powmod")),
                 f"{case.median('test') / case.median('powmod'):.2f}",
                 fmt_s(case.cpu_median("test")), fmt_s(case.cpu_median("powmod")),
                 f"{case.cpu_median('test') / case.cpu_median('powmod'):.2f}",
                 f"{c_test:.2e}", f"{c_pow:.2e}", f"{model:.1e}", f"{c_test / model:.2f}", case.outcome,
                 case.note or "-"]
        print("| " + " | ".join(cells) + " |")

    print()
    print("## Fitted constant per template (geometric mean over its rows of CPU s / (bits^2 log2 bits))")
    print()
    print("| template | rows (bits) | c test | c powmod | test/powmod | model c | c/model | c/1.4e-10 (timeouts) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name in dict.fromkeys(case.template for case in cases):
        rows = [case for case in cases if case.template == name]
        c_test = _geomean([r.cpu_median("test") / cost_unit(r.bits) for r in rows])
        c_pow = _geomean([r.cpu_median("powmod") / cost_unit(r.bits) for r in rows])
        model = model_constant(rows[0].spec)
        sizes = ", ".join(f"{r.bits:.0f}" for r in rows)
        print(f"| {name} | {sizes} | {c_test:.2e} | {c_pow:.2e} | {c_test / c_pow:.2f} | {model:.1e} "
              f"| {c_test / model:.2f} | {c_test / TIMEOUT_CONSTANT:.2f} |")
    if skipped:
        print()
        print("Not measured: " + "; ".join(skipped) + ".")
    print()
    print(f"load average at the end {load_end}; total wall time {time.perf_counter() - wall0:.0f} s")


def _geomean(xs: list[float]) -> float:
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _cpus() -> str:
    return str(len(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else str(os.cpu_count())


if __name__ == "__main__":
    main()
