"""Audits of each block's stored results: nothing lost, nothing doubled, every claim re-checked."""



import warnings

from dagster import (
    AssetCheckEvaluation,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetIn,
    AssetKey,
    Output,
    asset_check,
)
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,  # not exported; what AssetCheckResult fills in itself
)

from assets.block_stages import certificates, p_minus_1, sieve_survivors
from assets.partitions import BlockFrames, campaign_blocks, per_block
from darkreach_pipeline import blocks
from darkreach_pipeline.checks import (
    certificate_problems,
    factor_claim_problems,
    imported_removal_problems,
    p_minus_1_problems,
    result_problems,
    sieve_coverage_problems,
    tested_once_problems,
)
from darkreach_pipeline.forms import form_for
from darkreach_pipeline.stores.sieve_imports import DamagedImportError
from darkreach_pipeline.verification.proof_check import review_proofs
from resources.campaigns import CampaignRegistryResource

# Partitioned asset checks are "preview" in Dagster 1.13 but required here: without partitions_def a
# check loads every partition of its asset and fails on the first one not yet materialised.
warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec")


def _result(problems: list[str], **metadata) -> AssetCheckResult:
    return AssetCheckResult(passed=not problems, metadata=_metadata(problems, metadata))


def _metadata(problems: list[str], extra: dict) -> dict:
    return {"problems": len(problems), "first_problems": "; ".join(problems[:10]) or "none", **extra}


def _evaluations(context, asset_key: AssetKey, results: dict[str, tuple[list[str], dict]]):
    """One check result per block. A one-block run returns Dagster's usual AssetCheckResult. In a run of a
    partition key range (several blocks, or one given as a range) Dagster would record a single evaluation
    without a partition, so each block gets its own evaluation here (a generator of them), tied to that
    block's latest materialisation. A failure blocks the whole run."""
    if len(results) == 1 and context.has_partition_key:  # not a one-key range: Dagster records no partition then
        problems, extra = next(iter(results.values()))
        return _result(problems, **extra)
    return _per_block(context, asset_key, results)


def _per_block(context, asset_key: AssetKey, results: dict[str, tuple[list[str], dict]]):
    from assets.instance_queries import latest_block_materialisation  # it imports this module's checks

    check_name = context.check_specs[0].name
    for key, (problems, extra) in results.items():
        latest = latest_block_materialisation(context.instance, asset_key.to_user_string(), key)
        target = (AssetCheckEvaluationTargetMaterializationData(storage_id=latest.storage_id, run_id=latest.run_id,
                                                                timestamp=latest.timestamp)
                  if latest else None)
        yield AssetCheckEvaluation(asset_key=asset_key, check_name=check_name, passed=not problems,
                                   metadata=_metadata(problems, extra), target_materialization_data=target,
                                   severity=AssetCheckSeverity.ERROR, blocking=True, partition=key)
    yield Output(None)


@asset_check(asset=sieve_survivors, partitions_def=campaign_blocks, blocking=True)
def sieve_accounts_for_every_candidate(
    context, campaign_registry: CampaignRegistryResource, sieve_survivors: BlockFrames
):
    """Each axis value of the block appears once, every claimed factor really divides its number, and a
    candidate removed without a factor is one the block's imported sieve file left out."""
    results = {}
    for key, sieved in per_block(context, sieve_survivors, "sieve_survivors").items():
        spec, block = campaign_registry.resolve(key)
        problems = sieve_coverage_problems(spec, block, sieved)
        problems += factor_claim_problems(form_for(spec), spec.axis, sieved)
        try:
            imported = campaign_registry.sieve_imports().block(spec.name, block)
        except DamagedImportError as exc:
            problems.append(str(exc))
        else:
            problems += imported_removal_problems(spec.axis, sieved, imported)
        results[key] = (problems, {"survivors": int((sieved["status"] == blocks.SURVIVOR).sum())})
    return _evaluations(context, AssetKey("sieve_survivors"), results)


