"""Results that follow the blocks: `primes`, `verified_primes` (with verified_primes.csv and top5000.txt),
`campaign_progress` and the strategist's summaries (`announcements`, `campaign_feedback`, `fleet_advice`) are
refreshed after blocks finish, whichever way their runs were launched (UI, `dagster asset
materialize`, `dagster job backfill`, `darkreach backfill`, the campaign-file sensor): the sensor watches the
instance's materialisations of the blocks' last stages, not a launcher."""

from dagster import (
    AssetKey,
    AssetSelection,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    sensor,
)

RESULT_ASSETS = ("primes", "verified_primes", "campaign_progress", "announcements", "campaign_feedback",
                 "fleet_advice")
WATCHED = ("certificates", "double_checks")  # a block finished / a block's residues were double-checked
REFRESH_EVERY_SECONDS = 30  # at most one refresh per interval, however many blocks finish in it
UNFINISHED = [DagsterRunStatus.NOT_STARTED, DagsterRunStatus.QUEUED, DagsterRunStatus.STARTING,
              DagsterRunStatus.STARTED]

results_job = define_asset_job(
    "results_job", selection=AssetSelection.assets(*RESULT_ASSETS),
    description="Refresh primes (primes.csv), verified_primes (verified_primes.csv, top5000.txt), "
                "campaign_progress, announcements, campaign_feedback and fleet_advice from the stored blocks.",
)


def latest_materialisations(instance) -> str | None:
    """'<certificates storage id>:<double_checks storage id>' of the latest of each; None before any."""
    ids = []
    for name in WATCHED:
        records = instance.fetch_materializations(AssetKey(name), limit=1, ascending=False).records
        ids.append(str(records[0].storage_id) if records else "-")
    return None if ids == ["-"] * len(WATCHED) else ":".join(ids)


@sensor(job=results_job, minimum_interval_seconds=REFRESH_EVERY_SECONDS, default_status=DefaultSensorStatus.RUNNING)
def results_sensor(context: SensorEvaluationContext) -> SensorResult | SkipReason:
    """Refresh the results when a block's certificates or double checks were materialised since the last refresh.
    One refresh at a time: while one is queued or running the cursor stays, so the next tick after it catches
    every block that finished meanwhile."""
    latest = latest_materialisations(context.instance)
    if latest is None or latest == context.cursor:
        return SkipReason("no block finished or double-checked since the last refresh")
    busy = context.instance.get_runs(filters=RunsFilter(job_name=results_job.name, statuses=UNFINISHED), limit=1)
    if busy:
        return SkipReason(f"blocks finished; waiting for refresh run {busy[0].run_id} to end first")
    return SensorResult(run_requests=[RunRequest(run_key=f"results:{latest}")], cursor=latest)
