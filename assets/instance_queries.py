"""Questions about the Dagster instance, answered in one place: the block order, which runs cover which blocks,
which blocks passed their checks, which are finished, busy or done, the latest materialisations of a stage and
the unfinished runs of a job. Sensors, assets, the run coordinator and the CLI ask here; the answers are plain
data for the engine (darkreach_pipeline/campaign_status.py decides a block's state from them)."""

from __future__ import annotations

from collections.abc import Sequence

from dagster import AssetKey, AssetRecordsFilter, DagsterInstance, DagsterRunStatus, EventLogRecord, RunsFilter
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.storage.event_log.base import EventRecordsResult

from assets.checks import CAMPAIGN_CHECKS, every_p_minus_1_factor_divides, every_proof_verifies
from assets.launchpad import REGISTER_JOB_NAMES
from assets.partitions import campaign_blocks
from darkreach_pipeline.campaign_status import RunInfo, block_states
from darkreach_pipeline.stores.integrity import Damage, damaged_blocks
from resources import run_tags

# these carry block tags but compute no block
NOT_BLOCK_RUNS = {"double_check_job", "campaign_sieve_job", *REGISTER_JOB_NAMES}
UNFINISHED = [DagsterRunStatus.NOT_STARTED, DagsterRunStatus.QUEUED, DagsterRunStatus.STARTING,
              DagsterRunStatus.STARTED]
LIVE = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]  # a process runs them


def block_order(instance: DagsterInstance) -> list[str]:
    """Every block key of the instance, in the order the keys were added (the order partition ranges follow)."""
    return instance.get_dynamic_partitions(campaign_blocks.name)


def blocks_of_run(instance: DagsterInstance, tags: dict[str, str]) -> list[str]:
    """The blocks a run with these tags covers (the partition order is read only for a range)."""
    return run_tags.blocks_of_run(tags, block_order(instance) if run_tags.is_ranged(tags) else [])


def campaign_runs(instance: DagsterInstance, keys: Sequence[str]) -> list[RunInfo]:
    """Every run that materialises blocks among `keys` (one-block runs and partition ranges), as plain data."""
    if not keys:
        return []
    order = block_order(instance)
    position = {key: i for i, key in enumerate(order)}
    records = {}
    for tag in (run_tags.PARTITION_TAG, run_tags.RANGE_START_TAG, run_tags.RANGE_END_TAG):
        for record in instance.get_run_records(filters=RunsFilter(tags={tag: list(keys)})):
            records[record.dagster_run.run_id] = record
    runs = []
    for record in records.values():
        run = record.dagster_run
        if run.job_name in NOT_BLOCK_RUNS or run.tags.get(run_tags.KIND_TAG) == run_tags.CAMPAIGN_SIEVE_KIND:
            continue
        runs.append(RunInfo(blocks=tuple(run_tags.blocks_of_run(run.tags, order, position)),
                            status=run.status.value, created=record.create_timestamp.timestamp(),
                            start=record.start_time, end=record.end_time))
    return runs


def materialized_blocks(instance: DagsterInstance, stage: str) -> set[str]:
    """The blocks (partitions) of `stage` materialised at least once."""
    return set(instance.get_materialized_partitions(AssetKey(stage)))


def checks_passed(instance: DagsterInstance, keys: Sequence[str]) -> set[str]:
    """Blocks whose latest materialisation of every stage passed its blocking check: the check's latest
    evaluation succeeded and targeted that materialisation (a stage re-materialised since, or whose check
    failed or never ran, leaves the block unfinished). candidate_ranges has no check: it must be materialised.
    A block finished before proofs existed has no every_proof_verifies evaluation at all: that one check may be
    absent (not failed, not stale), so an upgrade does not re-run finished blocks; so may
    every_p_minus_1_factor_divides for a block finished before the P-1 stage existed."""
    if not keys:
        return set()
    passed = materialized_blocks(instance, "candidate_ranges") & set(keys)
    check_keys = [key for check in CAMPAIGN_CHECKS for key in check.check_keys]
    good: dict = {key: set() for key in check_keys}
    evaluated: dict = {key: set() for key in check_keys}
    for info in instance.event_log_storage.get_asset_check_partition_info(check_keys, partition_keys=list(keys)):
        evaluated[info.check_key].add(info.partition_key)
        if (info.latest_execution_status == AssetCheckExecutionRecordStatus.SUCCEEDED and info.is_current
                and info.latest_materialization_storage_id is not None):
            good[info.check_key].add(info.partition_key)
    for check_key, blocks in good.items():
        if check_key in (every_proof_verifies.check_key, every_p_minus_1_factor_divides.check_key):
            blocks = blocks | (set(keys) - evaluated[check_key])
        passed &= blocks
    return passed


