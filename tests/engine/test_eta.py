"""The ETA's cost model on a real small campaign: fitted on its first fifth (one block of five), it predicts the
rest's survivors and test seconds within 30%, measured by running the rest (a ratio of costs measured on this
machine in this test, not a timed assertion). Tests are timed in CPU time of the thread here, so that what other
work on the shared machine does between the first block and the rest does not move the comparison."""

import time

import pytest

from darkreach_pipeline import blocks
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.campaign_status import fit_costs

# 3*2^n-1, n = 1500..3999 in five blocks: the cost per test grows about 5x from the first block to the last
# (about 3 s of CPU in all)
SPEC = parse_campaign({"name": "eta", "form": "kbn", "k": 3, "b": 2, "c": -1, "n_min": 1500, "n_max": 3999,
                       "block_size": 500, "sieve_depth": 100_000})


def run_block(block: int):
    return blocks.test_frame(SPEC, block, blocks.sieve_frame(SPEC, block, blocks.candidate_frame(SPEC, block)))


@pytest.fixture(autouse=True)
def cpu_clock(monkeypatch):
    monkeypatch.setattr(blocks, "TEST_CLOCK", time.thread_time)


def test_cost_model_after_a_fifth_predicts_the_rest_within_30_percent():
    first = run_block(0)
    model = fit_costs(SPEC, [0], first)
    assert model.exponent == pytest.approx(2.13, abs=0.01)  # one block: the model's bits^2 log(bits), locally
    rest = [run_block(block) for block in range(1, SPEC.block_count)]
    predicted_tests = sum(model.block_tests(SPEC, block) for block in range(1, SPEC.block_count))
    measured_tests = sum(float(frame["seconds"].sum()) for frame in rest)
    predicted_survivors = model.survival * sum(hi - lo for lo, hi in map(SPEC.block_range, range(1, 5)))
    measured_survivors = sum(len(frame) for frame in rest)
    assert 0.85 <= predicted_survivors / measured_survivors <= 1.15, (predicted_survivors, measured_survivors)
    assert 0.7 <= predicted_tests / measured_tests <= 1.3, (predicted_tests, measured_tests)
    # what the count of blocks alone says (the rest costs 4x the first block) is far from it
    assert measured_tests > 8 * float(first["seconds"].sum())
