"""The block pipeline: candidate_ranges -> sieve_survivors -> p_minus_1 -> prp_results (+ prp_proofs) -> certificates.

A run covers one block or a range of blocks (BackfillPolicy / campaign `blocks_per_run`); each asset handles
its blocks one after another and records metadata per block."""


import time

import pandas as pd
from dagster import AssetExecutionContext, AssetOut, Failure, MetadataValue, asset, multi_asset

from assets.partitions import (
    BlockFrames,
    block_keys,
    block_output,
    campaign_backfill_policy,
    campaign_blocks,
    per_block,
)
from darkreach_pipeline import blocks, settings
from darkreach_pipeline.factoring.stage import P_MINUS_1_FACTOR, p_minus_1_frame
from darkreach_pipeline.forms import form_for
from darkreach_pipeline.stores.sieve_imports import DamagedImportError
from darkreach_pipeline.stores.worker_identity import worker_identity
from darkreach_pipeline.verification.proof_check import split_proofs
from darkreach_pipeline.volunteer.acceptance import VOLUNTEER_HOST, volunteered_frame
from resources.campaigns import CampaignRegistryResource
from resources.checkpoint_store import CheckpointStoreResource
from resources.progress_files import BlockProgress


def block_metadata(context, key: str, metadata: dict, asset: str | None = None) -> None:
    """Metadata of one block's materialisation (in a run of several blocks, of that block only); `asset` names
    the output of a multi-asset."""
    if len(block_keys(context)) == 1:
        context.add_output_metadata(metadata, output_name=asset)  # also works when an asset is called directly
    else:
        context.add_asset_metadata(metadata, asset_key=asset, partition_key=key)


COMMON = {"partitions_def": campaign_blocks, "group_name": "campaign", "backfill_policy": campaign_backfill_policy,
          "dagster_type": BlockFrames}


@asset(**COMMON, op_tags={"dagster-celery/queue": "sieve"})
def candidate_ranges(context: AssetExecutionContext, campaign_registry: CampaignRegistryResource) -> BlockFrames:
    """Every axis value of the block, with algebraic or trivial exclusions marked."""
    out = {}
    for key in block_keys(context):
        spec, block = campaign_registry.resolve(key)
        frame = out[key] = blocks.candidate_frame(spec, block)
        lo, hi = spec.block_range(block)
        block_metadata(context, key,
            {"campaign": spec.name, "range": f"{spec.axis} = {lo}..{hi - 1}", "candidates": len(frame),
             "excluded": int((frame["excluded"] != "").sum())},
        )
    return block_output(out)


# deps: each block's slice of the campaign-wide sieve (assets/campaign_sieve.py), when one was run (lineage only:
# the slice is read from the sieve import store; a block without one sieves itself).
@asset(**COMMON, op_tags={"dagster-celery/queue": "sieve"}, deps=["campaign_sieve"])
def sieve_survivors(
    context: AssetExecutionContext,
    campaign_registry: CampaignRegistryResource,
    block_progress: BlockProgress,
    candidate_ranges: BlockFrames,
) -> BlockFrames:
    """The block sieved to the campaign's depth: survivors, and struck candidates with their factor.

    A campaign with an imported sieve file (`darkreach import-sieve`) or a campaign-wide sieve (`darkreach sieve`)
    starts from its survivors and sieves here only above its depth; the metadata names it (lineage)."""
    out = {}
    for key, candidates in per_block(context, candidate_ranges, "candidate_ranges").items():
        spec, block = campaign_registry.resolve(key)
        try:
            imported = campaign_registry.sieve_imports().block(spec.name, block)
        except DamagedImportError as exc:
            raise Failure(description=str(exc)) from None
        start = time.perf_counter()
        frame = out[key] = blocks.sieve_frame(spec, block, candidates, block_progress.reporter(key), imported)
        seconds = time.perf_counter() - start
        block_metadata(context, key,
            {"survivors": int((frame["status"] == blocks.SURVIVOR).sum()),
             "removed_by_factor": int((frame["status"] == blocks.FACTOR).sum()),
             "removed_by_import": int((frame["status"] == blocks.IMPORTED_REMOVAL).sum()),
             "sieve_depth": max(spec.sieve_depth, imported.sieved_to if imported else 0),
             "sieve_source": (f"imported {imported.describe()}"
                              + (f", then sieved here to {spec.sieve_depth}" if spec.sieve_depth > imported.sieved_to
                                 else "") if imported else "sieved here"),
             "seconds": round(seconds, 3)},
        )
    return block_output(out)


