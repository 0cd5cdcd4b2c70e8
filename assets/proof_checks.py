"""Proof checks: a block's Pietrzak proofs verified in a run of its own, launched by the verification sensor.

Verifying costs a few percent of the block's tests: too long for the daemon's sensor tick, which must stay short
for every other sensor. So the sensor launches a `proof_check_job` run for the block (tagged, queued and limited
by the run coordinator like the block runs) and only reads the outcome back from this asset's metadata:
`double_check` empty when the proofs replace the double check, else why the block still gets one."""

import pandas as pd
from dagster import AssetExecutionContext, AssetSelection, Output, asset, define_asset_job

from assets.partitions import campaign_blocks
from darkreach_pipeline.verification.proof_check import BlockProofCheck, check_block
from resources.campaigns import CampaignRegistryResource
from resources.results import ResultsLocation
from resources.run_tags import WHY_TAG

DOUBLE_CHECK = "double_check"  # the metadata entry the sensor reads


@asset(partitions_def=campaign_blocks, group_name="verification", deps=["prp_results", "prp_proofs"],
       op_tags={"dagster-celery/queue": "prp"})
def proof_checks(context: AssetExecutionContext, campaign_registry: CampaignRegistryResource,
                 results_location: ResultsLocation) -> Output[pd.DataFrame]:
    """Every result of the block checked against its stored proof by the independent verifier. An accepted block
    counts as a valid block of its worker (no double check); a rejected proof counts against it like a
    mismatched residue; a missing or damaged file, or results without proof, leave the block to its double
    check without blame."""
    key = context.partition_key
    why = context.run.tags.get(WHY_TAG, "proofs checked on request")
    try:
        spec, _ = campaign_registry.resolve(key)
        outcome = check_block(results_location.base_path, spec, key, why, results_location.storage_options)
    except Exception as exc:  # noqa: BLE001 - never leave a block unverified: its double check takes over
        outcome = BlockProofCheck(None, None, f"{why}; proof check failed: {exc}")
    reliability = campaign_registry.reliability()
    worker_id = (reliability.block_worker(key) or ("", 0))[0]
    if outcome.validation is not None and worker_id:
        reliability.record_validation(key, worker_id, outcome.validation)
    if outcome.validation is False:
        context.log.warning(f"{key}: proof rejected, counted against worker {worker_id[:8]}: {outcome.double_check}")
    else:
        context.log.info(f"{key}: {outcome.summary()}; " + (outcome.double_check or "no double check needed"))
    return Output(outcome.frame(), metadata={
        DOUBLE_CHECK: outcome.double_check, "summary": outcome.summary(), "worker": worker_id or "unknown",
        "validation": {True: "valid", False: "invalid", None: "not judged"}[outcome.validation],
    })


proof_check_job = define_asset_job(
    "proof_check_job",
    selection=AssetSelection.assets(proof_checks),
    description="Verify a block's Pietrzak proofs (launched by the verification sensor for an untrusted worker).",
)
