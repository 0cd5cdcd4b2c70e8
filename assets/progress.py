"""campaign_progress: one row per campaign (blocks done / running / queued / failed, candidates tested, primes,
throughput, ETA), computed by the engine from stored results and the instance's runs; `darkreach status`
prints the same summary."""

import json

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetKey,
    DagsterInstance,
    MetadataValue,
    RunsFilter,
    TableColumn,
    TableRecord,
    TableSchema,
    asset,
)
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from assets.campaign import certificates
from assets.checks import CAMPAIGN_CHECKS, every_p_minus_1_factor_divides, every_proof_verifies
from assets.launchpad import REGISTER_JOB_NAMES
from assets.partitions import campaign_blocks
from darkreach_pipeline import batching, settings
from darkreach_pipeline import progress as engine
from darkreach_pipeline.campaign import CampaignSpec
from darkreach_pipeline.stores.integrity import Damage, damaged_blocks
from darkreach_pipeline.stores.results import read_stage_checked
from resources.campaigns import CampaignRegistryResource
from resources.progress import BlockProgress
from resources.results import ResultsLocation

NOT_BLOCK_RUNS = {"double_check_job", *REGISTER_JOB_NAMES}  # these carry block tags but compute no block


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


def checks_passed(instance: DagsterInstance, keys: list[str]) -> set[str]:
    """Blocks whose latest materialisation of every stage passed its blocking check: the check's latest
    evaluation succeeded and targeted that materialisation (a stage re-materialised since, or whose check
    failed or never ran, leaves the block unfinished). candidate_ranges has no check: it must be materialised.
    A block finished before proofs existed has no every_proof_verifies evaluation at all: that one check may be
    absent (not failed, not stale), so an upgrade does not re-run finished blocks; so may
    every_p_minus_1_factor_divides for a block finished before the P-1 stage existed."""
    if not keys:
        return set()
    passed = set(instance.get_materialized_partitions(AssetKey("candidate_ranges"))) & set(keys)
    check_keys = [key for check in CAMPAIGN_CHECKS for key in check.check_keys]
    good: dict = {key: set() for key in check_keys}
    evaluated: dict = {key: set() for key in check_keys}
    for info in instance.event_log_storage.get_asset_check_partition_info(check_keys, partition_keys=keys):
        evaluated[info.check_key].add(info.partition_key)
        if (info.latest_execution_status == AssetCheckExecutionRecordStatus.SUCCEEDED and info.is_current
                and info.latest_materialization_storage_id is not None):
            good[info.check_key].add(info.partition_key)
    for check_key, blocks in good.items():
        if check_key in (every_proof_verifies.check_key, every_p_minus_1_factor_divides.check_key):
            blocks = blocks | (set(keys) - evaluated[check_key])
        passed &= blocks
    return passed


def finished_blocks(instance: DagsterInstance, keys: list[str], data_path: str, storage_options: dict | None = None
                    ) -> tuple[set[str], dict[str, list[Damage]]]:
    """(blocks whose stages all passed their blocking checks and whose stored files are intact, {block: its
    damaged files} for blocks that passed their checks but whose files are missing, unreadable or fail their
    checksum: those count as not finished, so they are run again)."""
    passed = checks_passed(instance, keys)
    damaged = damaged_blocks(data_path, sorted(passed), storage_options=storage_options)
    return passed - set(damaged), damaged


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
    finished, damaged = finished_blocks(instance, keys, data_path, storage_options)
    results, bad_results = read_stage_checked(data_path, "prp_results", spec.name, storage_options)
    certs, bad_certs = read_stage_checked(data_path, "certificates", spec.name, storage_options)
    for damage in bad_results + bad_certs:  # also blocks not finished yet (e.g. a stage file damaged mid-run)
        if damage not in damaged.get(damage.partition_key, []):
            damaged.setdefault(damage.partition_key, []).append(damage)
    return engine.campaign_progress(spec, campaign_runs(instance, keys), finished, results, certs,
                                    running_states(progress_dir, keys), damaged)


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
