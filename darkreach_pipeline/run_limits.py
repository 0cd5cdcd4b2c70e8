"""The limits every run of campaign blocks carries, however it was launched: the campaign it belongs to (the
fleet's per-campaign run limit), a run time bound sized from the measured test costs of its blocks, and whether
its steps go to GPU workers.

Plain data: the Dagster side turns them into run tags (resources/run_tags.py) for the run coordinator, the
campaign-file sensor and `darkreach run` alike, so the limits are the same whichever path launched the run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from darkreach_pipeline.blocks import block_max_runtime
from darkreach_pipeline.campaign import CampaignSpec, split_partition_key
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.stores.costs import CostStore


@dataclass(frozen=True)
class RunLimits:
    """What bounds one run of blocks: its campaign's name, the seconds it may run, and GPU eligibility."""

    campaign: str
    max_runtime_seconds: int
    gpu: bool


def campaign_of(keys: Sequence[str]) -> str | None:
    """The one campaign whose blocks these are; None when there are none, a key is not a block key, or the keys
    belong to several campaigns (no single per-campaign limit applies then)."""
    try:
        names = {split_partition_key(key)[0] for key in keys}
    except CampaignError:
        return None
    return names.pop() if len(names) == 1 else None


def run_limits(spec: CampaignSpec, keys: Sequence[str], costs: CostStore) -> RunLimits:
    """The limits of a run of these blocks of `spec`: the run time is the sum of the blocks' bounds (max(120 s,
    3 x estimate) each); a GPU-eligible campaign's steps go to GPU workers however the run was launched."""
    runtime = sum(block_max_runtime(spec, split_partition_key(k)[1], costs) for k in keys)
    return RunLimits(spec.name, runtime, spec.gpu)
