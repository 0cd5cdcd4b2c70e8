"""Every run tag the product sets or reads, in one place on the Dagster side: Dagster's own (a run's partition or
partition key range, its run time bound) and the product's (campaign, GPU routing, the process running a
`darkreach run` block, why a double check runs). The engine gives plain values (block keys, run_limits.RunLimits,
a campaign's `gpu`); this module turns them into tags and reads them back."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    MAX_RUNTIME_SECONDS_TAG,
    PARTITION_NAME_TAG,
    SCHEDULED_EXECUTION_TIME_TAG,
)

from darkreach_pipeline.batching import key_range
from darkreach_pipeline.campaign import CampaignSpec
from darkreach_pipeline.run_limits import RunLimits, campaign_of, run_limits
from darkreach_pipeline.stores.costs import CostStore

PARTITION_TAG = PARTITION_NAME_TAG  # a one-block run
RANGE_START_TAG = ASSET_PARTITION_RANGE_START_TAG  # a run of several blocks: its first ...
RANGE_END_TAG = ASSET_PARTITION_RANGE_END_TAG  # ... and last block
MAX_RUNTIME_TAG = MAX_RUNTIME_SECONDS_TAG  # run monitoring fails a run that outlasts it
SCHEDULED_TIME_TAG = SCHEDULED_EXECUTION_TIME_TAG  # when a schedule's tick was due
CAMPAIGN_TAG = "darkreach/campaign"  # the fleet's per-campaign run limit (tag_concurrency_limits)
GPU_TAG = "darkreach/gpu"  # "true": the run's sieve and test steps go to the gpu queue
PROCESS_TAG = "darkreach/process"  # host:pid:start of the process executing a `darkreach run` block run
WHY_TAG = "darkreach/why"  # why a block is run again or double-checked
KIND_TAG, CAMPAIGN_SIEVE_KIND = "darkreach/kind", "campaign-sieve"  # `darkreach sieve`'s runs: no block runs
VOLUNTEER_TAG = "darkreach/volunteer"  # the volunteer (worker UUID) whose accepted result the block run takes
CHECK_TAG = "darkreach/check"  # "proofs" on the proof-check runs the verification sensor launches
BACKLOG_TAG = "darkreach/backlog"  # blocks still waiting for their double check when it was launched


def partition_tags(run: Sequence[str]) -> dict[str, str]:
    """The partition tags of a run of these blocks: one key, or a range first..last."""
    if len(run) == 1:
        return {PARTITION_TAG: run[0]}
    return {RANGE_START_TAG: run[0], RANGE_END_TAG: run[-1]}


def is_ranged(tags: Mapping[str, str]) -> bool:
    """Does a run with these tags name its blocks by a range (whose keys only the partition order gives)?"""
    return not tags.get(PARTITION_TAG)


def blocks_of_run(tags: Mapping[str, str], order: Sequence[str], position: Mapping[str, int] | None = None
                  ) -> list[str]:
    """The blocks a run covers, from its tags: its partition, or every key of its range in `order` (pass
    `position` = {key: index in order} when calling this for many runs); [] for a run without partition
    tags, or whose range names a key the instance no longer has."""
    if tags.get(PARTITION_TAG):
        return [tags[PARTITION_TAG]]
    start, end = tags.get(RANGE_START_TAG), tags.get(RANGE_END_TAG)
    if not start or not end:
        return []
    return key_range(start, end, order, position)


def gpu_tags(gpu: bool) -> dict[str, str]:
    """The run tags that mark a campaign's runs GPU-eligible (none for a CPU campaign)."""
    return {GPU_TAG: "true"} if gpu else {}


def is_gpu_run(tags: Mapping[str, str]) -> bool:
    return tags.get(GPU_TAG) == "true"


def limit_tags(spec: CampaignSpec, keys: Sequence[str], costs: CostStore) -> dict[str, str]:
    """{darkreach/campaign: name, dagster/max_runtime: seconds} for a run of these blocks of `spec`, plus
    darkreach/gpu for a GPU-eligible campaign (darkreach_pipeline/run_limits.py sizes them)."""
    limits: RunLimits = run_limits(spec, keys, costs)
    return {CAMPAIGN_TAG: limits.campaign, MAX_RUNTIME_TAG: str(limits.max_runtime_seconds),
            **gpu_tags(limits.gpu)}


def missing_limit_tags(existing: Mapping[str, str], keys: Sequence[str],
                       find_spec: Callable[[str], CampaignSpec | None], costs: Callable[[], CostStore]
                       ) -> dict[str, str]:
    """The limit tags a run of `keys` lacks (a tag the launcher set is kept: the user's word wins); {} for a run
    that covers no blocks, blocks of several campaigns, or a campaign the registry does not know."""
    name = campaign_of(keys)
    spec = find_spec(name) if name else None
    if spec is None or (CAMPAIGN_TAG in existing and MAX_RUNTIME_TAG in existing):
        return {}
    return {k: v for k, v in limit_tags(spec, keys, costs()).items() if k not in existing}
