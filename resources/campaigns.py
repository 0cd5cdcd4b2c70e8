"""The campaign registry as a Dagster resource: maps a block key to its campaign spec."""


from dagster import ConfigurableResource, Failure

from darkreach_pipeline.campaign import CampaignSpec
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.stores.costs import CostStore, open_cost_store
from darkreach_pipeline.stores.registry import CampaignRegistry, open_registry
from darkreach_pipeline.stores.reliability import ReliabilityStore, open_reliability_store
from darkreach_pipeline.stores.sieve_imports import SieveImportStore, open_sieve_import_store
from darkreach_pipeline.volunteer.store import VolunteerStore, open_volunteer_store


class CampaignRegistryResource(ConfigurableResource):
    url: str

    def registry(self) -> CampaignRegistry:
        return open_registry(self.url)

    def resolve(self, partition_key: str) -> tuple[CampaignSpec, int]:
        """Block key -> (spec, block); a stale or malformed key fails the step with the fix in its message."""
        try:
            return self.registry().resolve(partition_key)
        except CampaignError as exc:
            raise Failure(description=str(exc)) from None

    def costs(self) -> CostStore:
        """Measured test costs live next to the campaign specs."""
        return open_cost_store(self.url)

    def reliability(self) -> ReliabilityStore:
        """Worker records live next to the campaign specs (SQLite by default, PostgreSQL in fleet mode)."""
        return open_reliability_store(self.url)

    def sieve_imports(self) -> SieveImportStore:
        """Sieve files imported into campaigns (`darkreach import-sieve`) live next to the campaign specs."""
        return open_sieve_import_store(self.url)

    def volunteers(self) -> VolunteerStore:
        """Units, leases and results of the volunteer work server (`darkreach serve`) live next to the specs."""
        return open_volunteer_store(self.url)
