"""Verification under the daemon: double checks (or proof checks) for new results, and a daily random audit."""

import json
import random

from dagster import (
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

from assets.instance_queries import materialisations_after, materialized_blocks, unfinished_runs
from assets.jobs import double_check_job
from assets.proof_checks import DOUBLE_CHECK, proof_check_job
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.stores.reliability import needs_double_check, proofs_may_replace_double_check
from resources.campaigns import CampaignRegistryResource
from resources.run_tags import BACKLOG_TAG, CHECK_TAG, WHY_TAG

AUDIT_SHARE = 50  # the daily audit re-checks 1 finished block in 50 (at least one)


RAMP_PER_TICK = 2  # double-check runs launched per tick (a tick every 30 s) at most ...
MAX_IN_FLIGHT = 2  # ... and never more than this many queued or running at once: verification ramps in


def read_cursor(text: str | None) -> tuple[str | None, list[dict], dict[str, int], str | None]:
    """(the prp_results event cursor, the backlog: [{key, run_key, why}] waiting to be launched, oldest first,
    {unreliable worker: its invalid blocks when all its blocks were last queued}, the proof_checks event cursor:
    the outcomes read so far). A cursor of an earlier version (the event cursor alone) has none of the others."""
    if not text:
        return None, [], {}, None
    if not text.startswith("{"):
        return text, [], {}, None
    state = json.loads(text)
    return state.get("events"), state.get("backlog", []), state.get("unreliable", {}), state.get("proofs")


@sensor(jobs=[double_check_job, proof_check_job], minimum_interval_seconds=30,
        default_status=DefaultSensorStatus.RUNNING)
def verification_sensor(
    context: SensorEvaluationContext, campaign_registry: CampaignRegistryResource
) -> SensorResult | SkipReason:
    """For each newly materialised prp_results block, queue its double check when the policy asks (untrusted
    worker, 1-in-10 sample of a trusted one, possible record); and queue every block of a worker whose reliability
    fell below 0.80. The queue (the backlog) is launched at a bounded rate: at most RAMP_PER_TICK runs a tick and
    MAX_IN_FLIGHT queued or running, so a first start on a home with many finished blocks does not take every
    core at once. The backlog is in the sensor's cursor and its count in each tick's message (the UI's sensor
    page) and in the `darkreach/backlog` tag of the runs it launches. Run keys: a tick never launches work twice.

    An untrusted worker's block may be accepted by its Pietrzak proofs instead: the sensor launches a
    proof_check_job run for it (assets/proof_checks.py: the verification happens there, never in this tick) and
    reads the outcome back from the proof_checks materialisations; a block the proofs did not settle (a proof
    rejected, a file missing or damaged, results without proof) joins the double-check backlog then."""
    events, backlog, unreliable, proof_events = read_cursor(context.cursor)
    records = materialisations_after(context.instance, "prp_results", events, 500)
    outcomes = materialisations_after(context.instance, "proof_checks", proof_events, 500)
    store = campaign_registry.reliability()
    queued = {item["key"]: item for item in backlog}
    proof_runs = []
    for record in records.records:
        key = record.partition_key
        if key is None:
            continue
        worker_id, max_digits = store.block_worker(key) or ("", 0)
        worker = store.worker(worker_id)
        reason = needs_double_check(worker, key, max_digits)
        if reason and proofs_may_replace_double_check(worker, key, max_digits):
            refused = _unless_proofs_may_settle(campaign_registry, key, reason)
            if refused is None:
                proof_runs.append(RunRequest(
                    job_name=proof_check_job.name, partition_key=key, run_key=f"proof-check:{key}:{record.storage_id}",
                    tags={WHY_TAG: reason[:200], CHECK_TAG: "proofs"}))
                queued.pop(key, None)  # its latest version is settled by the proof check first
                continue
            reason = refused
        if reason:  # a block re-materialised while waiting is checked once, in its latest version
            queued.pop(key, None)
            queued[key] = {"key": key, "run_key": f"double-check:{key}:{record.storage_id}", "why": reason[:200]}
    for record in outcomes.records:  # the proof checks' outcomes: a block they did not settle is double-checked
        materialization = record.asset_materialization
        entry = materialization.metadata.get(DOUBLE_CHECK) if materialization else None
        why = str(getattr(entry, "value", entry) or "")
        if record.partition_key and why:
            queued.pop(record.partition_key, None)
            queued[record.partition_key] = {"key": record.partition_key, "why": why[:200],
                                            "run_key": f"double-check:{record.partition_key}:{record.storage_id}"}
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
    in_flight = len(unfinished_runs(context.instance, double_check_job.name, limit=MAX_IN_FLIGHT))
    room = max(0, min(RAMP_PER_TICK, MAX_IN_FLIGHT - in_flight))
    launch, backlog = backlog[:room], backlog[room:]
    message = (f"double-check backlog: {len(backlog)} blocks waiting, {in_flight} checks queued or running; "
               f"launched {len(launch)} (at most {RAMP_PER_TICK} a tick, {MAX_IN_FLIGHT} at once)"
               f" and {len(proof_runs)} proof checks")
    cursor = json.dumps({"events": records.cursor, "backlog": backlog, "unreliable": unreliable,
                         "proofs": outcomes.cursor})
    unchanged = json.dumps({"events": None, "backlog": [], "unreliable": {}, "proofs": None})
    if not launch and not proof_runs and cursor == (context.cursor or unchanged):
        return SkipReason(message if backlog else "no new results to verify")
    context.log.info(message)
    runs = proof_runs + [
        RunRequest(job_name=double_check_job.name, partition_key=item["key"], run_key=item["run_key"],
                   tags={WHY_TAG: item["why"], BACKLOG_TAG: str(len(backlog))}) for item in launch]
    return SensorResult(run_requests=runs, cursor=cursor, skip_reason=None if runs else message)


def _unless_proofs_may_settle(campaign_registry: CampaignRegistryResource, key: str, reason: str) -> str | None:
    """None when the block goes to a proof check; else why it is double-checked straight away (a campaign no
    longer registered: its double check will say so). A registry look-up, no file is read here."""
    try:
        campaign_registry.registry().resolve(key)
    except CampaignError as exc:
        return f"{reason}; proofs not reviewed: {exc}"
    return None


@schedule(job=double_check_job, cron_schedule="0 3 * * *", default_status=DefaultScheduleStatus.RUNNING)
def audit_schedule(context: ScheduleEvaluationContext):
    """Every night, re-check a random sample of finished blocks (seeded by the date: reproducible)."""
    finished = sorted(materialized_blocks(context.instance, "certificates"))
    if not finished:
        return SkipReason("no finished blocks to audit")
    day = context.scheduled_execution_time.date().isoformat()
    sample = random.Random(day).sample(finished, k=max(1, len(finished) // AUDIT_SHARE))
    return [RunRequest(partition_key=key, run_key=f"audit:{day}:{key}", tags={WHY_TAG: "daily audit"})
            for key in sample]
