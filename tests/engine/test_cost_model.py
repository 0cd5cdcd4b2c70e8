"""The one cost model (darkreach_pipeline/cost_model.py) and the auto sieve depth it gives every template.

The depths below were computed on main (commit b47046e) before the nine copies of the model became one: the
refactor must not move any campaign's auto depth. Each row: (scale, block_size, depth) for the template's
parameters over axis_min*scale .. axis_max*scale, so the fixed point is pinned from the clamp at 10^3 up to
the 2^32 - 1 ceiling, not only at the templates' small ranges. Exactly: a campaign's auto depth is part of its
fingerprint, and a registered campaign whose depth moved would be refused when its file is read again.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

from darkreach_pipeline import cost_model
from darkreach_pipeline.campaign import load_campaign
from darkreach_pipeline.forms import form_class

CAMPAIGNS = Path(__file__).resolve().parents[2] / "campaigns"

PINNED_ON_MAIN = {
    "carol": [
        (1, 250, 719062), (1, 100000, 843918), (10, 250, 70704525), (10, 100000, 87906925),
        (100, 250, 4294967295), (100, 100000, 4294967295), (1000, 250, 4294967295), (1000, 100000, 4294967295),
    ],
    "cullen": [
        (1, 500, 526687), (1, 100000, 584440), (10, 500, 49879740), (10, 100000, 56084154),
        (100, 500, 4294967295), (100, 100000, 4294967295), (1000, 500, 4294967295), (1000, 100000, 4294967295),
    ],
    "factorial": [
        (1, 100, 836085), (1, 100000, 1609978), (10, 100, 244825773), (10, 100000, 686446190),
        (100, 100, 4294967295), (100, 100000, 4294967295), (1000, 100, 4294967295), (1000, 100000, 4294967295),
    ],
    "gfn": [
        (1, 2500, 4110733), (1, 100000, 15144492), (10, 2500, 6551392), (10, 100000, 214368248),
        (100, 2500, 9562283), (100, 100000, 314223694), (1000, 2500, 13144519), (1000, 100000, 433368839),
    ],
    "kynea": [
        (1, 250, 719062), (1, 100000, 843918), (10, 250, 70704525), (10, 100000, 87906925),
        (100, 250, 4294967295), (100, 100000, 4294967295), (1000, 250, 4294967295), (1000, 100000, 4294967295),
    ],
    "near_repdigit": [
        (1, 420, 3570), (1, 100000, 3570), (10, 420, 14801), (10, 100000, 14801),
        (100, 420, 125698), (100, 100000, 125698), (1000, 420, 1212374), (1000, 100000, 1212374),
    ],
    "palindromic": [
        (1, 1500, 3163), (1, 100000, 3163), (10, 1500, 5440), (10, 100000, 5440),
        (100, 1500, 5440), (100, 100000, 5440), (1000, 1500, 5440), (1000, 100000, 5440),
    ],
    "primorial": [
        (1, 250, 157499), (1, 100000, 420134), (10, 250, 16519742), (10, 100000, 106915977),
        (100, 250, 1532596020), (100, 100000, 4294967295), (1000, 250, 4294967295), (1000, 100000, 4294967295),
    ],
    "quickstart": [
        (1, 500, 3243679), (1, 100000, 12411038), (10, 500, 318200638), (10, 100000, 4294967295),
        (100, 500, 4294967295), (100, 100000, 4294967295), (1000, 500, 4294967295), (1000, 100000, 4294967295),
    ],
    "repunit": [
        (1, 200, 5348304), (1, 100000, 10590090), (10, 200, 747694093), (10, 100000, 4294967295),
        (100, 200, 4294967295), (100, 100000, 4294967295), (1000, 200, 4294967295), (1000, 100000, 4294967295),
    ],
    "sophie_germain": [
        (1, 750, 210336), (1, 100000, 441857), (10, 750, 14915195), (10, 100000, 116220042),
        (100, 750, 1150101604), (100, 100000, 4294967295), (1000, 750, 4294967295), (1000, 100000, 4294967295),
    ],
    "sophie_germain_k": [
        (1, 25000, 118140), (1, 100000, 389086), (10, 25000, 120454), (10, 100000, 396815),
        (100, 25000, 122790), (100, 100000, 404615), (1000, 25000, 125147), (1000, 100000, 412487),
    ],
    "twin": [
        (1, 500, 45067), (1, 100000, 93332), (10, 500, 3030931), (10, 100000, 23114373),
        (100, 500, 226205889), (100, 100000, 4294967295), (1000, 500, 4294967295), (1000, 100000, 4294967295),
    ],
    "twin_k": [
        (1, 50000, 106119), (1, 100000, 192044), (10, 50000, 109166), (10, 100000, 197598),
        (100, 50000, 112252), (100, 100000, 203226), (1000, 50000, 115379), (1000, 100000, 208928),
    ],
    "wagstaff": [
        (1, 500, 8945107), (1, 100000, 19493122), (10, 500, 1206946006), (10, 100000, 4294967295),
        (100, 500, 4294967295), (100, 100000, 4294967295), (1000, 500, 4294967295), (1000, 100000, 4294967295),
    ],
    "woodall": [
        (1, 250, 32180), (1, 100000, 37645), (10, 250, 2954404), (10, 100000, 3664461),
        (100, 250, 283994384), (100, 100000, 355391908), (1000, 250, 4294967295), (1000, 100000, 4294967295),
    ],
}


@pytest.mark.parametrize("template", sorted(PINNED_ON_MAIN))
def test_auto_depth_of_every_template_is_unchanged(template: str) -> None:
    spec = load_campaign(CAMPAIGNS / f"{template}.toml")
    cls = form_class(spec.form, spec.range_key)
    assert spec.sieve_depth == PINNED_ON_MAIN[template][0][2]
    for scale, block, depth in PINNED_ON_MAIN[template]:
        got = cls.auto_sieve_depth(spec.params, spec.axis_min * scale, spec.axis_max * scale, block)
        assert got == depth, (scale, block)


def test_no_pinned_template_went_missing() -> None:
    """A template added later needs no row here (it has no depth from before the refactor to keep)."""
    assert set(PINNED_ON_MAIN) <= {p.stem for p in CAMPAIGNS.glob("*.toml")}


ROUNDS_FOR_CONVERGED = 30


def patch_rounds(patch: pytest.MonkeyPatch, cls: type, rounds: int) -> None:
    """Make every caller of cost_model.balanced_depth (forms import the name, sieve/order.py the module) run
    `rounds` rounds, whatever count the form passes."""
    original = cost_model.balanced_depth

    def forced(*args, **kwargs):
        return original(*args, **{**kwargs, "rounds": rounds})

    patch.setattr(cost_model, "balanced_depth", forced)
    for module in {cls.__module__, "darkreach_pipeline.forms.pair_base"}:
        if hasattr(sys.modules[module], "balanced_depth"):
            patch.setattr(sys.modules[module], "balanced_depth", forced)


def test_the_rounds_reach_the_fixed_point() -> None:
    """More rounds move no template's depth by more than 0.1%: the depth is the balance, not an artefact of
    the 4 or 6 rounds each form keeps."""
    for template in PINNED_ON_MAIN:
        spec = load_campaign(CAMPAIGNS / f"{template}.toml")
        cls = form_class(spec.form, spec.range_key)
        for scale in (1, 100):
            lo, hi = spec.axis_min * scale, spec.axis_max * scale
            depth = cls.auto_sieve_depth(spec.params, lo, hi, 10**5)
            with pytest.MonkeyPatch.context() as patch:
                patch_rounds(patch, cls, ROUNDS_FOR_CONVERGED)
                converged = cls.auto_sieve_depth(spec.params, lo, hi, 10**5)
            assert depth == pytest.approx(converged, rel=1e-3), template


def test_test_seconds_is_the_measured_constant_times_bits_squared_log_bits() -> None:
    assert cost_model.test_seconds(10_000, special=True) == pytest.approx(1.4e-10 * 1e8 * math.log2(1e4))
    assert cost_model.test_seconds(10_000, special=False) == pytest.approx(2.5 * cost_model.test_seconds(10_000, True))
    assert cost_model.test_seconds(10, special=True) == cost_model.test_seconds(64, special=True)


def test_balanced_depth_is_clamped_and_grows_with_the_test_cost() -> None:
    survivors = lambda depth: 1000 * 1.12 / math.log(depth)  # noqa: E731
    cheap = cost_model.balanced_depth(survivors, 1e-6, 1e-6)
    dear = cost_model.balanced_depth(survivors, 1.0, 1e-6)
    assert cheap == cost_model.MIN_DEPTH and cost_model.MIN_DEPTH < dear < cost_model.MAX_DEPTH
    assert cost_model.balanced_depth(survivors, 1e6, 1e-6) == cost_model.MAX_DEPTH
    assert cost_model.balanced_depth(survivors, 1.0, lambda depth: 1e-6) == dear
