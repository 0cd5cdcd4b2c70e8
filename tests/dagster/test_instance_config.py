"""The generated dagster.yaml: the run coordinator that adds the limit tags to every queued run of blocks."""

from dagster import DagsterInstance

from resources.instance_config import ensure_dagster_home
from resources.run_coordinator import CampaignRunCoordinator


def test_generated_instance_has_the_coordinator(darkreach_home):
    instance = DagsterInstance.from_config(str(ensure_dagster_home()))
    try:
        assert isinstance(instance.run_coordinator, CampaignRunCoordinator)
    finally:
        instance.dispose()