def finished_blocks(instance: DagsterInstance, keys: Sequence[str], data_path: str,
                    storage_options: dict | None = None) -> tuple[set[str], dict[str, list[Damage]]]:
    """(blocks whose stages all passed their blocking checks and whose stored files are intact, {block: its
    damaged files} for blocks that passed their checks but whose files are missing, unreadable or fail their
    checksum: those count as not finished, so they are run again)."""
    passed = checks_passed(instance, keys)
    damaged = damaged_blocks(data_path, sorted(passed), storage_options=storage_options)
    return passed - set(damaged), damaged


def done_blocks(instance: DagsterInstance, keys: Sequence[str], data_path: str, storage_options: dict | None = None
                ) -> tuple[set[str], dict[str, list[Damage]]]:
    """(blocks finished (checks passed, files intact) by a successful run, which may have covered several blocks:
    a partition key range; the damaged ones as in finished_blocks). A block with a failed check or a damaged file
    is not done: it is run again."""
    finished, damaged = finished_blocks(instance, keys, data_path, storage_options)
    wanted = sorted(finished)
    states = block_states(wanted, campaign_runs(instance, wanted), finished)
    return {k for k, state in states.items() if state == "done"}, damaged


def busy_or_done(instance: DagsterInstance, keys: Sequence[str], data_path: str,
                 storage_options: dict | None = None) -> set[str]:
    """Blocks done (as in done_blocks), or in a queued or running run. A damaged or failed block is neither: it
    is launched again."""
    finished, _ = finished_blocks(instance, keys, data_path, storage_options)
    states = block_states(keys, campaign_runs(instance, keys), finished)
    return {k for k, state in states.items() if state in ("done", "running", "queued")}


def latest_materialisation_id(instance: DagsterInstance, stage: str) -> int | None:
    """The storage id of the latest materialisation of `stage` (any block); None before the first."""
    records = instance.fetch_materializations(AssetKey(stage), limit=1, ascending=False).records
    return records[0].storage_id if records else None


def latest_block_materialisation(instance: DagsterInstance, stage: str, key: str) -> EventLogRecord | None:
    """The latest materialisation of `stage` for block `key` (the one its checks must target); None before any."""
    records = instance.fetch_materializations(AssetRecordsFilter(asset_key=AssetKey(stage), asset_partitions=[key]),
                                              limit=1).records
    return records[0] if records else None


def materialisations_after(instance: DagsterInstance, stage: str, cursor: str | None, limit: int
                           ) -> EventRecordsResult:
    """The next `limit` materialisations of `stage` after `cursor` (None: from the first), oldest first; the
    result's `cursor` continues from its last record (a sensor keeps it between ticks)."""
    return instance.fetch_materializations(AssetKey(stage), limit=limit, cursor=cursor, ascending=True)


def materialisation_times(instance: DagsterInstance, stage: str) -> dict[str, float]:
    """Block key -> when `stage` was last materialised for it (unix seconds), paging through the events."""
    out, cursor = {}, None
    while True:
        page = materialisations_after(instance, stage, cursor, 1000)
        out.update({r.partition_key: r.timestamp for r in page.records if r.partition_key})
        if not page.has_more:
            return out
        cursor = page.cursor


def unfinished_runs(instance: DagsterInstance, job_name: str, limit: int | None = None) -> list[DagsterRun]:
    """Runs of `job_name` not started yet, queued, starting or running (at most `limit`)."""
    return instance.get_runs(filters=RunsFilter(job_name=job_name, statuses=UNFINISHED), limit=limit)


def live_runs(instance: DagsterInstance) -> list[DagsterRun]:
    """Runs that a process is executing (or should be): starting, started or being canceled."""
    return instance.get_runs(filters=RunsFilter(statuses=LIVE))
