"""The block assets and their checks, materialised in-process on a temporary instance."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import PROTH, RIESEL
from dagster import AssetKey, AssetSelection, DagsterInstance, build_asset_context, materialize

from assets.block_stages import candidate_ranges, certificates, p_minus_1, prp_results, sieve_survivors
from assets.checks import (
    CAMPAIGN_CHECKS,
    every_p_minus_1_factor_divides,
    every_prime_has_verified_certificate,
    every_survivor_tested_once,
    sieve_accounts_for_every_candidate,
)
from assets.primes import primes
from darkreach_pipeline import settings
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.stores.registry import open_registry
from darkreach_pipeline.stores.results import read_stage

CAMPAIGN_ASSETS = [candidate_ranges, sieve_survivors, p_minus_1, prp_results, certificates]
CHECK_NAMES = {"sieve_accounts_for_every_candidate", "every_p_minus_1_factor_divides", "every_survivor_tested_once",
               "every_proof_verifies", "every_prime_has_verified_certificate"}


def fresh_resources() -> dict:
    """Resources built from the environment as it is now (the module-level `defs` froze an older one)."""
    from darkreach_pipeline.definitions import build_resources

    return build_resources()


def setup_campaign(instance: DagsterInstance, raw: dict):
    spec = parse_campaign(raw)
    open_registry(settings.registry_url()).register(spec)
    instance.add_dynamic_partitions("campaign_blocks", spec.partition_keys())
    return spec


def materialize_block(instance, key, resources, raise_on_error=True):
    return materialize([*CAMPAIGN_ASSETS, *CAMPAIGN_CHECKS], partition_key=key, instance=instance,
                       resources=resources, raise_on_error=raise_on_error)


@pytest.fixture
def instance(darkreach_home):
    inst = DagsterInstance.ephemeral()
    yield inst
    inst.dispose()


@pytest.mark.parametrize("raw", [PROTH, RIESEL], ids=["proth", "riesel"])
def test_every_block_materialises_and_finds_exactly_the_primes(raw, darkreach_home, instance, pari_primes):
    spec = setup_campaign(instance, raw)
    resources = fresh_resources()
    found: set[int] = set()
    tested = 0
    for block, key in enumerate(spec.partition_keys()):
        result = materialize_block(instance, key, resources)
        assert result.success
        evaluations = result.get_asset_check_evaluations()
        assert {e.check_name for e in evaluations} == CHECK_NAMES
        assert all(e.passed for e in evaluations), [(e.check_name, e.metadata) for e in evaluations]

        sieved = result.output_for_node("sieve_survivors")
        results = result.output_for_node("prp_results", "prp_results")
        certs = result.output_for_node("certificates")
        lo, hi = spec.block_range(block)
        assert sorted(sieved["n"]) == list(range(lo, hi))
        assert (results["block"] == block).all() and (results["campaign"] == spec.name).all()
        assert set(results["n"]) == set(sieved.loc[sieved["status"] == "survivor", "n"])
        assert set(certs["n"]) == set(results.loc[results["result"] != "composite", "n"])
        assert (certs["status"] == "proven").all() and certs["verified"].all()  # every n here has a proof
        found |= set(certs["n"].astype(int))
        tested += len(results)

        meta = {a: result.asset_materializations_for_node(a)[0].metadata for a in
                ("candidate_ranges", "sieve_survivors", "p_minus_1", "prp_results", "certificates")}
        assert meta["candidate_ranges"]["candidates"].value == hi - lo
        assert meta["sieve_survivors"]["survivors"].value == int((sieved["status"] == "survivor").sum())
        assert meta["p_minus_1"]["mode"].value == "off" and meta["p_minus_1"]["factors_found"].value == 0
        assert meta["prp_results"]["tests"].value == len(results)
        assert meta["prp_results"]["primes"].value == int((results["result"] == "prime").sum())
        assert meta["certificates"]["proven"].value == len(certs)

        # the IO manager wrote one parquet file per asset and block under DARKREACH_HOME/data
        for asset in ("candidate_ranges", "sieve_survivors", "p_minus_1", "prp_results", "certificates"):
            assert (darkreach_home / "data" / asset / spec.name / f"{block:06d}.parquet").is_file()

    p = spec.params
    assert found == pari_primes(p["k"], p["b"], p["c"], spec.axis_min, spec.axis_max)
    assert tested > len(found)  # the sieve did not remove everything composite: real tests ran

    stored = read_stage(settings.data_path(), "certificates", campaign=spec.name)
    assert set(stored["n"]) == found
    for key in spec.partition_keys():
        assert key in instance.get_materialized_partitions(AssetKey("certificates"))


EDGE_CAMPAIGNS = {
    # Mersenne numbers: n = 0, 1 give N = 0, 1 (excluded); LLR with K = 1 is Lucas-Lehmer
    "mersenne": {"name": "mersenne", "form": "kbn", "k": 1, "b": 2, "c": -1, "n_min": 0, "n_max": 130,
                 "block_size": 70, "sieve_depth": 1000},
    # 2^n+1: N = 2 at n = 0; many algebraic factors
    "fermat": {"name": "fermat", "form": "kbn", "k": 1, "b": 2, "c": 1, "n_min": 0, "n_max": 130,
               "block_size": 70, "sieve_depth": 1000},
    # a base that is not a power of 2: no Proth/LLR theorem above 2^64, so probable primes
    "base10": {"name": "base10", "form": "kbn", "k": 7, "b": 10, "c": 1, "n_min": 0, "n_max": 60,
               "block_size": 40, "sieve_depth": 1000},
    # k with a factor of b's prime (k = 2 with b = 6 is not divisible by 6): K*2^e with e = n+1
    "base6": {"name": "base6", "form": "kbn", "k": 2, "b": 6, "c": -1, "n_min": 1, "n_max": 60,
              "block_size": 60, "sieve_depth": 1000},
}


@pytest.mark.parametrize("name", sorted(EDGE_CAMPAIGNS))
def test_edge_campaigns_find_exactly_the_primes(name, darkreach_home, instance, pari_primes):
    spec = setup_campaign(instance, EDGE_CAMPAIGNS[name])
    resources = fresh_resources()
    found: dict[int, str] = {}
    for key in spec.partition_keys():
        result = materialize_block(instance, key, resources)
        assert result.success
        assert all(e.passed for e in result.get_asset_check_evaluations())
        certs = result.output_for_node("certificates")
        assert certs["verified"].all()
        found.update(zip(certs["n"].astype(int), certs["status"], strict=True))
    p = spec.params
    assert set(found) == pari_primes(p["k"], p["b"], p["c"], spec.axis_min, spec.axis_max)
    for n, status in found.items():
        N = p["k"] * p["b"] ** n + p["c"]
        if N < 2**64:
            assert status == "proven", (n, status)  # deterministic below 2^64


def test_stale_partition_key_fails_with_the_fix(darkreach_home, instance):
    instance.add_dynamic_partitions("campaign_blocks", ["ghost/000000"])
    result = materialize_block(instance, "ghost/000000", fresh_resources(), raise_on_error=False)
    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    assert failures and failures[0].step_key == "candidate_ranges"
    message = failures[0].event_specific_data.error.message
    assert "not in the registry" in message and "ghost" in message
    assert not (darkreach_home / "data" / "candidate_ranges" / "ghost").exists()


def test_out_of_range_block_fails(darkreach_home, instance):
    setup_campaign(instance, PROTH)
    instance.add_dynamic_partitions("campaign_blocks", ["proth/000007"])
    result = materialize_block(instance, "proth/000007", fresh_resources(), raise_on_error=False)
    assert not result.success
    message = next(e for e in result.all_events if e.is_step_failure).event_specific_data.error.message
    assert "stale" in message and "000000..000002" in message


def parquet(home: Path, asset: str, key: str) -> Path:
    return home / "data" / asset / f"{key}.parquet"


def run_checks_only(instance, key, resources):
    """Re-run just the three checks of one block against the stored parquet files.

    A checks-only selection has no PartitionsDefinition of its own, so `partition_key=` is refused
    ("no PartitionsDefinition shared by all the provided assets"); the partition tag works. A plain list
    of check definitions as `selection` silently selects nothing: AssetSelection.checks(...) is needed."""
    return materialize([*CAMPAIGN_ASSETS, *CAMPAIGN_CHECKS], selection=AssetSelection.checks(*CAMPAIGN_CHECKS),
                       tags={"dagster/partition": key}, instance=instance, resources=resources,
                       raise_on_error=False)


def check_outcomes(result) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


@pytest.fixture
def materialized_block(darkreach_home, instance):
    """Block 0 of the proth campaign, materialised; returns (key, resources)."""
    setup_campaign(instance, PROTH)
    resources = fresh_resources()
    key = "proth/000000"
    assert materialize_block(instance, key, resources).success
    return key, resources


def test_checks_only_pass_on_intact_data(darkreach_home, instance, materialized_block):
    key, resources = materialized_block
    result = run_checks_only(instance, key, resources)
    assert result.success
    assert check_outcomes(result) == dict.fromkeys(CHECK_NAMES, True)
    assert not result.asset_materializations_for_node("prp_results")  # nothing was recomputed


@pytest.mark.parametrize("corruption", ["bad_res64", "dropped_row", "doubled_row"])
def test_check_fails_on_corrupted_prp_results(darkreach_home, instance, materialized_block, corruption):
    key, resources = materialized_block
    path = parquet(darkreach_home, "prp_results", key)
    frame = pd.read_parquet(path)
    assert len(frame) >= 2
    if corruption == "bad_res64":
        frame.loc[0, "res64"] = "xyz"
    elif corruption == "dropped_row":
        frame = frame.drop(index=len(frame) - 1)
    else:
        frame = pd.concat([frame, frame.iloc[[0]]], ignore_index=True)
    frame.to_parquet(path, index=False)

    result = run_checks_only(instance, key, resources)
    outcomes = check_outcomes(result)
    assert not result.success  # the checks are blocking: a failed one fails its step
    assert outcomes["every_survivor_tested_once"] is False
    assert outcomes["sieve_accounts_for_every_candidate"] is True
    evaluation = next(e for e in result.get_asset_check_evaluations() if e.check_name == "every_survivor_tested_once")
    problems = evaluation.metadata["first_problems"].value
    expected = {"bad_res64": "malformed RES64 'xyz'", "dropped_row": "untested survivors",
                "doubled_row": "tested more than once"}[corruption]
    assert expected in problems


def test_check_fails_on_a_false_factor_claim(darkreach_home, instance, materialized_block):
    key, resources = materialized_block
    path = parquet(darkreach_home, "sieve_survivors", key)
    frame = pd.read_parquet(path)
    struck = frame.index[frame["status"] == "factor"][0]
    frame.loc[struck, "factor"] = int(frame.loc[struck, "factor"]) + 2  # an odd number that does not divide N
    frame.to_parquet(path, index=False)
    outcomes = check_outcomes(run_checks_only(instance, key, resources))
    assert outcomes["sieve_accounts_for_every_candidate"] is False


def test_check_fails_on_a_missing_certificate(darkreach_home, instance, materialized_block):
    key, resources = materialized_block
    path = parquet(darkreach_home, "certificates", key)
    frame = pd.read_parquet(path)
    assert len(frame) >= 1
    frame.iloc[1:].to_parquet(path, index=False)
    outcomes = check_outcomes(run_checks_only(instance, key, resources))
    assert outcomes["every_prime_has_verified_certificate"] is False
    assert outcomes["every_survivor_tested_once"] is True


def test_checks_called_directly(darkreach_home, instance, materialized_block):
    """The check functions on stored frames, without a run. build_asset_check_context() takes no partition key
    (Dagster 1.13), and the checks read context.partition_key: a partitioned build_asset_context serves."""
    key, resources = materialized_block
    sieved = pd.read_parquet(parquet(darkreach_home, "sieve_survivors", key))
    factored = pd.read_parquet(parquet(darkreach_home, "p_minus_1", key))
    results = pd.read_parquet(parquet(darkreach_home, "prp_results", key))
    certs = pd.read_parquet(parquet(darkreach_home, "certificates", key))

    def call(check, **inputs):
        return check(context_for(check, key, instance, resources), **inputs)

    assert call(sieve_accounts_for_every_candidate, sieve_survivors=sieved).passed
    assert call(every_p_minus_1_factor_divides, p_minus_1=factored, sieve_survivors=sieved).passed
    assert call(every_survivor_tested_once, prp_results=results, p_minus_1=factored).passed
    assert call(every_prime_has_verified_certificate, certificates=certs, prp_results=results).passed
    bad = results.copy()
    bad.loc[0, "res64"] = "xyz"
    outcome = call(every_survivor_tested_once, prp_results=bad, p_minus_1=factored)
    assert not outcome.passed and outcome.metadata["problems"].value == 1


def test_a_failed_blocking_check_stops_the_downstream_assets(darkreach_home, instance, materialized_block,
                                                             monkeypatch):
    """A check that fails is blocking: certificates are not written from bad test results."""
    import assets.checks as checks_module

    key, resources = materialized_block
    cert_path = parquet(darkreach_home, "certificates", key)
    cert_path.unlink()
    monkeypatch.setattr(checks_module, "result_problems", lambda form, results: ["injected problem"])
    result = materialize_block(instance, key, resources, raise_on_error=False)
    assert not result.success
    assert check_outcomes(result)["every_survivor_tested_once"] is False
    assert not cert_path.exists()


def test_primes_gathers_every_block_and_writes_csv(darkreach_home, instance, pari_primes):
    resources = fresh_resources()
    expected = {}
    for raw in (PROTH, RIESEL):
        spec = setup_campaign(instance, raw)
        for key in spec.partition_keys():
            assert materialize_block(instance, key, resources).success
        p = spec.params
        expected[spec.name] = pari_primes(p["k"], p["b"], p["c"], spec.axis_min, spec.axis_max)

    result = materialize([*CAMPAIGN_ASSETS, primes], selection=[primes], instance=instance, resources=resources)
    assert result.success
    frame = result.output_for_node("primes")
    for name, ns in expected.items():
        assert set(frame.loc[frame["campaign"] == name, "n"]) == ns
    assert len(frame) == sum(len(ns) for ns in expected.values())

    csv = pd.read_csv(darkreach_home / "data" / "primes.csv")
    assert len(csv) == len(frame)
    assert {"campaign", "form", "k", "b", "c", "n", "expression", "digits", "status", "method"} <= set(csv.columns)
    for name, ns in expected.items():
        assert set(csv.loc[csv["campaign"] == name, "n"]) == ns
    assert (csv["status"] == "proven").all()
    meta = result.asset_materializations_for_node("primes")[0].metadata
    assert meta["primes"].value == len(frame)
    assert meta["proven"].value == len(frame)
    # digits are right (independently: len(str(N)))
    for row in csv.to_dict("records"):
        assert row["digits"] == len(str(row["k"] * row["b"] ** row["n"] + row["c"]))


def test_primes_on_an_empty_deployment(darkreach_home, instance):
    result = materialize([*CAMPAIGN_ASSETS, primes], selection=[primes], instance=instance,
                         resources=fresh_resources())
    assert result.success
    assert len(result.output_for_node("primes")) == 0
    assert (darkreach_home / "data" / "primes.csv").exists()


def context_for(asset_or_check, key, instance, resources):
    """A partitioned context carrying the resources this asset or check needs (whatever they are today)."""
    needed = {k: resources[k] for k in asset_or_check.required_resource_keys if k != "io_manager"}
    return build_asset_context(partition_key=key, instance=instance, resources=needed)


def test_direct_invocation_of_the_assets(darkreach_home, instance, pari_primes):
    """The assets as plain functions (build_asset_context): same chain, no run storage."""
    spec = setup_campaign(instance, PROTH)
    resources = fresh_resources()
    key = spec.partition_key(1)

    def call(asset_def, **inputs):
        return asset_def(context_for(asset_def, key, instance, resources), **inputs)

    rng = call(candidate_ranges)
    surv = call(sieve_survivors, candidate_ranges=rng)
    factored = call(p_minus_1, sieve_survivors=surv)
    res, proofs = call(prp_results, p_minus_1=factored)  # one step: results and their proofs
    certs = call(certificates, prp_results=res)
    lo, hi = spec.block_range(1)
    assert set(certs["n"]) == {n for n in pari_primes(3, 2, 1, 1, 120) if lo <= n < hi}
    assert set(res["n"]) == set(surv.loc[surv["status"] == "survivor", "n"]) == set(proofs["n"])
    progress_file = darkreach_home / "progress" / "proth__000001.json"
    assert progress_file.is_file()
