"""Every form runs through the same Dagster asset graph and checks, unchanged: one small campaign per
form variant (index axes and over-k variants included), materialised block by block; the stored
results equal the engine's own block functions and PARI/GP's verdict on every survivor."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from dagster import DagsterInstance
from oracles import pari
from test_assets import fresh_resources, materialize_block, setup_campaign

from darkreach_pipeline.forms import form_for

CAMPAIGNS = Path(__file__).resolve().parents[2] / "campaigns"
# template -> overrides that keep the campaign to a few small blocks
SMALL = {
    "factorial": {"n_min": 0, "n_max": 80, "block_size": 30},
    "primorial": {"p_min": 2, "p_max": 400, "block_size": 150},
    "cullen": {"n_min": 1, "n_max": 160, "block_size": 80},
    "woodall": {"n_min": 1, "n_max": 160, "block_size": 80},
    "carol": {"n_min": 0, "n_max": 90, "block_size": 45},
    "kynea": {"n_min": 0, "n_max": 90, "block_size": 45},
    "twin": {"n_min": 1, "n_max": 100, "block_size": 50},
    "twin_k": {"k_min": 1, "k_max": 30000, "block_size": 15000},
    "sophie_germain": {"n_min": 1, "n_max": 100, "block_size": 50},
    "sophie_germain_k": {"k_min": 1, "k_max": 40000, "block_size": 20000},
    "wagstaff": {"p_min": 3, "p_max": 200, "block_size": 100},
    "repunit": {"n_min": 2, "n_max": 120, "block_size": 60},
    "gfn": {"b_min": 2, "b_max": 600, "block_size": 300},
    "palindromic": {"digits_min": 1, "digits_max": 5, "block_size": 60},
    "near_repdigit": {"digits_min": 3, "digits_max": 15, "block_size": 40},
}


@pytest.fixture
def instance(darkreach_home):
    inst = DagsterInstance.ephemeral()
    yield inst
    inst.dispose()


@pytest.mark.parametrize("template", sorted(SMALL))
def test_form_campaign_through_the_asset_graph(template, instance):
    raw = {**tomllib.loads((CAMPAIGNS / f"{template}.toml").read_text()), **SMALL[template]}
    raw["sieve_depth"] = 2000
    spec = setup_campaign(instance, raw)
    form = form_for(spec)
    resources = fresh_resources()
    found, expected = set(), set()
    assert spec.block_count >= 2
    for key in spec.partition_keys():
        result = materialize_block(instance, key, resources)
        assert result.success
        assert all(e.passed for e in result.get_asset_check_evaluations())
        sieved = result.output_for_node("sieve_survivors")
        results = result.output_for_node("prp_results", "prp_results")
        survivors = sieved.loc[sieved["status"] == "survivor", spec.axis].astype(int)
        expected |= {v for v in survivors if all(pari.ispseudoprime(int(N)) for N in form.members(v))}
        found |= set(result.output_for_node("certificates")[spec.axis].astype(int))
        assert set(results[spec.axis]) == set(survivors)
    assert found == expected and found
