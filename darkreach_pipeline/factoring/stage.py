"""The P-1 stage of a block: the sieve's frame with the survivors P-1 factored struck, everything else as it was.

Its output has the sieve frame's columns (so the test stage reads it as it read the sieve) plus, per row, what
P-1 did: `p1_factor` (the factor as decimal text: it may exceed 64 bits; "" when none), `p1_stage`, `p1_b1`,
`p1_b2` (0 when P-1 did not run on it) and `p1_seconds`. A factored survivor gets status `p-1-factor`; the
blocking check re-verifies each factor against the number (checks.p_minus_1_problems).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from darkreach_pipeline.arith.select import arithmetic_for
from darkreach_pipeline.blocks import SURVIVOR
from darkreach_pipeline.campaign import CampaignSpec
from darkreach_pipeline.factoring.p_minus_1 import p_minus_1
from darkreach_pipeline.factoring.p_minus_1_bounds import Bounds, choose_bounds
from darkreach_pipeline.forms import form_for
from darkreach_pipeline.stores.costs import CostStore
from darkreach_pipeline.strategy.cost import test_cost

P_MINUS_1_FACTOR = "p-1-factor"
P1_COLUMNS = ("p1_factor", "p1_stage", "p1_b1", "p1_b2", "p1_seconds")
SIZE_BUCKETS_PER_DOUBLING = 64  # bounds are chosen once per ~1% of candidate size


def p_minus_1_frame(spec: CampaignSpec, sieved: pd.DataFrame, depth: int, store: CostStore | None = None,
                    progress: Callable[[str, int, int], None] | None = None,
                    bounds: Callable[[float], Bounds | None] | None = None) -> pd.DataFrame:
    """P-1 on every survivor of the sieve frame `sieved` (campaign mode "auto" or "fixed"; "off" passes it through
    with P-1 columns empty), on the arithmetic its test would use (arith/select.py). depth: what the block was sieved
    to (factors below it are already gone). bounds: the bounds for a size in bits (default: choose_bounds with
    this form's test cost)."""
    frame = sieved.copy()
    frame["p1_factor"] = ""
    for column in ("p1_stage", "p1_b1", "p1_b2"):
        frame[column] = np.zeros(len(frame), dtype=np.int64)
    frame["p1_seconds"] = np.zeros(len(frame), dtype=np.float64)
    if spec.p_minus_1 == "off":
        return frame
    form = form_for(spec)
    chosen: dict[int, Bounds | None] = {}
    if bounds is None and spec.p_minus_1_bounds is not None:  # "fixed"
        fixed = Bounds(*spec.p_minus_1_bounds, probability=0.0, saved_seconds=0.0, cost_seconds=0.0)
        bounds = lambda bits: fixed  # noqa: E731

    def bounds_for(value: int) -> Bounds | None:
        bits = form.bits(value)
        key = round(math.log2(max(bits, 2.0)) * SIZE_BUCKETS_PER_DOUBLING)
        if key not in chosen:
            chosen[key] = (bounds(bits) if bounds is not None
                           else choose_bounds(bits, depth, test_cost(form, value, store).seconds))
        return chosen[key]

    rows = np.flatnonzero((frame["status"] == SURVIVOR).to_numpy())
    values = frame[spec.axis].to_numpy()
    status, factors = frame["status"].to_numpy(dtype=object), frame["p1_factor"].to_numpy(dtype=object)
    stages, b1s, b2s = (frame[c].to_numpy().copy() for c in ("p1_stage", "p1_b1", "p1_b2"))
    seconds = frame["p1_seconds"].to_numpy().copy()
    for done, row in enumerate(rows.tolist()):
        if progress:
            progress("p-1", done, len(rows))
        value = int(values[row])
        chosen_bounds = bounds_for(value)
        if chosen_bounds is None:
            continue
        start = time.process_time()
        N = form.number(value)
        shape = form.binary_shape(value) or (None, None, None)
        result = p_minus_1(N, chosen_bounds.b1, chosen_bounds.b2, arith=arithmetic_for(N, *shape))
        seconds[row] = time.process_time() - start
        b1s[row], b2s[row] = result.b1, result.b2
        if result.factor is not None:
            status[row], factors[row], stages[row] = P_MINUS_1_FACTOR, str(result.factor), result.stage
    if progress:
        progress("p-1", len(rows), len(rows))
    frame["status"], frame["p1_factor"] = status.astype(str), factors.astype(str)
    frame["p1_stage"], frame["p1_b1"], frame["p1_b2"], frame["p1_seconds"] = stages, b1s, b2s, seconds
    return frame
