"""Measured cost per test, kept per form and size from finished blocks, to size run timeouts.

A block's run gets a maximum runtime of max(120 s, 3 x estimate): big blocks are not killed as
stale, truly hung ones are. Before any block of a form has finished, the estimate comes from the
analytic model (darkreach_pipeline/cost_model.py, at its generic-modulus constant).
"""

from __future__ import annotations

import functools
import math

import sqlalchemy as sa

from darkreach_pipeline.backoff import Backoff, retrying
from darkreach_pipeline.cost_model import test_seconds
from darkreach_pipeline.stores.registry import create_engine, create_tables, store_backoff

MIN_RUNTIME = 120.0
SAFETY = 3.0

_metadata = sa.MetaData()
_costs = sa.Table(
    "darkreach_costs",
    _metadata,
    sa.Column("form", sa.String(32), primary_key=True),
    sa.Column("bits_bucket", sa.Integer, primary_key=True),  # round(4 * log2(bits))
    sa.Column("tests", sa.BigInteger, nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("bits", sa.Float, nullable=False),  # sum over tests, for the exact mean size
)


def model_seconds(bits: float) -> float:
    """Seconds per test until a form has a measured block: the generic-modulus cost, the upper end of what the
    forms measured (0.75e-10 special loop .. 4.2e-10 generic at 20k bits, RESULTS.md "Test cost per form"), so
    a first block of any form never times out early; measured costs replace it per form."""
    return test_seconds(bits, special=False)


def bucket(bits: float) -> int:
    return round(4 * math.log2(max(bits, 2.0)))


class CostStore:
    def __init__(self, url: str, backoff: Backoff | None = None):
        self.engine = create_engine(url)
        self.backoff = backoff or store_backoff("cost store", url)
        create_tables(self.engine, _metadata, self.backoff)

    @retrying
    def record(self, form: str, bits: float, tests: int, seconds: float) -> None:
        if tests <= 0:
            return
        key = {"form": form, "bits_bucket": bucket(bits)}
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(_costs).where(_costs.c.form == form,
                                                       _costs.c.bits_bucket == key["bits_bucket"])).first()
            if row is None:
                conn.execute(_costs.insert().values(**key, tests=tests, seconds=seconds, bits=bits * tests))
            else:
                conn.execute(_costs.update().where(_costs.c.form == form, _costs.c.bits_bucket == key["bits_bucket"])
                             .values(tests=row.tests + tests, seconds=row.seconds + seconds,
                                     bits=row.bits + bits * tests))

    def seconds_per_test(self, form: str, bits: float) -> float:
        """Measured mean at the nearest recorded size, scaled by the model to `bits`; else the model."""
        nearest = self.nearest_measurement(form, bits)
        if nearest is None:
            return model_seconds(bits)
        seconds, measured_bits = nearest
        return seconds * model_seconds(bits) / model_seconds(measured_bits)

    @retrying
    def nearest_measurement(self, form: str, bits: float) -> tuple[float, float] | None:
        """(mean seconds per test, mean bits) measured at the recorded size nearest `bits`; None before any
        block of the form has finished."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(_costs).where(_costs.c.form == form)).all()
        if not rows:
            return None
        nearest = min(rows, key=lambda r: abs(r.bits_bucket - bucket(bits)))
        return nearest.seconds / nearest.tests, nearest.bits / nearest.tests


def max_runtime(expected_tests: float, seconds_per_test: float, fixed_seconds: float = 30.0) -> int:
    """Run timeout for a block: max(120 s, 3 x (tests x cost + fixed overhead))."""
    return int(max(MIN_RUNTIME, SAFETY * (expected_tests * seconds_per_test + fixed_seconds)))


@functools.cache
def open_cost_store(url: str) -> CostStore:
    return CostStore(url)
