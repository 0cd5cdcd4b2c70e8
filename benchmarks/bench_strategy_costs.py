"""The strategist's cost predictions against measured block times (issue #16: within +-30%).

For each campaign, two consecutive blocks are sieved and tested by the engine's own block functions (what the
prp_results asset runs, without Dagster). Predicted test seconds of a block:
- model: expected survivors (density.py, the campaign's auto sieve depth) x the cost model's seconds per test
  (stores/costs.py constants over the FFT speed-up arith/select.py gives that size), nothing measured;
- measured: the same after block 0's tests are recorded in a cost store, as the pipeline records every block
  (CostStore.record), so block 1 is priced from this machine's measured cost: how plans are priced once a
  campaign of the form has run. Recorded twice: block 0's CPU seconds (a core of its own) and its wall seconds
  (what the pipeline records; on a shared host they move with the load);
- sieved: block 1 priced once its sieve has run, from its actual survivors (cost.sieved_seconds) and the
  CPU-trained store: what is left is the error of the seconds per test alone.
Each is printed as measured / predicted; survivors predicted / actual and seconds per test separate the two
sources of error. The model and the CPU-trained prediction are set against the CPU seconds of the block's
tests (what a core of its own would take), the wall-trained prediction against the wall seconds the
pipeline records (its `seconds` column); the load average is printed with them.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_strategy_costs.py        # about 5 minutes on 2 idle cores
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

from darkreach_pipeline import blocks
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.forms import form_for
from darkreach_pipeline.stores.costs import CostStore
from darkreach_pipeline.strategy.cost import shape_bits, sieved_seconds, test_cost
from darkreach_pipeline.strategy.density import density_for
from darkreach_pipeline.strategy.feedback import predicted_seconds

CASES = [  # blocks of about 25 survivors: the survivor count alone then varies by about +-20% (Poisson)
    {"name": "bench-riesel", "form": "kbn", "k": 3, "b": 2, "c": -1, "n_min": 20000, "n_max": 20599, "block_size": 300},
    {"name": "bench-proth-fft", "form": "kbn", "k": 3, "b": 2, "c": 1, "n_min": 30000, "n_max": 30499,
     "block_size": 250},
    {"name": "bench-factorial", "form": "factorial", "c": 1, "n_min": 2000, "n_max": 2119, "block_size": 60},
    {"name": "bench-gfn", "form": "gfn", "m": 11, "b_min": 1000, "b_max": 1239, "block_size": 120},
    {"name": "bench-carol", "form": "carol", "n_min": 8000, "n_max": 8279, "block_size": 140},
]


def main() -> int:
    folder = tempfile.mkdtemp(prefix="bench-costs-")
    by_cpu, by_wall = CostStore(f"sqlite:///{folder}/cpu.db"), CostStore(f"sqlite:///{folder}/wall.db")
    print(f"# bench_strategy_costs  {time.strftime('%Y-%m-%d %H:%M:%S')}  cpus {os.cpu_count()}  "
          f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("| campaign | block | arithmetic | survivors predicted / actual | s/test model / CPU | s/test CPU / model "
          "| test s CPU | model prediction | CPU / model | CPU-trained prediction | CPU / it | sieved prediction "
          "| CPU / it | test s wall | wall-trained prediction | wall / it |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for raw in CASES:
        spec = parse_campaign({**raw, "sieve_depth": "auto"})
        form = form_for(spec)
        density = density_for(spec.form, spec.range_key, spec.params, spec.axis_min, spec.axis_max)
        for block in (0, 1):
            lo, hi = spec.block_range(block)
            on_cpu = predicted_seconds(density, spec, [(lo, hi - 1)], by_cpu) if block == 1 else None
            on_wall = predicted_seconds(density, spec, [(lo, hi - 1)], by_wall) if block == 1 else None
            model = predicted_seconds(density, spec, [(lo, hi - 1)])
            survivors_predicted = density.estimate(lo, hi - 1, spec.sieve_depth).expected_survivors
            sieved = blocks.sieve_frame(spec, block, blocks.candidate_frame(spec, block))
            start, cpu_start = time.perf_counter(), time.process_time()
            results = blocks.test_frame(spec, block, sieved)
            cpu = time.process_time() - cpu_start
            print(f"{spec.name} block {block}: {len(results)} tests, {time.perf_counter() - start:.1f} s",
                  file=sys.stderr)
            measured = float(results["seconds"].sum())
            values = [int(v) for v in results[spec.axis]]
            per_test_model = sieved_seconds(form, values) / len(values)
            arithmetic = test_cost(form, values[0], None, shape_bits(form, values[0])).arithmetic
            on_sieved = sieved_seconds(form, values, by_cpu) if block == 1 else None
            mean_bits = sum(form.bits(v) for v in values) / len(values)
            by_cpu.record(spec.form, mean_bits, len(values), cpu)
            by_wall.record(spec.form, mean_bits, len(values), measured)
            cpu_cells = "- | -" if on_cpu is None else f"{on_cpu:.1f} | {cpu / on_cpu:.2f}"
            sieved_cells = "- | -" if on_sieved is None else f"{on_sieved:.1f} | {cpu / on_sieved:.2f}"
            wall_cells = "- | -" if on_wall is None else f"{on_wall:.1f} | {measured / on_wall:.2f}"
            print(f"| {spec.name} | {block} | {arithmetic} | {survivors_predicted:.1f} / {len(values)} "
                  f"| {per_test_model:.3f} / {cpu / len(values):.3f} | {cpu / len(values) / per_test_model:.2f} "
                  f"| {cpu:.1f} | {model:.1f} | {cpu / model:.2f} | {cpu_cells} | {sieved_cells} | {measured:.1f} "
                  f"| {wall_cells} |",
                  flush=True)
    print(f"\nload average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
