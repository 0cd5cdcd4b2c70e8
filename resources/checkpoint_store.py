"""The checkpoint store as a resource: where blocks in progress save their state, and how often."""

from dagster import ConfigurableResource

from darkreach_pipeline.campaign import CampaignSpec
from darkreach_pipeline.checkpoint_policy import BlockCheckpointer
from darkreach_pipeline.secret import deployment_secret
from darkreach_pipeline.stores.checkpoints import is_database, open_checkpoint_store


class CheckpointStoreResource(ConfigurableResource):
    """location: a folder, or a database URL so that another machine can resume a block."""

    location: str
    every_seconds: float = 60.0
    every_fraction: float = 0.1

    def for_block(self, partition_key: str, spec: CampaignSpec, block: int, log) -> BlockCheckpointer:
        return BlockCheckpointer(
            open_checkpoint_store(self.location), partition_key, spec.fingerprint(), block,
            deployment_secret(shared=is_database(self.location)), self.every_seconds, self.every_fraction, log,
        )
