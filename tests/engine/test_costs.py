"""Run timeouts scale with the work: measured per-test costs, max(120 s, 3 x estimate)."""

from darkreach_pipeline.blocks import block_max_runtime
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.stores.costs import CostStore, max_runtime, model_seconds


def _spec(n_min, n_max, block_size):
    return parse_campaign(dict(name="t", form="kbn", k=3, b=2, c=1, n_min=n_min, n_max=n_max,
                               block_size=block_size, sieve_depth=1_000_000))


def test_measured_costs_drive_the_estimate(tmp_path):
    store = CostStore(f"sqlite:///{tmp_path}/c.db")
    assert store.seconds_per_test("kbn", 20000) == model_seconds(20000)  # nothing measured yet
    store.record("kbn", 20000, 10, 50.0)  # a slow machine: 5 s per test at 20k bits
    store.record("kbn", 20000, 10, 50.0)
    assert abs(store.seconds_per_test("kbn", 20000) - 5.0) < 1e-9
    # another size scales with the model from the nearest measurement
    ratio = store.seconds_per_test("kbn", 40000) / 5.0
    assert abs(ratio - model_seconds(40000) / model_seconds(20000)) < 1e-9
    assert store.seconds_per_test("factorial", 20000) == model_seconds(20000)  # per form


def test_max_runtime_floor_and_scaling(tmp_path):
    assert max_runtime(0, 1.0) == 120
    assert max_runtime(100, 10.0) == 3 * (1000 + 30)
    store = CostStore(f"sqlite:///{tmp_path}/c.db")
    small = block_max_runtime(_spec(1, 1000, 100), 0, store)
    big = block_max_runtime(_spec(90000, 200000, 100000), 0, store)
    assert small == 120 and big > 100 * small
