"""The integrity audit under the daemon: a nightly asset that re-verifies finished blocks, and a sensor that
queues the damaged ones for recomputation (the engine: darkreach_pipeline/audit.py)."""

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    MetadataValue,
    RunRequest,
    ScheduleDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    asset,
    define_asset_job,
    sensor,
)

from assets.jobs import campaign_job
from assets.progress import checks_passed
from assets.sensors import busy_or_done
from darkreach_pipeline.audit import audit_blocks
from resources.campaigns import CampaignRegistryResource
from resources.results import ResultsLocation


@asset(group_name="verification")
def integrity_audit(context: AssetExecutionContext, campaign_registry: CampaignRegistryResource,
                    results_location: ResultsLocation) -> pd.DataFrame:
    """Checksums of every finished block's files, and a sample of blocks re-derived (factor claims, residues,
    certificates). Damaged blocks are listed (metadata `damaged_blocks`), their files moved to _quarantine/,
    and damaged_blocks_sensor queues them for recomputation."""
    day = context.run.tags.get("dagster/scheduled_execution_time", context.run.run_id)
    rows, audited, rederived, sealed = [], 0, 0, 0
    for spec in campaign_registry.registry().all():
        keys = sorted(checks_passed(context.instance, spec.partition_keys()))
        report = audit_blocks(spec, results_location.base_path, keys, seed=day,
                              storage_options=results_location.storage_options)
        audited, rederived, sealed = audited + len(report.audited), rederived + len(report.rederived), \
            sealed + len(report.sealed)
        for line in report.lines():
            context.log.info(line)
        rows += [{"campaign": spec.name, "block": key, "problems": "; ".join(problems),
                  "quarantined_to": report.quarantined.get(key, "")} for key, problems in report.damaged.items()]
    frame = pd.DataFrame(rows, columns=["campaign", "block", "problems", "quarantined_to"])
    context.add_output_metadata({
        "blocks_audited": audited, "blocks_rederived": rederived, "files_sealed": sealed, "damaged": len(frame),
        "damaged_blocks": MetadataValue.json(frame["block"].tolist()),
        "report": MetadataValue.md(frame.to_markdown(index=False) if len(frame) else "no damaged block"),
    })
    return frame


integrity_audit_job = define_asset_job("integrity_audit_job", selection=AssetSelection.assets(integrity_audit),
                                       description="Verify finished blocks; re-derive a sample.")

integrity_audit_schedule = ScheduleDefinition(job=integrity_audit_job, cron_schedule="30 4 * * *",
                                              default_status=DefaultScheduleStatus.RUNNING,
                                              description="The integrity audit, every night.")


@sensor(job=campaign_job, minimum_interval_seconds=60, default_status=DefaultSensorStatus.RUNNING)
def damaged_blocks_sensor(context: SensorEvaluationContext, results_location: ResultsLocation
                          ) -> SensorResult | SkipReason:
    """Each new integrity_audit materialisation: run the blocks it found damaged again (one run per block),
    unless they are already queued, running or finished again."""
    records = context.instance.fetch_materializations(AssetKey("integrity_audit"), limit=20,
                                                      cursor=context.cursor or None, ascending=True)
    if not records.records:
        return SkipReason("no new integrity audit")
    runs = []
    for record in records.records:
        metadata = record.asset_materialization.metadata if record.asset_materialization else {}
        damaged = list(metadata["damaged_blocks"].value) if "damaged_blocks" in metadata else []
        skip = busy_or_done(context.instance, damaged, results_location)
        runs += [RunRequest(partition_key=key, run_key=f"integrity:{record.storage_id}:{key}",
                            tags={"darkreach/why": "integrity audit found it damaged"})
                 for key in damaged if key not in skip]
    return SensorResult(run_requests=runs, cursor=records.cursor)
