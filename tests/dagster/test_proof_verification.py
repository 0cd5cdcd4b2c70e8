"""Proofs through Dagster: a campaign stores prp_proofs beside prp_results, every_proof_verifies passes, and the
verification sensor accepts an untrusted worker's blocks by their proofs (checked in proof-check runs it launches,
never in its tick), rejects a tampered proof (counted against the worker) and double-checks a block whose proofs
file is damaged (not counted)."""

from __future__ import annotations

import base64
import json

import pandas as pd
import pytest
from dagster import AssetCheckKey, AssetKey, AssetSelection, DagsterInstance, DagsterRun, materialize
from dagster._core.utils import make_new_run_id
from test_verification import (
    CAMPAIGN_ASSETS,
    drain,
    fresh_resources,
    parquet,
    requests_of,
    run_proof_checks,
    setup_and_run_campaign,
    store,
    tick,
)
from upath import UPath

from assets.block_stages import prp_results
from assets.checks import CAMPAIGN_CHECKS, every_proof_verifies
from assets.instance_queries import checks_passed
from assets.proof_checks import proof_check_job, proof_checks
from darkreach_pipeline.proofs.pietrzak_verify import verify_prp_proof
from darkreach_pipeline.stores import integrity
from darkreach_pipeline.stores.reliability import sampled
from resources import run_coordinator
from resources.run_tags import CHECK_TAG, WHY_TAG

# 3*2^n+1 for n = 200..259: numbers above 2^64, every test a chain with a proof; 3 blocks
PROOFS = {"name": "proofs", "form": "kbn", "k": 3, "b": 2, "c": 1, "n_min": 200, "n_max": 259, "block_size": 20,
          "sieve_depth": 1000}


@pytest.fixture
def instance(darkreach_home):
    inst = DagsterInstance.ephemeral()
    yield inst
    inst.dispose()


def run_campaign(home, instance):
    """Every block through the campaign assets and their (blocking) checks: (spec, resources, worker id)."""
    resources = fresh_resources()
    spec = setup_and_run_campaign(instance, PROOFS, resources)
    return spec, resources, json.loads((home / "worker.json").read_text())["worker_id"]


def reseal(home, asset, key, frame):
    """Store a frame as the worker would (a valid checksum: a worker writes its own files in fleet mode)."""
    integrity.write_block(UPath(parquet(home, asset, key)), frame, integrity.identity(asset, key))


def test_campaign_stores_proofs_and_the_sensor_accepts_an_untrusted_worker_by_them(darkreach_home, instance):
    spec, _, worker_id = run_campaign(darkreach_home, instance)
    keys = spec.partition_keys()
    for key in keys:
        results = pd.read_parquet(parquet(darkreach_home, "prp_results", key))
        proofs = pd.read_parquet(parquet(darkreach_home, "prp_proofs", key))
        assert "proof" not in results and list(proofs["n"]) == list(results["n"]) and len(results)
        assert (proofs["proof"] != "").all(), proofs["proof_note"].tolist()
        for row in proofs.to_dict("records"):  # each proof checks out on its own, for its own number
            N = 3 * 2 ** int(row["n"]) + 1
            assert verify_prp_proof(N, base64.b64decode(row["proof"]), base=3, res64=row["res64"]).accepted
    history = instance.event_log_storage.get_asset_check_execution_history(
        AssetCheckKey(AssetKey("prp_proofs"), "every_proof_verifies"), limit=10)
    assert sorted((h.partition, h.status.value) for h in history) == [(k, "SUCCEEDED") for k in keys]
    assert not store().worker(worker_id).trusted

    checked = [k for k in keys if sampled(k, 10)]  # the 1-in-10 sample is double-checked whatever the proofs
    first = tick(instance)  # the tick verifies nothing itself: it launches a proof-check run per block
    proof_runs = [r for r in requests_of(first) if r.job_name == proof_check_job.name]
    assert sorted(r.partition_key for r in proof_runs) == [k for k in keys if k not in checked]
    assert all(r.tags[CHECK_TAG] == "proofs" and "not trusted" in r.tags[WHY_TAG] for r in proof_runs)
    assert store().worker(worker_id).total == 0
    run_proof_checks(instance, proof_runs)  # the runs record the validations ...
    requests, _ = drain(instance, first.cursor)  # ... and the next ticks read their outcomes: nothing to add
    assert sorted(r.partition_key for r in requests + requests_of(first) if r.job_name != proof_check_job.name
                  ) == checked
    record = store().worker(worker_id)
    assert (record.valid, record.total) == (len(keys) - len(checked), len(keys) - len(checked))
    for selection in (None, frozenset({AssetKey("proof_checks")})):  # the sensor's runs, and a UI selection
        assert run_coordinator.tests_blocks(DagsterRun(job_name=proof_check_job.name, run_id=make_new_run_id(),
                                                       asset_selection=selection))  # limited like block runs


