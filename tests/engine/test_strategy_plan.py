"""The strategist's plans: proposals validated like campaign files, ranked, written as ready campaign files, priced
with the engine's cost model (the arithmetic a size gets, measured costs once recorded)."""

from __future__ import annotations

import gmpy2
import pytest

from darkreach_pipeline.campaign import load_campaign
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.forms import form_class
from darkreach_pipeline.stores.costs import CostStore
from darkreach_pipeline.strategy.planner import PlanRequest, parse_values, plan, plan_table, write_campaign_files


def test_plan_ranks_and_writes_campaign_files(tmp_path):
    request = PlanRequest("kbn", {"k": [3, 6, 78557, 1155], "b": [2], "c": [1]}, "n", 20_000, 30_000, pieces=2)
    proposals, skipped = plan(request)
    assert len(proposals) == 6 and len(skipped) == 2  # k = 6 is refused with the campaign's own reason
    assert all("k = 6 is divisible by b = 2" in s for s in skipped)
    scores = [p.score("primes") for p in proposals]
    assert scores == sorted(scores, reverse=True) and [p.rank for p in proposals] == list(range(1, 7))
    covering = [p for p in proposals if p.spec.params["k"] == 78557]
    assert all(p.expected_primes == 0 and p.rank > 4 for p in covering)  # Sierpinski: never a prime
    heavy = next(p for p in proposals if p.spec.params["k"] == 1155 and p.spec.range_min == 20_000)
    light = next(p for p in proposals if p.spec.params["k"] == 3 and p.spec.range_min == 20_000)
    assert heavy.expected_primes > light.expected_primes and heavy.nash > light.nash
    assert heavy.arithmetic == "fft-ibdwt" and heavy.cost_source == "model"
    table = plan_table(proposals, "primes")
    assert table.count("\n| ") == 6 and "E[primes]" in table
    paths = write_campaign_files(proposals, tmp_path)
    for proposal, path in zip(proposals, paths, strict=True):
        spec = load_campaign(path)  # a ready campaign file: the product's own validation accepts it
        assert spec.definition() == proposal.spec.definition()
        assert "expected primes" in path.read_text() and spec.description.startswith("strategist plan")


def test_block_size_keeps_orchestration_under_one_percent():
    (proposal,), _ = plan(PlanRequest("kbn", {"k": [3], "b": [2], "c": [-1]}, "n", 5_000, 60_000))
    spec = proposal.spec
    assert spec.block_count > 1 and spec.block_count * 10.0 <= 0.01 * proposal.cpu_hours * 3600 * 1.001
    assert (spec.block_count + 2) * 10.0 > 0.01 * proposal.cpu_hours * 3600  # and not needlessly large


def test_measured_costs_replace_the_model(tmp_path):
    store = CostStore(f"sqlite:///{tmp_path / 'costs.db'}")
    request = PlanRequest("factorial", {"c": [1]}, "n", 3000, 4000)
    (model,), _ = plan(request, store)
    store.record("factorial", model.spec.axis_max * 10.0, 10, 1000.0)  # slow machine: 100 s per test
    (measured,), _ = plan(request, store)
    assert model.cost_source == "model" and measured.cost_source == "measured"
    assert measured.cpu_hours > 10 * model.cpu_hours
    assert measured.expected_primes == model.expected_primes


def test_bad_requests_name_the_field():
    with pytest.raises(CampaignError, match="'form'.*no density model"):
        plan(PlanRequest("fermat", {"k": [3], "b": [2]}, "n", 100, 200))
    with pytest.raises(CampaignError, match="'range'"):
        plan(PlanRequest("kbn", {"k": [3], "b": [2], "c": [1]}, "p", 100, 200))
    with pytest.raises(CampaignError, match="'c'"):
        plan(PlanRequest("kbn", {"k": [3], "b": [2]}, "n", 100, 200))
    with pytest.raises(CampaignError, match="'x': is not a parameter of form 'kbn'"):
        plan(PlanRequest("kbn", {"k": [3], "b": [2], "c": [1], "x": [1]}, "n", 100, 200))
    with pytest.raises(CampaignError, match="'k'.*1..99:2"):
        parse_values("k", "three")
    assert parse_values("k", "1..9:2,15") == [1, 3, 5, 7, 9, 15]


