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
from darkreach_pipeline.stores.reliability import needs_double_check
from resources.campaigns import CampaignRegistryResource

AUDIT_SHARE = 50  # the daily audit re-checks 1 finished block in 50 (at least one)


@sensor(job=double_check_job, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING)
def verification_sensor(
    context: SensorEvaluationContext, campaign_registry: CampaignRegistryResource
) -> SensorResult | SkipReason:
    """For each newly materialised prp_results block, launch its double check when the policy asks
    (untrusted worker, 1-in-10 sample of a trusted one, possible record); and double-check every
    block of a worker whose reliability fell below 0.80. Run keys: a tick never launches work twice."""
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
        reason = needs_double_check(store.worker(worker_id), key, max_digits)
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
