"""One dynamic partition per block, keyed '<campaign>/<block:06d>', across all campaigns."""

from dagster import DynamicPartitionsDefinition

campaign_blocks = DynamicPartitionsDefinition(name="campaign_blocks")


def add_block_partitions(instance, keys: list[str]) -> list[str]:
    """Add the keys the instance does not have yet; returns those added."""
    existing = set(instance.get_dynamic_partitions(campaign_blocks.name))
    new = [k for k in keys if k not in existing]
    if new:
        instance.add_dynamic_partitions(campaign_blocks.name, new)
    return new
