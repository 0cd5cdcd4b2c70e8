"""One dynamic partition per block, keyed '<campaign>/<block:06d>', across all campaigns."""

import warnings

import pandas as pd
from dagster import BackfillPolicy, DagsterType, DynamicPartitionsDefinition, Failure

from darkreach_pipeline import settings

campaign_blocks = DynamicPartitionsDefinition(name="campaign_blocks")


def add_block_partitions(instance, keys: list[str]) -> list[str]:
    """Add the keys the instance does not have yet; returns those added."""
    existing = set(instance.get_dynamic_partitions(campaign_blocks.name))
    new = [k for k in keys if k not in existing]
    if new:
        instance.add_dynamic_partitions(campaign_blocks.name, new)
    return new


def _is_block_frames(_, value) -> bool:
    if isinstance(value, pd.DataFrame):
        return True
    return isinstance(value, dict) and all(isinstance(v, pd.DataFrame) for v in value.values())


# A stage's value: one block's DataFrame, or {partition key: DataFrame} in a run of several blocks
# (a partition key range; see BackfillPolicy below and README "Many blocks per run").
BlockFrames = DagsterType(
    name="BlockFrames",
    type_check_fn=_is_block_frames,
    description="A block's DataFrame, or {partition key: DataFrame} when a run covers several blocks.",
)

# Asset backfills (the UI, `darkreach backfill`): at most this many blocks per run, the same for every campaign
# asset (Dagster runs assets with different policies separately). At 1, no policy: Dagster then launches plain
# one-partition runs (tag dagster/partition) instead of one-key ranges; `dagster job backfill` ignores it anyway.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy` of function `asset` is currently in beta")
campaign_backfill_policy = (BackfillPolicy.multi_run(max_partitions_per_run=settings.backfill_blocks_per_run())
                            if settings.backfill_blocks_per_run() > 1 else None)


def block_keys(context) -> list[str]:
    """The blocks of this step: one, or every key of the run's partition key range."""
    return list(context.partition_keys)


def per_block(context, value, name: str) -> dict[str, pd.DataFrame]:
    """An input as {block key: DataFrame} for the step's blocks (a one-block run loads a plain DataFrame)."""
    keys = block_keys(context)
    frames = value if isinstance(value, dict) else dict(zip(keys[:1], [value], strict=True))
    missing = [k for k in keys if k not in frames]
    if missing:
        raise Failure(description=f"input '{name}' has no stored output for blocks {', '.join(missing)}: "
                      f"materialise '{name}' for them first")
    return {k: frames[k] for k in keys}


def block_output(frames: dict[str, pd.DataFrame]):
    """A step's value: the DataFrame of a one-block run, else the dict the IO manager stores block by block."""
    return next(iter(frames.values())) if len(frames) == 1 else frames
