"""Verification under the daemon: double checks for new results, and a daily random audit."""

import json
import random

from dagster import (
    AssetKey,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    schedule,
    sensor,
)

from assets.jobs import double_check_job
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.stores.reliability import needs_double_check, proofs_may_replace_double_check
from darkreach_pipeline.verification.proof_check import stored_block_review
from resources.campaigns import CampaignRegistryResource
from resources.results import ResultsLocation

AUDIT_SHARE = 50  # the daily audit re-checks 1 finished block in 50 (at least one)


RAMP_PER_TICK = 2  # double-check runs launched per tick (a tick every 30 s) at most ...
MAX_IN_FLIGHT = 2  # ... and never more than this many queued or running at once: verification ramps in
UNFINISHED = [DagsterRunStatus.NOT_STARTED, DagsterRunStatus.QUEUED, DagsterRunStatus.STARTING,
              DagsterRunStatus.STARTED]


def read_cursor(text: str | None) -> tuple[str | None, list[dict], dict[str, int]]:
    """(the prp_results event cursor, the backlog: [{key, run_key, why}] waiting to be launched, oldest first,
    {unreliable worker: its invalid blocks when all its blocks were last queued}). A cursor of an earlier version
    (the event cursor alone) has neither."""
    if not text:
        return None, [], {}
    if not text.startswith("{"):
        return text, [], {}
    state = json.loads(text)
    return state.get("events"), state.get("backlog", []), state.get("unreliable", {})


@sensor(job=double_check_job, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING)
def verification_sensor(
    context: SensorEvaluationContext, campaign_registry: CampaignRegistryResource, results_location: ResultsLocation
) -> SensorResult | SkipReason:
    """For each newly materialised prp_results block, queue its double check when the policy asks (untrusted
    worker, 1-in-10 sample of a trusted one, possible record); and queue every block of a worker whose reliability
    fell below 0.80. The queue (the backlog) is launched at a bounded rate: at most RAMP_PER_TICK runs a tick and
    MAX_IN_FLIGHT queued or running, so a first start on a home with many finished blocks does not take every
    core at once. The backlog is in the sensor's cursor and its count in each tick's message (the UI's sensor
    page) and in the `darkreach/backlog` tag of the runs it launches. Run keys: a tick never launches work twice.

    An untrusted worker's block is accepted without a double check when every result's Pietrzak proof passes
    the independent verifier here, in the daemon (a valid block for its reliability); a proof that fails
    counts against the worker (an invalid block) and the block is double-checked."""
    events, backlog, unreliable = read_cursor(context.cursor)
    records = context.instance.fetch_materializations(AssetKey("prp_results"), limit=500, cursor=events,
                                                      ascending=True)
    store = campaign_registry.reliability()
    queued = {item["key"]: item for item in backlog}
    for record in records.records:
        key = record.partition_key
        if key is None:
            continue
        worker_id, max_digits = store.block_worker(key) or ("", 0)
        worker = store.worker(worker_id)
        reason = needs_double_check(worker, key, max_digits)
        if reason and proofs_may_replace_double_check(worker, key, max_digits):
            reason = _review_by_proofs(context, campaign_registry, results_location, key, worker_id, reason)
        if reason:  # a block re-materialised while waiting is checked once, in its latest version
            queued.pop(key, None)
            queued[key] = {"key": key, "run_key": f"double-check:{key}:{record.storage_id}", "why": reason[:200]}
    for worker in store.workers():
        invalid = worker.total - worker.valid
        if worker.unreliable and unreliable.get(worker.worker_id) != invalid:
            # every block of it, again each time it records another invalid block
            unreliable[worker.worker_id] = invalid
            for key in store.blocks_of(worker.worker_id):
                if key not in queued:
                    queued[key] = {"key": key, "run_key": f"unreliable-worker:{key}:{invalid}",
                                   "why": f"worker {worker.worker_id[:8]} reliability {worker.reliability:.2f}"}
    backlog = list(queued.values())
    in_flight = len(context.instance.get_run_ids(
        filters=RunsFilter(job_name=double_check_job.name, statuses=UNFINISHED), limit=MAX_IN_FLIGHT))
    room = max(0, min(RAMP_PER_TICK, MAX_IN_FLIGHT - in_flight))
    launch, backlog = backlog[:room], backlog[room:]
    message = (f"double-check backlog: {len(backlog)} blocks waiting, {in_flight} checks queued or running; "
               f"launched {len(launch)} (at most {RAMP_PER_TICK} a tick, {MAX_IN_FLIGHT} at once)")
    cursor = json.dumps({"events": records.cursor, "backlog": backlog, "unreliable": unreliable})
    if not launch and cursor == (context.cursor or json.dumps({"events": None, "backlog": [], "unreliable": {}})):
        return SkipReason(message if backlog else "no new results to verify")
    context.log.info(message)
    runs = [RunRequest(partition_key=item["key"], run_key=item["run_key"],
                       tags={"darkreach/why": item["why"], "darkreach/backlog": str(len(backlog))}) for item in launch]
    return SensorResult(run_requests=runs, cursor=cursor, skip_reason=None if runs else message)


def _review_by_proofs(context, campaign_registry, results_location, key: str, worker_id: str, reason: str
                      ) -> str | None:
    """None when the block's proofs establish every result (recorded as a valid block); else why it is still
    double-checked (a rejected proof is recorded as an invalid block)."""
    try:
        spec, _ = campaign_registry.registry().resolve(key)
    except CampaignError as exc:  # a block of a campaign no longer registered: its double check will say so
        return f"{reason}; proofs not reviewed: {exc}"
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
