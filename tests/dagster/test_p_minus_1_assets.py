"""The p_minus_1 asset in the block graph: on, it strikes composites P-1 factors, prp_results tests only
the rest, the primes are exactly PARI's, and its blocking check re-verifies every stored factor."""

from __future__ import annotations

import pandas as pd
from conftest import PROTH
from dagster import AssetSelection, DagsterInstance, materialize

from assets.block_stages import candidate_ranges, certificates, p_minus_1, prp_results, sieve_survivors
from assets.checks import CAMPAIGN_CHECKS
from darkreach_pipeline import settings
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.factoring import stage
from darkreach_pipeline.stores.registry import open_registry

ASSETS = [candidate_ranges, sieve_survivors, p_minus_1, prp_results, certificates]


def test_p_minus_1_fixed_through_the_graph(darkreach_home, pari_primes):
    """With "fixed" bounds (the auto bounds skip numbers this small: their test costs less than P-1)."""
    from darkreach_pipeline.definitions import build_resources

    spec = parse_campaign({**PROTH, "name": "pm1", "n_max": 240, "block_size": 240, "sieve_depth": 100,
                           "p_minus_1": "fixed", "p_minus_1_b1": 300, "p_minus_1_b2": 20000})
    open_registry(settings.registry_url()).register(spec)
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("campaign_blocks", spec.partition_keys())
    resources = build_resources()
    key = spec.partition_key(0)
    try:
        result = materialize([*ASSETS, *CAMPAIGN_CHECKS], partition_key=key, instance=instance, resources=resources)
        assert result.success
        assert all(e.passed for e in result.get_asset_check_evaluations())
        sieved = result.output_for_node("sieve_survivors")
        factored = result.output_for_node("p_minus_1")
        tested = result.output_for_node("prp_results", "prp_results")
        struck = set(factored.loc[factored["status"] == stage.P_MINUS_1_FACTOR, "n"].astype(int))
        assert len(struck) >= 10
        survivors = set(sieved.loc[sieved["status"] == "survivor", "n"].astype(int))
        assert set(tested["n"].astype(int)) == survivors - struck  # P-1's factored numbers are not tested
        assert set(result.output_for_node("certificates")["n"].astype(int)) == pari_primes(3, 2, 1, 1, 240)
        meta = result.asset_materializations_for_node("p_minus_1")[0].metadata
        assert meta["factors_found"].value == len(struck) and meta["bounds"].value.startswith("B1 300..300")

        # A forged factor in the stored frame fails the blocking check.
        path = darkreach_home / "data" / "p_minus_1" / f"{key}.parquet"
        frame = pd.read_parquet(path)
        row = frame.index[frame["status"] == stage.P_MINUS_1_FACTOR][0]
        frame.loc[row, "p1_factor"] = str(int(frame.loc[row, "p1_factor"]) * 3)
        frame.to_parquet(path, index=False)
        checks = materialize([*ASSETS, *CAMPAIGN_CHECKS], selection=AssetSelection.checks(*CAMPAIGN_CHECKS),
                             tags={"dagster/partition": key}, instance=instance, resources=resources,
                             raise_on_error=False)
        outcome = {e.check_name: e for e in checks.get_asset_check_evaluations()}
        assert not outcome["every_p_minus_1_factor_divides"].passed
        assert "does not divide it properly" in outcome["every_p_minus_1_factor_divides"].metadata[
            "first_problems"].value
    finally:
        instance.dispose()
