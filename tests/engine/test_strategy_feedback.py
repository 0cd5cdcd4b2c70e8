"""Feedback: primes found in finished blocks against the model, and the verdict (push on / widen / pivot), on a
campaign whose primes are known (3*2^n+1, n = 64..3000: 11 primes, OEIS A002253)."""

from __future__ import annotations

from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.forms import form_for
from darkreach_pipeline.strategy import cost
from darkreach_pipeline.strategy.feedback import PIVOT, PUSH_ON, WIDEN, campaign_feedback, feedback_table

SPEC = parse_campaign({"name": "fb-proth", "form": "kbn", "k": 3, "b": 2, "c": 1, "n_min": 64, "n_max": 3000,
                       "block_size": 500, "sieve_depth": 100_000})
FOUND = [66, 189, 201, 209, 276, 353, 408, 438, 534, 2208, 2816]  # A002253 terms in 64..3000


def found_in(blocks: list[int]) -> int:
    ranges = [SPEC.block_range(b) for b in blocks]
    return sum(1 for n in FOUND if any(lo <= n < hi for lo, hi in ranges))


def test_whole_campaign_consistent_then_widen():
    blocks = list(range(SPEC.block_count))
    fb = campaign_feedback(SPEC, blocks, found_in(blocks), measured_test_seconds=None)
    assert fb.verdict == WIDEN and fb.expected_remaining == 0
    assert abs(fb.found - fb.expected) < 2.5 * fb.sigma
    assert fb.cost_ratio is None and fb.predicted_test_seconds > 0


def test_first_blocks_push_on():
    fb = campaign_feedback(SPEC, [0, 1], found_in([0, 1]), measured_test_seconds=10.0)
    assert fb.verdict == PUSH_ON and fb.expected_remaining > 1
    assert fb.cost_ratio == 10.0 / fb.predicted_test_seconds
    assert "push on" in feedback_table([fb])


def test_a_shortfall_says_pivot():
    blocks = list(range(SPEC.block_count))
    fb = campaign_feedback(SPEC, blocks, 0)
    assert fb.verdict == PIVOT and fb.p_at_most < 0.01
    assert "re-check" in fb.reason


def test_finished_blocks_are_priced_from_what_they_tested():
    """Given the values the blocks tested, the model prices exactly those (a short block's survivor count is
    chance: without this the cost ratio mixed it with the seconds per test)."""
    tested = [n for n in range(64, 1064) if n % 7 == 0]
    fb = campaign_feedback(SPEC, [0, 1], found_in([0, 1]), measured_test_seconds=10.0, tested=tested)
    form = form_for(SPEC)
    one_by_one = [cost.test_cost(form, n, None, cost.shape_bits(form, n)).seconds for n in tested]
    assert fb.predicted_test_seconds == sum(one_by_one)
    assert fb.predicted_test_seconds != campaign_feedback(SPEC, [0, 1], found_in([0, 1])).predicted_test_seconds
