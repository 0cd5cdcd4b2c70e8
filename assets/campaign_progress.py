"""campaign_progress: one row per campaign (blocks done / running / queued / failed, candidates tested, primes,
throughput, ETA), computed by the engine from stored results and the instance's runs; `darkreach status`
prints the same summary."""

import pandas as pd
from dagster import (
    AssetExecutionContext,
    DagsterInstance,
    MetadataValue,
    TableColumn,
    TableRecord,
    TableSchema,
    asset,
)

from assets.block_stages import certificates
from assets.instance_queries import campaign_runs, finished_blocks
from darkreach_pipeline import campaign_status as engine
from darkreach_pipeline.campaign import CampaignSpec
from darkreach_pipeline.stores.results import read_stage_checked
from resources.campaigns import CampaignRegistryResource
from resources.progress_files import BlockProgress, read_progresses
from resources.results import ResultsLocation


def summarise(instance: DagsterInstance, spec: CampaignSpec, data_path: str, progress_dir,
              storage_options: dict | None = None) -> engine.CampaignProgress:
    """One campaign's progress from the instance, its stored results and the progress files on this machine."""
    keys = spec.partition_keys()
    finished, damaged = finished_blocks(instance, keys, data_path, storage_options)
    results, bad_results = read_stage_checked(data_path, "prp_results", spec.name, storage_options)
    certs, bad_certs = read_stage_checked(data_path, "certificates", spec.name, storage_options)
    for damage in bad_results + bad_certs:  # also blocks not finished yet (e.g. a stage file damaged mid-run)
        if damage not in damaged.get(damage.partition_key, []):
            damaged.setdefault(damage.partition_key, []).append(damage)
    return engine.campaign_progress(spec, campaign_runs(instance, keys), finished, results, certs,
                                    read_progresses(progress_dir, keys), damaged)


@asset(deps=[certificates], group_name="results")
def campaign_progress(
    context: AssetExecutionContext,
    campaign_registry: CampaignRegistryResource,
    results_location: ResultsLocation,
    block_progress: BlockProgress,
) -> pd.DataFrame:
    """Per campaign: blocks done / running / queued / failed / not started, candidates tested, primes,
    throughput and ETA (the same numbers as `darkreach status`); `campaigns_table` in the metadata is the table of
    campaigns (done % of the work, blocks, primes, rate, ETA) the UI shows first."""
    summaries = [summarise(context.instance, spec, results_location.base_path, block_progress.directory,
                           results_location.storage_options)
                 for spec in campaign_registry.registry().all()]
    frame = pd.DataFrame([s.as_dict() for s in summaries])
    context.add_output_metadata({
        "campaigns_table": MetadataValue.table(
            records=[TableRecord(s.table_row()) for s in summaries],
            schema=TableSchema(columns=[TableColumn(c, "string") for c in engine.TABLE_COLUMNS])),
        "campaigns": len(summaries),
        "blocks_done": sum(s.count("done") for s in summaries),
        "blocks_failed": sum(s.count("failed") for s in summaries),
        "blocks_damaged": sum(s.count("damaged") for s in summaries),
        "primes": sum(s.primes for s in summaries),
        "summary": MetadataValue.md("\n\n".join("```\n" + "\n".join(s.lines()) + "\n```" for s in summaries)
                                    or "no campaigns registered"),
        **{f"{s.name}_done_percent": round(100.0 * s.count("done") / s.blocks, 1) for s in summaries},
    })
    return frame