@asset(**COMMON, op_tags={"dagster-celery/queue": "prp"})
def p_minus_1(
    context: AssetExecutionContext,
    campaign_registry: CampaignRegistryResource,
    block_progress: BlockProgress,
    sieve_survivors: BlockFrames,
) -> BlockFrames:
    """The sieve's frame after P-1 (campaign key `p_minus_1`): with "auto", every survivor gets stage 1 and 2 with
    bounds chosen per size from the cost model (none where P-1 would cost more than the tests it saves) and those
    it factors are struck with the factor; with "off" the survivors pass through unchanged."""
    out = {}
    for key, sieved in per_block(context, sieve_survivors, "sieve_survivors").items():
        spec, block = campaign_registry.resolve(key)
        depth = spec.sieve_depth
        if spec.p_minus_1 != "off":
            try:
                imported = campaign_registry.sieve_imports().block(spec.name, block)
            except DamagedImportError as exc:
                raise Failure(description=str(exc)) from None
            depth = max(depth, imported.sieved_to if imported else 0)
        frame = out[key] = p_minus_1_frame(spec, sieved, depth, campaign_registry.costs(),
                                           block_progress.reporter(key))
        ran = frame[frame["p1_b1"] > 0]
        struck = frame[frame["status"] == P_MINUS_1_FACTOR]
        block_metadata(context, key,
            {"mode": spec.p_minus_1, "survivors_in": int((sieved["status"] == blocks.SURVIVOR).sum()),
             "p_minus_1_runs": len(ran), "factors_found": len(struck),
             "stage1_factors": int((struck["p1_stage"] == 1).sum()),
             "stage2_factors": int((struck["p1_stage"] == 2).sum()),
             "bounds": (f"B1 {ran['p1_b1'].min()}..{ran['p1_b1'].max()}, B2 {ran['p1_b2'].min()}..{ran['p1_b2'].max()}"
                        if len(ran) else "none (off, or no bounds save more than they cost)"),
             "cpu_seconds": round(float(frame["p1_seconds"].sum()), 3),
             "survivors": int((frame["status"] == blocks.SURVIVOR).sum())},
        )
    return block_output(out)


# No RetryPolicy: Dagster retries a step with one even when it was interrupted, so SIGTERM would not
# stop the run. A relaunched block resumes from its checkpoint instead.
@multi_asset(
    outs={
        "prp_results": AssetOut(dagster_type=BlockFrames, description=(
            "One test per survivor: result, method, RES64 (3^(N-1) mod N), seconds, software versions.")),
        "prp_proofs": AssetOut(dagster_type=BlockFrames, description=(
            "The Pietrzak proof of each test's residue, made during the test (base64, format in "
            "darkreach_pipeline/proofs/pietrzak.py), or why there is none.")),
    },
    partitions_def=campaign_blocks, group_name="campaign", backfill_policy=campaign_backfill_policy,
    op_tags={"dagster-celery/queue": "prp"},
)
def prp_results(
    context: AssetExecutionContext,
    campaign_registry: CampaignRegistryResource,
    block_progress: BlockProgress,
    checkpoint_store: CheckpointStoreResource,
    p_minus_1: BlockFrames,
):
    """Tests every survivor the sieve and P-1 left once (results and their proofs from the same chains: one step,
    one test each).

    Checkpointed while it runs (the residues kept for the proofs too); a retry or relaunch resumes where the
    last one stopped. Each block logs tested/total, rate and ETA as it runs (BlockProgress.log_every_seconds)."""
    out, proofs = {}, {}
    worker = worker_identity(settings.darkreach_home())
    survivors = per_block(context, p_minus_1, "p_minus_1")
    for number, (key, sieved) in enumerate(survivors.items(), start=1):
        if len(survivors) > 1:
            context.log.info(f"block {number}/{len(survivors)} of this run: {key}")
        out[key], proofs[key] = _test_block(context, key, sieved, campaign_registry, block_progress, checkpoint_store,
                                            worker, keep_checkpoint=len(survivors) > 1)
    return block_output(out), block_output(proofs)


