"""What a range costs: survivors x seconds per test, from the engine's cost model.

Seconds per test: the cost store's measurement for the form at the nearest size (scaled by bits^2 log2 bits)
once a block of the form has finished; before that the engine's cost model (cost_model.py: 1.4e-10 for
K*2^e+-1 with K < 2^64, 3.5e-10 otherwise) divided by the speed-up of the FFT arithmetic that arith/select.py
would pick at that size. The sieve's own time is left out: the auto depth stops where a sieve prime costs
what the tests it saves do, so it is a small share by construction.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from darkreach_pipeline.arith.select import arithmetic_name, fft_speedup
from darkreach_pipeline.cost_model import MIN_BITS, test_seconds
from darkreach_pipeline.forms.base import PrimeForm
from darkreach_pipeline.stores.costs import CostStore

# Orchestration per Dagster run measured in fleet mode (benchmarks/RESULTS.md "Fleet mode": about 10 s per
# one-block run on 2 loaded cores): a block of tests must be 100x that for orchestration to stay under 1%.
ORCHESTRATION_SECONDS = 10.0
ORCHESTRATION_SHARE = 0.01


@dataclass(frozen=True)
class TestCost:
    seconds: float
    arithmetic: str
    source: str  # "measured" (cost store) or "model"


def shape_bits(form: PrimeForm, value: int) -> int | None:
    """Bits of K when the number is K*2^e+-1 (what picks the special loop or the weighted FFT), else None."""
    shape = form.binary_shape(value)
    if shape is None:
        return None
    return int(shape[0]).bit_length()


def modelled_seconds(bits: float, K_bits: int | None, gfn: bool) -> TestCost:
    """The cost model alone: the forms' constant x bits^2 log2 bits over the picked arithmetic's speed-up."""
    bits = max(MIN_BITS, bits)
    arithmetic = arithmetic_name(bits, K_bits, gfn)
    seconds = test_seconds(bits, special=arithmetic in ("gmp-special", "fft-ibdwt"))
    return TestCost(seconds / fft_speedup(arithmetic, bits), arithmetic, "model")


def test_cost(form: PrimeForm, value: int, store: CostStore | None = None, K_bits: int | None = None) -> TestCost:
    """Seconds one Fermat test of form's number at `value` costs (K_bits: shape_bits, when already known). With
    a store holding a measurement of the form: that, scaled by the model from the measured size to this one
    (so a measurement on GMP sizes is not carried unchanged onto FFT sizes)."""
    gfn = form.name == "gfn"
    model = modelled_seconds(form.bits(value), K_bits, gfn)
    nearest = store.nearest_measurement(form.name, form.bits(value)) if store is not None else None
    if nearest is None:
        return model
    seconds, measured_bits = nearest
    scale = model.seconds / modelled_seconds(measured_bits, K_bits, gfn).seconds
    return TestCost(seconds * scale, model.arithmetic, "measured")


def sieved_seconds(form: PrimeForm, survivors: Iterable[int], store: CostStore | None = None) -> float:
    """Test seconds of a block already sieved: its actual survivors priced one by one. Before the sieve only
    the expected count is known, and a block of 25 expected survivors holds 15 to 35 (+-2 sd), so a block's
    prediction from the expectation misses by that much whatever the seconds per test; this one does not."""
    return sum(test_cost(form, v, store, shape_bits(form, v)).seconds for v in survivors)


def block_size_for(test_seconds: float, range_values: int, max_blocks: int, max_block_size: int,
                   orchestration_seconds: float = ORCHESTRATION_SECONDS) -> int:
    """Block size giving as many blocks as keep the campaign's orchestration (a run's fixed cost per block) under
    1% of its `test_seconds`, within the campaign limits (at most max_blocks blocks of max_block_size values)."""
    blocks = max(1, min(max_blocks, math.floor(test_seconds * ORCHESTRATION_SHARE / orchestration_seconds)))
    return int(max(1, min(range_values, max_block_size, -(-range_values // blocks))))