def _tampered(proof_b64: str) -> str:
    proof = bytearray(base64.b64decode(proof_b64))
    proof[-1] ^= 1  # one bit of the last middle value
    return base64.b64encode(bytes(proof)).decode()


def test_a_tampered_proof_is_rejected_and_counted_a_damaged_file_is_not(darkreach_home, instance):
    """A valid-looking proof that fails counts against the worker (it stored it); a damaged proofs file falls back
    to the double check without blame (the worker may not have damaged it). The blocking check fails too."""
    spec, resources, worker_id = run_campaign(darkreach_home, instance)
    damaged, tampered = [k for k in spec.partition_keys() if not sampled(k, 10)][:2]  # reviewed in this order
    proofs = pd.read_parquet(parquet(darkreach_home, "prp_proofs", tampered))
    proofs.loc[0, "proof"] = _tampered(proofs.loc[0, "proof"])
    reseal(darkreach_home, "prp_proofs", tampered, proofs)
    path = parquet(darkreach_home, "prp_proofs", damaged)
    path.write_bytes(path.read_bytes()[:-64])  # a cut file: unreadable

    proof_runs = []
    requests = {r.partition_key: r for r in drain(instance, proof_runs=proof_runs)[0]}
    assert {damaged, tampered} <= {r.partition_key for r in proof_runs}  # checked in runs, outcomes read back
    assert "proof rejected" in requests[tampered].tags["darkreach/why"]
    assert "prp_proofs damaged" in requests[damaged].tags["darkreach/why"]
    record = store().worker(worker_id)
    assert (record.total, record.valid) == (1, 0) and record.reliability < 1.0

    result = materialize([*CAMPAIGN_ASSETS, *CAMPAIGN_CHECKS], selection=AssetSelection.checks(every_proof_verifies),
                         tags={"dagster/partition": tampered}, instance=instance, resources=resources,
                         raise_on_error=False)  # a checks-only run takes its partition as a tag (test_assets.py)
    assert not result.success
    evaluation = next(e for e in result.get_asset_check_evaluations() if e.check_name == "every_proof_verifies")
    assert evaluation.passed is False and evaluation.asset_key == AssetKey("prp_proofs")
    assert proofs.loc[0, "expression"] in evaluation.metadata["first_problems"].value


def test_prp_results_and_prp_proofs_are_one_step():
    assert set(prp_results.keys) == {AssetKey("prp_results"), AssetKey("prp_proofs")}
    assert len(prp_results.op.output_defs) == 2


def test_blocks_finished_before_proofs_stay_finished_but_a_failed_proof_check_does_not(darkreach_home, instance):
    """An upgrade must not re-run every finished block: a block with no every_proof_verifies evaluation at all
    (finished by an older version) counts as finished; one whose proof check failed does not."""
    spec, resources, _ = run_campaign(darkreach_home, instance)
    keys = spec.partition_keys()
    assert checks_passed(instance, keys) == set(keys)

    older = DagsterInstance.ephemeral()  # a block materialised as before proofs: no proof check
    older.add_dynamic_partitions("campaign_blocks", keys[:1])
    checks = [c for c in CAMPAIGN_CHECKS if c is not every_proof_verifies]
    assert materialize([*CAMPAIGN_ASSETS, *checks], partition_key=keys[0], instance=older, resources=resources).success
    assert checks_passed(older, keys[:1]) == {keys[0]}
    older.dispose()

    proofs = pd.read_parquet(parquet(darkreach_home, "prp_proofs", keys[0]))
    proofs.loc[0, "proof"] = _tampered(proofs.loc[0, "proof"])
    reseal(darkreach_home, "prp_proofs", keys[0], proofs)
    materialize([*CAMPAIGN_ASSETS, *CAMPAIGN_CHECKS], selection=AssetSelection.checks(every_proof_verifies),
                tags={"dagster/partition": keys[0]}, instance=instance, resources=resources, raise_on_error=False)
    assert checks_passed(instance, keys) == set(keys[1:])


def test_a_proof_check_that_cannot_run_hands_the_block_to_its_double_check(darkreach_home, instance):
    """A proof-check run that fails to review (here: a campaign no longer registered) still records an outcome,
    and the sensor's next tick reads it and queues the block's double check: no block is left unverified."""
    key = "gone/000000"
    instance.add_dynamic_partitions("campaign_blocks", [key])
    result = materialize([proof_checks], partition_key=key, instance=instance, resources=fresh_resources(),
                         tags={WHY_TAG: "worker abc is not trusted"})
    assert result.success
    metadata = result.asset_materializations_for_node("proof_checks")[0].metadata
    assert metadata["double_check"].value.startswith("worker abc is not trusted; proof check failed")
    assert metadata["validation"].value == "not judged"
    requests = requests_of(tick(instance))
    assert [(r.job_name, r.partition_key) for r in requests] == [("double_check_job", key)]
    assert "proof check failed" in requests[0].tags[WHY_TAG]