def _test_block(context, key, sieved, campaign_registry, block_progress, checkpoint_store, worker,
                keep_checkpoint: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One block's tests and their proofs. keep_checkpoint: save all its rows when it is done, so that if a later
    block of the same run fails (and nothing of the run is stored), a relaunch replays this block instead of
    redoing it."""
    spec, block = campaign_registry.resolve(key)
    checkpointer = checkpoint_store.for_block(key, spec, block, context.log.warning)
    reporter = block_progress.reporter(key, context.log.info)
    start = time.perf_counter()
    volunteered = campaign_registry.volunteers().accepted_result(key)
    if volunteered is None:
        tests = blocks.test_frame(spec, block, sieved, reporter, checkpointer, worker)
    else:  # a volunteer's accepted result (`darkreach serve`): its rows, with the volunteer as the block's worker
        context.log.info(f"{key}: tests taken from volunteer {volunteered[1]} ({volunteered[0]})")
        tests = volunteered_frame(spec, block, sieved, volunteered[2],
                                  lambda rest: blocks.test_frame(spec, block, rest, reporter, checkpointer, worker))
        worker = (volunteered[0], f"{VOLUNTEER_HOST}:{volunteered[1]}")
    frame, proofs = split_proofs(tests, spec.axis)
    seconds = time.perf_counter() - start
    if keep_checkpoint:
        checkpointer.save()
    found = frame[frame["result"] != "composite"]
    test_seconds = float(frame["seconds"].sum())
    if len(frame) and volunteered is None:  # a volunteer's timings are its machine's, not this deployment's
        form = form_for(spec)
        mean_bits = sum(form.bits(int(v)) for v in frame[spec.axis]) / len(frame)
        campaign_registry.costs().record(spec.form, mean_bits, len(frame), test_seconds)
    max_digits = int(found["digits"].max()) if len(found) else 0
    campaign_registry.reliability().record_block(key, worker[0], worker[1], max_digits)
    block_metadata(context, key,
        {"tests": len(frame), "primes": int((frame["result"] == "prime").sum()),
         "probable_primes": int((frame["result"] == "probable-prime").sum()),
         "seconds": round(seconds, 3), "tests_per_second": round(len(frame) / seconds, 2) if seconds else 0.0,
         "test_seconds": round(test_seconds, 3),
         "gerbicz_checks": int(frame["gerbicz_checks"].sum()), "rollbacks": int(frame["rollbacks"].sum()),
         "worker": f"{worker[0]} ({worker[1]})", "resumed_from": checkpointer.resumed_from,
         "checkpoints_saved": checkpointer.saves,
         "checkpoint_rejected": checkpointer.rejected or "no",
         **reporter.metadata(),
         "found": MetadataValue.md(found[["expression", "result", "method"]].to_markdown(index=False)
                                   if len(found) else "none")},
        asset="prp_results",
    )
    made = int((proofs["proof"] != "").sum())
    block_metadata(context, key, {"proofs": made, "without_proof": len(proofs) - made,
                                  "proof_bytes": int(proofs["proof"].str.len().sum() * 3 // 4)}, asset="prp_proofs")
    return frame, proofs


@asset(**COMMON, op_tags={"dagster-celery/queue": "cert"})
def certificates(
    context: AssetExecutionContext,
    campaign_registry: CampaignRegistryResource,
    checkpoint_store: CheckpointStoreResource,
    prp_results: BlockFrames,
) -> BlockFrames:
    """Every prime and probable prime with its certificate, re-checked by the independent verifier."""
    out = {}
    for key, results in per_block(context, prp_results, "prp_results").items():
        spec, block = campaign_registry.resolve(key)
        frame = out[key] = blocks.certificate_frame(spec, results)
        # prp_results is stored by now: its checkpoint is no longer needed.
        checkpoint_store.for_block(key, spec, block, context.log.warning).clear()
        block_metadata(context, key,
            {"proven": int((frame["status"] == "proven").sum()), "prp": int((frame["status"] == "prp").sum()),
             "all_verified": bool(frame["verified"].all()) if len(frame) else True},
        )
    return block_output(out)
