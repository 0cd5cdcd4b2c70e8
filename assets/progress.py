"""campaign_progress: one row per campaign (blocks done / running / queued / failed, candidates tested, primes,
throughput, ETA), computed by the engine from stored results and the instance's runs; `darkreach status`
prints the same summary."""

import json

import pandas as pd
from dagster import AssetExecutionContext, AssetKey, DagsterInstance, MetadataValue, RunsFilter, asset

from assets.campaign import certificates
from assets.partitions import campaign_blocks
from darkreach_pipeline import batching, settings
from darkreach_pipeline import progress as engine
from darkreach_pipeline.campaign import CampaignSpec
from darkreach_pipeline.stores.results import read_stage
from resources.campaigns import CampaignRegistryResource
from resources.progress import BlockProgress
from resources.results import ResultsLocation

NOT_BLOCK_RUNS = {"double_check_job", "register_campaign"}  # these carry block tags but compute no block


def campaign_runs(instance: DagsterInstance, keys: list[str]) -> list[engine.RunInfo]:
    """Every run that materialises blocks among `keys` (one-block runs and partition ranges), as plain data."""
    if not keys:
        return []
    order = instance.get_dynamic_partitions(campaign_blocks.name)
    position = {key: i for i, key in enumerate(order)}
    records = {}
    for tag in (batching.PARTITION_TAG, batching.RANGE_START_TAG, batching.RANGE_END_TAG):
        for record in instance.get_run_records(filters=RunsFilter(tags={tag: keys})):
            records[record.dagster_run.run_id] = record
    runs = []
    for record in records.values():
        run = record.dagster_run
        if run.job_name in NOT_BLOCK_RUNS:
            continue
        runs.append(engine.RunInfo(blocks=tuple(batching.blocks_of_run(run.tags, order, position)),
                            status=run.status.value, created=record.create_timestamp.timestamp(),
                            start=record.start_time, end=record.end_time))
    return runs


def running_states(directory, keys: list[str]) -> dict[str, dict]:
    """The progress files of these blocks that exist on this machine (fleet workers keep theirs locally)."""
    states = {}
    for key in keys:
        try:
            states[key] = json.loads(settings.progress_file(directory, key).read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            continue
    return states


def summarise(instance: DagsterInstance, spec: CampaignSpec, data_path: str, progress_dir,
              storage_options: dict | None = None) -> engine.CampaignProgress:
    keys = spec.partition_keys()
    certified = instance.get_materialized_partitions(AssetKey("certificates"))
    results = read_stage(data_path, "prp_results", campaign=spec.name, storage_options=storage_options)
    certs = read_stage(data_path, "certificates", campaign=spec.name, storage_options=storage_options)
    return engine.campaign_progress(spec, campaign_runs(instance, keys), certified & set(keys), results, certs,
                             running_states(progress_dir, keys))


@asset(deps=[certificates], group_name="results")
def campaign_progress(
    context: AssetExecutionContext,
    campaign_registry: CampaignRegistryResource,
    results_location: ResultsLocation,
    block_progress: BlockProgress,
) -> pd.DataFrame:
    """Per campaign: blocks done / running / queued / failed / not started, candidates tested, primes,
    throughput and ETA (the same numbers as `darkreach status`)."""
    summaries = [summarise(context.instance, spec, results_location.base_path, block_progress.directory,
                           results_location.storage_options)
                 for spec in campaign_registry.registry().all()]
    frame = pd.DataFrame([s.as_dict() for s in summaries])
    context.add_output_metadata({
        "campaigns": len(summaries),
        "blocks_done": sum(s.count("done") for s in summaries),
        "blocks_failed": sum(s.count("failed") for s in summaries),
        "primes": sum(s.primes for s in summaries),
        "summary": MetadataValue.md("\n\n".join("```\n" + "\n".join(s.lines()) + "\n```" for s in summaries)
                                    or "no campaigns registered"),
        **{f"{s.name}_done_percent": round(100.0 * s.count("done") / s.blocks, 1) for s in summaries},
    })
    return frame
