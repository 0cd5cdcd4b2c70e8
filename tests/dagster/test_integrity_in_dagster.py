"""Result integrity in Dagster, in-process: a block with a missing or damaged file, or a failed blocking check, is
not finished; a rejected proof is re-tested, not reported; the audit finds damaged blocks and queues them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import PROTH
from dagster import AssetSelection, DagsterInstance, build_sensor_context, materialize
from test_assets import CAMPAIGN_ASSETS, fresh_resources, materialize_block, setup_campaign
from upath import UPath

from assets.campaign_progress import summarise
from assets.checks import CAMPAIGN_CHECKS
from assets.instance_queries import checks_passed, finished_blocks
from assets.integrity import damaged_blocks_sensor, integrity_audit
from darkreach_pipeline import settings
from darkreach_pipeline.audit import QUARANTINE, audit_blocks
from darkreach_pipeline.stores import integrity
from darkreach_pipeline.stores.results import read_stage_checked
from resources.results import ResultsLocation

SMALL = {**PROTH, "n_max": 80}  # two blocks: n = 1..40, 41..80


@pytest.fixture
def instance(darkreach_home):
    inst = DagsterInstance.ephemeral()
    yield inst
    inst.dispose()


@pytest.fixture
def finished(darkreach_home, instance):
    """Both blocks of SMALL materialised with their checks; returns (spec, keys, resources)."""
    spec = setup_campaign(instance, SMALL)
    resources = fresh_resources()
    for key in spec.partition_keys():
        assert materialize_block(instance, key, resources).success
    return spec, spec.partition_keys(), resources


def stored(asset: str, key: str) -> Path:
    return Path(settings.data_path()) / asset / f"{key}.parquet"


def rewrite(asset: str, key: str, frame: pd.DataFrame) -> None:
    """Store a changed frame with a valid checksum: what a wrong computation (not bit rot) would leave."""
    integrity.write_block(UPath(stored(asset, key)), frame, integrity.identity(asset, key))


def test_a_missing_or_damaged_file_leaves_its_block_unfinished_until_it_is_run_again(finished, instance,
                                                                                      pari_primes):
    spec, keys, resources = finished
    data = settings.data_path()
    assert finished_blocks(instance, keys, data) == (set(keys), {})
    stored("certificates", keys[1]).unlink()
    path = stored("prp_results", keys[0])
    path.write_bytes(path.read_bytes()[:-100])  # truncated

    done, damaged = finished_blocks(instance, keys, data)
    assert done == set()
    assert [d.what() for d in damaged[keys[1]]] == ["certificates: missing"]
    assert [(d.asset, d.reason) for d in damaged[keys[0]]] == [("prp_results", integrity.UNREADABLE)]
    lines = "\n".join(summarise(instance, spec, data, settings.progress_path()).lines())
    assert "0/2 blocks finished" in lines and "2 damaged" in lines
    assert f"damaged     {keys[1]}: certificates: missing" in lines
    assert f"damaged     {keys[0]}: prp_results: unreadable" in lines

    for key in keys:  # what `darkreach run` does with unfinished blocks
        assert materialize_block(instance, key, resources).success
    assert finished_blocks(instance, keys, data) == (set(keys), {})
    certs, bad = read_stage_checked(data, "certificates", spec.name)
    assert bad == [] and set(certs["n"]) == pari_primes(3, 2, 1, 1, 80)


@pytest.mark.parametrize("certificate", ['{"method": "proth", "witness": 5}', '{"method": "proth"}'],
                         ids=["wrong-witness", "malformed"])
def test_a_failed_blocking_check_leaves_the_block_unfinished_and_a_rejected_proof_is_retested(finished, instance,
                                                                                            certificate):
    """The issue's drill: a composite claimed prime by Proth in prp_results, certificates materialised: the check
    fails, the block is not done, the claim is 'rejected' (never 'prp'), and running the block re-tests it."""
    spec, keys, resources = finished
    key = keys[1]
    results = pd.read_parquet(stored("prp_results", key))
    composite = results.index[results["result"] == "composite"][0]
    n = int(results.loc[composite, "n"])
    results.loc[composite, ["result", "method", "certificate"]] = ["prime", "proth", certificate]
    rewrite("prp_results", key, results)

    outcome = materialize([*CAMPAIGN_ASSETS, *CAMPAIGN_CHECKS], selection=AssetSelection.assets("certificates"),
                          partition_key=key, instance=instance, resources=resources, raise_on_error=False)
    assert not outcome.success
    assert {e.check_name: e.passed for e in outcome.get_asset_check_evaluations()} == {
        "every_prime_has_verified_certificate": False}
    assert checks_passed(instance, keys) == {keys[0]}
    assert finished_blocks(instance, keys, settings.data_path())[0] == {keys[0]}
    certs = pd.read_parquet(stored("certificates", key)).set_index("n")
    assert certs.loc[n, "status"] == "rejected" and not certs.loc[n, "verified"]

    assert materialize_block(instance, key, resources).success  # the next run of the unfinished block
    retested = pd.read_parquet(stored("prp_results", key)).set_index("n")
    assert retested.loc[n, "result"] == "composite"
    assert n not in set(pd.read_parquet(stored("certificates", key))["n"])
    assert finished_blocks(instance, keys, settings.data_path())[0] == set(keys)


def test_the_audit_rederives_quarantines_and_seals(finished, instance):
    spec, keys, _ = finished
    data = settings.data_path()
    results = pd.read_parquet(stored("prp_results", keys[1]))
    results.loc[results["result"] == "composite", "res64"] = "0123456789abcdef"  # wrong residues, valid checksum
    rewrite("prp_results", keys[1], results)
    pd.read_parquet(stored("sieve_survivors", keys[0])).to_parquet(stored("sieve_survivors", keys[0]), index=False)
    assert finished_blocks(instance, keys, data)[0] == set(keys)  # checksums alone cannot see either

    report = audit_blocks(spec, data, keys, sample=len(keys))
    assert report.rederived == keys and list(report.damaged) == [keys[1]]
    assert any("stored RES64 0123456789abcdef" in p for p in report.damaged[keys[1]])
    assert report.sealed == [f"sieve_survivors/{keys[0]}"]
    assert integrity.is_sealed(stored("sieve_survivors", keys[0]).read_bytes())
    moved = Path(report.quarantined[keys[1]])
    assert moved.parent.name == QUARANTINE and (moved / "prp_results" / f"{keys[1]}.parquet").exists()
    done, damaged = finished_blocks(instance, keys, data)
    assert done == {keys[0]} and {d.reason for d in damaged[keys[1]]} == {integrity.MISSING}


def test_the_integrity_audit_asset_lists_a_damaged_block_and_the_sensor_queues_it(finished, instance):
    spec, keys, resources = finished
    path = stored("certificates", keys[0])
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # half of it lost

    result = materialize([integrity_audit], instance=instance, resources=resources)
    frame = result.output_for_node("integrity_audit")
    assert frame["block"].tolist() == [keys[0]]
    assert "certificates" in frame["problems"][0]
    metadata = result.asset_materializations_for_node("integrity_audit")[0].metadata
    assert metadata["damaged_blocks"].value == [keys[0]] and metadata["blocks_audited"].value == 2

    context = build_sensor_context(instance=instance, resources={
        "results_location": ResultsLocation(base_path=settings.data_path())})
    first = damaged_blocks_sensor(context)
    assert [r.partition_key for r in first.run_requests] == [keys[0]]
    again = build_sensor_context(instance=instance, cursor=first.cursor, resources={
        "results_location": ResultsLocation(base_path=settings.data_path())})
    assert not getattr(damaged_blocks_sensor(again), "run_requests", None)  # one request per audit
