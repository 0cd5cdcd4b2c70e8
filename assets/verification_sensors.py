"""Verification under the daemon: double checks for new results, and a daily random audit."""

import random

from dagster import (
    AssetKey,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    schedule,
    sensor,
)

from assets.jobs import double_check_job
from darkreach_pipeline.stores.reliability import needs_double_check, proofs_may_replace_double_check
from darkreach_pipeline.verification.proof_check import stored_block_review
from resources.campaigns import CampaignRegistryResource
from resources.results import ResultsLocation

AUDIT_SHARE = 50  # the daily audit re-checks 1 finished block in 50 (at least one)


@sensor(job=double_check_job, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING)
def verification_sensor(
    context: SensorEvaluationContext, campaign_registry: CampaignRegistryResource, results_location: ResultsLocation
) -> SensorResult | SkipReason:
    """For each newly materialised prp_results block, launch its double check when the policy asks
    (untrusted worker, 1-in-10 sample of a trusted one, possible record); and double-check every
    block of a worker whose reliability fell below 0.80. Run keys: a tick never launches work twice.

    An untrusted worker's block is accepted without a double check when every result's Pietrzak proof passes
    the independent verifier here, in the daemon (a valid block for its reliability); a proof that fails
    counts against the worker (an invalid block) and the block is double-checked."""
    records = context.instance.fetch_materializations(
        AssetKey("prp_results"), limit=500, cursor=context.cursor or None, ascending=True
    )
    store = campaign_registry.reliability()
    runs: dict[str, RunRequest] = {}
    for record in records.records:
        key = record.partition_key
        if key is None:
            continue
        worker_id, max_digits = store.block_worker(key) or ("", 0)
        worker = store.worker(worker_id)
        reason = needs_double_check(worker, key, max_digits)
        if reason and proofs_may_replace_double_check(worker, key, max_digits):
            reason = _review_by_proofs(context, campaign_registry, results_location, key, worker_id, reason)
        if reason:
            run_key = f"double-check:{key}:{record.storage_id}"
            runs[run_key] = RunRequest(partition_key=key, run_key=run_key, tags={"darkreach/why": reason[:200]})
    requested = {run.partition_key for run in runs.values()}
    for worker in store.workers():
        if worker.unreliable:  # every block of it, again each time it records another invalid block
            for key in store.blocks_of(worker.worker_id):
                if key in requested:
                    continue
                requested.add(key)
                run_key = f"unreliable-worker:{key}:{worker.total - worker.valid}"
                runs[run_key] = RunRequest(partition_key=key, run_key=run_key, tags={
                    "darkreach/why": f"worker {worker.worker_id[:8]} reliability {worker.reliability:.2f}"})
    if not runs and records.cursor == context.cursor:
        return SkipReason("no new results to verify")
    return SensorResult(run_requests=list(runs.values()), cursor=records.cursor)


def _review_by_proofs(context, campaign_registry, results_location, key: str, worker_id: str, reason: str
                      ) -> str | None:
    """None when the block's proofs establish every result (recorded as a valid block); else why it is still
    double-checked (a rejected proof is recorded as an invalid block)."""
    spec, _ = campaign_registry.resolve(key)
    review, missing = stored_block_review(results_location.base_path, spec, key, results_location.storage_options)
    if review is None:
        context.log.info(f"{key}: {missing}, double-checked instead")
        return f"{reason}; {missing}"
    if review.complete:
        campaign_registry.reliability().record_validation(key, worker_id, True)
        context.log.info(f"{key}: accepted by its proofs ({review.summary()}), no double check")
        return None
    if review.rejected:
        campaign_registry.reliability().record_validation(key, worker_id, False)
        context.log.warning(f"{key}: proof rejected, counted against worker {worker_id[:8]}: {review.rejected[0]}")
        return f"proof rejected: {review.rejected[0]}"
    return f"{reason}; {len(review.unproven)} results without proof"


@schedule(job=double_check_job, cron_schedule="0 3 * * *", default_status=DefaultScheduleStatus.RUNNING)
def audit_schedule(context: ScheduleEvaluationContext):
    """Every night, re-check a random sample of finished blocks (seeded by the date: reproducible)."""
    finished = sorted(context.instance.get_materialized_partitions(AssetKey("certificates")))
    if not finished:
        return SkipReason("no finished blocks to audit")
    day = context.scheduled_execution_time.date().isoformat()
    sample = random.Random(day).sample(finished, k=max(1, len(finished) // AUDIT_SHARE))
    return [RunRequest(partition_key=key, run_key=f"audit:{day}:{key}", tags={"darkreach/why": "daily audit"})
            for key in sample]