@asset_check(
    asset=p_minus_1,
    partitions_def=campaign_blocks,
    blocking=True,
    additional_ins={"sieve_survivors": AssetIn("sieve_survivors", dagster_type=BlockFrames)},
)
def every_p_minus_1_factor_divides(
    context, campaign_registry: CampaignRegistryResource, p_minus_1: BlockFrames, sieve_survivors: BlockFrames
):
    """P-1 struck only sieve survivors, each with a factor re-verified here (1 < f < N, N % f == 0); every other
    row is the sieve's unchanged."""
    sieved = per_block(context, sieve_survivors, "sieve_survivors")
    results = {}
    for key, factored in per_block(context, p_minus_1, "p_minus_1").items():
        spec, _ = campaign_registry.resolve(key)
        problems = p_minus_1_problems(form_for(spec), spec.axis, sieved[key], factored)
        results[key] = (problems, {"factors": int((factored["p1_factor"] != "").sum())})
    return _evaluations(context, AssetKey("p_minus_1"), results)


@asset_check(
    asset=AssetKey("prp_results"),
    partitions_def=campaign_blocks,
    blocking=True,
    additional_ins={"p_minus_1": AssetIn("p_minus_1", dagster_type=BlockFrames)},
)
def every_survivor_tested_once(
    context, campaign_registry: CampaignRegistryResource, prp_results: BlockFrames, p_minus_1: BlockFrames
):
    """The tested set equals the set of survivors of the sieve and P-1 exactly; residues are well formed; 'prime'
    only with a proof."""
    sieved = per_block(context, p_minus_1, "p_minus_1")
    results = {}
    for key, tested in per_block(context, prp_results, "prp_results").items():
        spec, _ = campaign_registry.resolve(key)
        problems = tested_once_problems(spec.axis, sieved[key], tested)
        problems += result_problems(form_for(spec), tested)
        results[key] = (problems, {"tests": len(tested)})
    return _evaluations(context, AssetKey("prp_results"), results)


@asset_check(
    asset=certificates,
    partitions_def=campaign_blocks,
    blocking=True,
    additional_ins={"prp_results": AssetIn("prp_results", dagster_type=BlockFrames)},
)
def every_prime_has_verified_certificate(
    context, campaign_registry: CampaignRegistryResource, certificates: BlockFrames, prp_results: BlockFrames
):
    """Each prime or PRP has a certificate row; each 'proven' one passed the independent verifier."""
    tested = per_block(context, prp_results, "prp_results")
    results = {}
    for key, certs in per_block(context, certificates, "certificates").items():
        spec, _ = campaign_registry.resolve(key)
        problems = certificate_problems(spec.axis, tested[key], certs)
        results[key] = (problems, {"certificates": len(certs)})
    return _evaluations(context, AssetKey("certificates"), results)


@asset_check(
    asset=AssetKey("prp_proofs"),
    partitions_def=campaign_blocks,
    blocking=True,
    additional_ins={"prp_results": AssetIn("prp_results", dagster_type=BlockFrames)},
)
def every_proof_verifies(
    context, campaign_registry: CampaignRegistryResource, prp_proofs: BlockFrames, prp_results: BlockFrames
):
    """Every stored proof passes the independent verifier and gives its result's RES64 (a result may lack a proof,
    with the reason recorded: then its block is double-checked as before)."""
    tested = per_block(context, prp_results, "prp_results")
    results = {}
    for key, proofs in per_block(context, prp_proofs, "prp_proofs").items():
        spec, _ = campaign_registry.resolve(key)
        review = review_proofs(form_for(spec), spec.axis, tested[key], proofs)
        results[key] = (review.rejected, {"accepted": len(review.accepted), "without_proof": len(review.unproven),
                                          "first_without_proof": "; ".join(review.unproven[:5]) or "none"})
    return _evaluations(context, AssetKey("prp_proofs"), results)


CAMPAIGN_CHECKS = [sieve_accounts_for_every_candidate, every_p_minus_1_factor_divides, every_survivor_tested_once,
                   every_proof_verifies, every_prime_has_verified_certificate]
