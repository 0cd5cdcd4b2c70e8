"""After blocks finish: primes found against primes expected, with the uncertainty, and what to do next.

The count of primes in a range is Poisson with the model's expectation E (density.py). Verdicts:
- pivot: fewer found than a 1% chance allows (P(X <= found) < 1%): the range, the model or the pipeline is
  off; move to the next plan, and look at the sieve and the tests (a missed prime is the worst bug);
- widen: the result is consistent, but what is left of the campaign is expected to hold under half a prime:
  extend the range or add parameter values (`darkreach plan`);
- push on: the result is consistent (or ahead) and primes are still expected in the rest of the campaign.
The finished blocks' measured test seconds are set against the cost model's prediction for the same blocks.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from darkreach_pipeline.campaign import CampaignSpec
from darkreach_pipeline.forms import form_for
from darkreach_pipeline.stores.costs import CostStore
from darkreach_pipeline.strategy.cost import shape_bits, sieved_seconds, test_cost
from darkreach_pipeline.strategy.density import FormDensity, density_for

PIVOT_BELOW = 0.01
WIDEN_BELOW = 0.5
PUSH_ON, WIDEN, PIVOT = "push on", "widen", "pivot"


@dataclass(frozen=True)
class Feedback:
    campaign: str
    blocks_done: int
    blocks: int
    expected: float
    found: int
    p_at_most: float  # P(X <= found) under the model
    p_at_least: float  # P(X >= found)
    expected_remaining: float
    predicted_test_seconds: float  # the cost model (no measurement) for the finished blocks
    measured_test_seconds: float | None
    verdict: str
    reason: str

    @property
    def sigma(self) -> float:
        return math.sqrt(self.expected)

    @property
    def cost_ratio(self) -> float | None:
        """Measured / predicted test seconds of the finished blocks (1 = the model was right)."""
        if self.measured_test_seconds is None or self.predicted_test_seconds <= 0:
            return None
        return self.measured_test_seconds / self.predicted_test_seconds


def poisson_tails(found: int, expected: float) -> tuple[float, float]:
    """(P(X <= found), P(X >= found)) for X ~ Poisson(expected)."""
    if expected <= 0:
        return 1.0, 1.0 if found == 0 else 0.0
    # In logs: e^-expected underflows to 0 beyond 745 expected primes, which read as "so few cannot happen".
    log_expected = math.log(expected)
    logs = [i * log_expected - expected - math.lgamma(i + 1) for i in range(found + 1)]
    top = max(logs)
    at_most = math.exp(top) * math.fsum(math.exp(x - top) for x in logs)
    term = math.exp(logs[-1])
    return min(1.0, at_most), min(1.0, 1.0 - at_most + term)


def spans(spec: CampaignSpec, blocks: Iterable[int]) -> list[tuple[int, int]]:
    """Inclusive axis ranges covered by the blocks, consecutive blocks merged."""
    out: list[tuple[int, int]] = []
    for block in sorted(set(blocks)):
        lo, hi = spec.block_range(block)
        if out and out[-1][1] == lo - 1:
            out[-1] = (out[-1][0], hi - 1)
        else:
            out.append((lo, hi - 1))
    return out


def predicted_seconds(density: FormDensity, spec: CampaignSpec, ranges: list[tuple[int, int]],
                      store: CostStore | None = None) -> float:
    """Test seconds of the survivors of the ranges after the campaign's sieve: the model's (store None) or
    scaled from the costs measured so far."""
    form = form_for(spec)
    total = 0.0
    for lo, hi in ranges:
        step = max(1, (hi - lo + 1) // 16)
        for a in range(lo, hi + 1, step):
            b = min(hi, a + step - 1)
            mid = (a + b) // 2
            survivors = density.estimate(a, b, spec.sieve_depth).expected_survivors
            total += survivors * test_cost(form, mid, store, shape_bits(form, mid)).seconds
    return total


def campaign_feedback(spec: CampaignSpec, done_blocks: Iterable[int], found: int,
                      measured_test_seconds: float | None = None, tested: Iterable[int] | None = None) -> Feedback:
    """Primes found in the finished blocks against the model, and the verdict. With `tested` (the axis values
    the finished blocks tested) the model prices those survivors, so the cost ratio measures the seconds per
    test alone, not also how many survivors a short block happened to hold."""
    done = sorted(set(done_blocks))
    density = density_for(spec.form, spec.range_key, spec.params, spec.axis_min, spec.axis_max)
    done_ranges = spans(spec, done)
    rest = spans(spec, set(range(spec.block_count)) - set(done))
    expected = sum(density.estimate(lo, hi, spec.sieve_depth).expected_primes for lo, hi in done_ranges)
    remaining = sum(density.estimate(lo, hi, spec.sieve_depth).expected_primes for lo, hi in rest)
    at_most, at_least = poisson_tails(found, expected)
    sigma = math.sqrt(expected)
    if at_most < PIVOT_BELOW:
        verdict = PIVOT
        reason = (f"found {found}, expected {expected:.2f} ± {sigma:.2f}: so few happen by chance with probability "
                  f"{at_most:.2%}; pivot to the next plan and re-check this campaign's sieve and tests")
    elif remaining < WIDEN_BELOW:
        verdict = WIDEN
        reason = (f"found {found}, expected {expected:.2f} ± {sigma:.2f} (consistent); the rest of the campaign "
                  f"holds {remaining:.2f} expected primes: widen the range or add parameters (darkreach plan)")
    else:
        verdict = PUSH_ON
        ahead = " (ahead of the model)" if at_least < PIVOT_BELOW else ""
        reason = (f"found {found}, expected {expected:.2f} ± {sigma:.2f}{ahead}; {remaining:.2f} more expected in "
                  "the unfinished blocks")
    predicted = predicted_seconds(density, spec, done_ranges) if tested is None else \
        sieved_seconds(density.form, tested)
    return Feedback(spec.name, len(done), spec.block_count, expected, found, at_most, at_least, remaining,
                    predicted, measured_test_seconds, verdict, reason)


def feedback_table(feedback: list[Feedback]) -> str:
    lines = ["| campaign | blocks done | expected ± σ | found | P(≤ found) | remaining | verdict "
             "| test s measured / model |", "|---|---|---|---|---|---|---|---|"]
    for f in feedback:
        ratio = "-" if f.cost_ratio is None else f"{f.cost_ratio:.2f}"
        lines.append(f"| {f.campaign} | {f.blocks_done}/{f.blocks} | {f.expected:.2f} ± {f.sigma:.2f} | {f.found} "
                     f"| {f.p_at_most:.3f} | {f.expected_remaining:.2f} | {f.verdict} | {ratio} |")
    return "\n".join(lines) + "\n"


def feedback_from_results(spec: CampaignSpec, finished_keys: Iterable[str], results: pd.DataFrame,
                          certificates: pd.DataFrame) -> Feedback:
    """Feedback from a campaign's stored stages: the primes (proven or probable, never rejected) and the test
    seconds of its finished blocks (keys as `campaign/000003`)."""
    done = sorted(int(key.rsplit("/", 1)[1]) for key in finished_keys if key.startswith(f"{spec.name}/"))
    found = 0
    if len(certificates):
        mine = certificates[(certificates["campaign"] == spec.name) & certificates["block"].isin(done)]
        found = int(mine["status"].isin(["proven", "prp"]).sum())
    measured, tested = None, None
    if done and len(results):
        mine = results[(results["campaign"] == spec.name) & results["block"].isin(done)]
        if len(mine):
            measured, tested = float(mine["seconds"].sum()), [int(v) for v in mine[spec.axis]]
    return campaign_feedback(spec, done, found, measured, tested)


def queued_test_seconds(spec: CampaignSpec, unfinished_blocks: Iterable[int], store: CostStore | None) -> float:
    """Test seconds the campaign's unfinished blocks still need (measured costs where recorded)."""
    ranges = spans(spec, unfinished_blocks)
    if not ranges:
        return 0.0
    density = density_for(spec.form, spec.range_key, spec.params, spec.axis_min, spec.axis_max)
    return predicted_seconds(density, spec, ranges, store)
