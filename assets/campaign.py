"""The block pipeline: candidate_ranges -> sieve_survivors -> prp_results -> certificates."""


import time

import pandas as pd
from dagster import AssetExecutionContext, MetadataValue, asset

from assets.partitions import campaign_blocks
from darkreach_pipeline import blocks, settings
from darkreach_pipeline.forms import form_for
from darkreach_pipeline.stores.worker_identity import worker_identity
from resources.campaigns import CampaignRegistryResource
from resources.checkpoints import CheckpointStoreResource
from resources.progress import BlockProgress

COMMON = {"partitions_def": campaign_blocks, "group_name": "campaign"}


@asset(**COMMON, op_tags={"dagster-celery/queue": "sieve"})
def candidate_ranges(context: AssetExecutionContext, campaign_registry: CampaignRegistryResource) -> pd.DataFrame:
    """Every axis value of the block, with algebraic or trivial exclusions marked."""
    spec, block = campaign_registry.resolve(context.partition_key)
    frame = blocks.candidate_frame(spec, block)
    lo, hi = spec.block_range(block)
    context.add_output_metadata(
        {"campaign": spec.name, "range": f"{spec.axis} = {lo}..{hi - 1}", "candidates": len(frame),
         "excluded": int((frame["excluded"] != "").sum())}
    )
    return frame


@asset(**COMMON, op_tags={"dagster-celery/queue": "sieve"})
def sieve_survivors(
    context: AssetExecutionContext,
    campaign_registry: CampaignRegistryResource,
    block_progress: BlockProgress,
    candidate_ranges: pd.DataFrame,
) -> pd.DataFrame:
    """The block sieved to the campaign's depth: survivors, and struck candidates with their factor."""
    spec, block = campaign_registry.resolve(context.partition_key)
    start = time.perf_counter()
    frame = blocks.sieve_frame(spec, block, candidate_ranges, block_progress.reporter(context.partition_key))
    seconds = time.perf_counter() - start
    survivors = int((frame["status"] == blocks.SURVIVOR).sum())
    context.add_output_metadata(
        {"survivors": survivors, "removed_by_factor": int((frame["status"] == blocks.FACTOR).sum()),
         "sieve_depth": spec.sieve_depth, "seconds": round(seconds, 3)}
    )
    return frame


# No RetryPolicy: Dagster retries a step with one even when it was interrupted, so SIGTERM would not
# stop the run. A relaunched block resumes from its checkpoint instead.
@asset(**COMMON, op_tags={"dagster-celery/queue": "prp"})
def prp_results(
    context: AssetExecutionContext,
    campaign_registry: CampaignRegistryResource,
    block_progress: BlockProgress,
    checkpoint_store: CheckpointStoreResource,
    sieve_survivors: pd.DataFrame,
) -> pd.DataFrame:
    """One test per survivor: result, method, RES64 (3^(N-1) mod N), seconds, software versions.

    Checkpointed while it runs; a retry or relaunch resumes where the last one stopped."""
    spec, block = campaign_registry.resolve(context.partition_key)
    checkpointer = checkpoint_store.for_block(context.partition_key, spec, block, context.log.warning)
    start = time.perf_counter()
    worker = worker_identity(settings.darkreach_home())
    frame = blocks.test_frame(
        spec, block, sieve_survivors, block_progress.reporter(context.partition_key), checkpointer, worker
    )
    seconds = time.perf_counter() - start
    found = frame[frame["result"] != "composite"]
    test_seconds = float(frame["seconds"].sum())
    if len(frame):
        form = form_for(spec)
        mean_bits = sum(form.bits(int(v)) for v in frame[spec.axis]) / len(frame)
        campaign_registry.costs().record(spec.form, mean_bits, len(frame), test_seconds)
    max_digits = int(found["digits"].max()) if len(found) else 0
    campaign_registry.reliability().record_block(context.partition_key, worker[0], worker[1], max_digits)
    context.add_output_metadata(
        {"tests": len(frame), "primes": int((frame["result"] == "prime").sum()),
         "probable_primes": int((frame["result"] == "probable-prime").sum()),
         "seconds": round(seconds, 3), "tests_per_second": round(len(frame) / seconds, 2) if seconds else 0.0,
         "test_seconds": round(test_seconds, 3),
         "gerbicz_checks": int(frame["gerbicz_checks"].sum()), "rollbacks": int(frame["rollbacks"].sum()),
         "worker": f"{worker[0]} ({worker[1]})", "resumed_from": checkpointer.resumed_from,
         "checkpoints_saved": checkpointer.saves,
         "checkpoint_rejected": checkpointer.rejected or "no",
         "found": MetadataValue.md(found[["expression", "result", "method"]].to_markdown(index=False)
                                   if len(found) else "none")}
    )
    return frame


@asset(**COMMON, op_tags={"dagster-celery/queue": "cert"})
def certificates(
    context: AssetExecutionContext,
    campaign_registry: CampaignRegistryResource,
    checkpoint_store: CheckpointStoreResource,
    prp_results: pd.DataFrame,
) -> pd.DataFrame:
    """Every prime and probable prime with its certificate, re-checked by the independent verifier."""
    spec, block = campaign_registry.resolve(context.partition_key)
    frame = blocks.certificate_frame(spec, prp_results)
    # prp_results is stored by now: its checkpoint is no longer needed.
    checkpoint_store.for_block(context.partition_key, spec, block, context.log.warning).clear()
    context.add_output_metadata(
        {"proven": int((frame["status"] == "proven").sum()), "prp": int((frame["status"] == "prp").sum()),
         "all_verified": bool(frame["verified"].all()) if len(frame) else True}
    )
    return frame
