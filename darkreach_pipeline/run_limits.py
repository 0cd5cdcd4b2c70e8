"""The limits every run of campaign blocks carries, however it was launched: the campaign's name (the fleet's
per-campaign run limit, `tag_concurrency_limits` on `darkreach/campaign`) and a run time bound
(`dagster/max_runtime`, enforced by run monitoring), sized from the measured test costs of its blocks.

Plain data: the run coordinator (resources/run_coordinator.py), the campaign-file sensor and `darkreach run`
all call `limit_tags`, so the tags are the same whichever path launched the run."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from darkreach_pipeline import gpu_routing
from darkreach_pipeline.blocks import block_max_runtime
from darkreach_pipeline.campaign import CampaignSpec, split_partition_key
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.stores.costs import CostStore

CAMPAIGN_TAG = "darkreach/campaign"
MAX_RUNTIME_TAG = "dagster/max_runtime"


def campaign_of(keys: Sequence[str]) -> str | None:
    """The one campaign whose blocks these are; None when there are none, a key is not a block key, or the keys
    belong to several campaigns (no single per-campaign limit applies then)."""
    try:
        names = {split_partition_key(key)[0] for key in keys}
    except CampaignError:
        return None
    return names.pop() if len(names) == 1 else None


def limit_tags(spec: CampaignSpec, keys: Sequence[str], costs: CostStore) -> dict[str, str]:
    """{darkreach/campaign: name, dagster/max_runtime: seconds} for a run of these blocks of `spec`: the run
    time is the sum of the blocks' bounds (max(120 s, 3 x estimate) each); plus darkreach/gpu for a GPU-eligible
    campaign, so its steps go to GPU workers however the run was launched."""
    runtime = sum(block_max_runtime(spec, split_partition_key(k)[1], costs) for k in keys)
    return {CAMPAIGN_TAG: spec.name, MAX_RUNTIME_TAG: str(runtime), **gpu_routing.run_tags(spec.gpu)}


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