def test_a_measurement_on_gmp_sizes_is_scaled_onto_fft_sizes(tmp_path):
    """3*2^n+1 measured at 5,000 bits (GMP's special loop) priced at 100,000 bits (the weighted FFT): the
    measurement scales by the model including the FFT's measured 4.97x, not by bits^2 log bits alone."""
    from darkreach_pipeline.forms.kbn import KbnForm
    from darkreach_pipeline.stores.costs import model_seconds
    from darkreach_pipeline.strategy.cost import test_cost

    store = CostStore(f"sqlite:///{tmp_path / 'costs.db'}")
    form = KbnForm(3, 2, 1)
    store.record("kbn", form.bits(5000), 10, 10 * 0.05)
    small, big = test_cost(form, 5000, store, 2), test_cost(form, 100_000, store, 2)
    assert small.arithmetic == "gmp-special" and big.arithmetic == "fft-ibdwt" and big.source == "measured"
    assert small.seconds == pytest.approx(0.05)
    plain = 0.05 * model_seconds(form.bits(100_000)) / model_seconds(form.bits(5000))
    assert big.seconds == pytest.approx(plain / 4.97, rel=1e-3)


@pytest.mark.parametrize("form_name, params, value", [
    ("kbn", {"k": 3, "b": 2, "c": 1}, 5_000),  # GMP's special-form loop
    ("kbn", {"k": 3, "b": 2, "c": -1}, 12_000),  # the weighted FFT
    ("factorial", {"c": 1}, 2_500),  # 25,000+ bits, no special shape: the generic FFT
    ("factorial", {"c": -1}, 300),  # small: GMP
    ("gfn", {"m": 12}, 1000),  # the GFN transform
])
def test_arithmetic_named_for_a_plan_is_the_one_the_engine_picks(form_name, params, value, monkeypatch):
    """The planner names the arithmetic from the number's shape alone; arith/select.py builds N and picks."""
    from darkreach_pipeline.arith.select import arithmetic_for
    from darkreach_pipeline.forms import form_class
    from darkreach_pipeline.strategy.cost import shape_bits, test_cost

    monkeypatch.delenv("DARKREACH_ARITH", raising=False)
    form = form_class(form_name, "b" if form_name == "gfn" else "n")(**params)
    shape = form.binary_shape(value)
    gfn = (value, params["m"]) if form_name == "gfn" else None
    engine = arithmetic_for(form.number(value), *(shape or (None, None, None)), gfn=gfn)
    named = test_cost(form, value, None, shape_bits(form, value)).arithmetic
    assert named == ("gmp-special" if engine.name == "gmp" and engine.special is not None else engine.name)


def test_parse_range():
    from darkreach_pipeline.strategy.planner import parse_range

    assert parse_range("range", "1000000..50000000") == (1_000_000, 50_000_000)  # never expanded
    for bad in ("100", "9..1", "a..b"):
        with pytest.raises(CampaignError, match="'range'.*MIN..MAX"):
            parse_range("range", bad)


def test_index_axis_forms_are_planned_by_their_candidates():
    """Palindromes: the range is a digit count, the blocks cut candidate indexes (13,122 of 17 digits in base 3;
    the planner used to cut the one digit count into blocks, 13,122 blocks of 1, and refuse the range); the
    model's count matches the primes among them, counted here, within its uncertainty."""
    (proposal,), skipped = plan(PlanRequest("palindromic", {"base": [3]}, "digits", 17, 17))
    assert skipped == []
    spec = proposal.spec
    assert spec.axis_max - spec.axis_min + 1 == 13_122
    form = form_class("palindromic", "digits")(base=3)
    found = sum(1 for v in range(spec.axis_min, spec.axis_max + 1) if gmpy2.is_prime(form.number(v)))
    assert abs(proposal.expected_primes - found) < 3 * proposal.expected_primes**0.5, (proposal.expected_primes, found)
