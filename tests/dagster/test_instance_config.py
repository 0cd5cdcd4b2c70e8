"""The generated dagster.yaml: the run coordinator that adds the limit tags, and no debug lines stored per run."""

from dagster import DagsterInstance

from darkreach_pipeline import settings
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.stores.registry import open_registry
from resources.run_coordinator import CampaignRunCoordinator

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def test_generated_instance_has_the_coordinator_and_stores_no_debug_lines(darkreach_home):
    from darkreach_pipeline.definitions import defs

    instance = DagsterInstance.from_config(str(settings.ensure_dagster_home()))
    try:
        assert isinstance(instance.run_coordinator, CampaignRunCoordinator)
        spec = parse_campaign({"name": "ev", "form": "kbn", "k": 3, "b": 2, "c": 1, "n_min": 1, "n_max": 200,
                               "block_size": 100, "sieve_depth": 1000})
        open_registry(settings.registry_url()).register(spec)
        instance.add_dynamic_partitions("campaign_blocks", spec.partition_keys())
        result = defs.resolve_job_def("campaign_job").execute_in_process(
            partition_key=spec.partition_key(0), instance=instance, run_config=QUIET)
        assert result.success
        lines = [e.user_message for e in instance.all_logs(result.run_id) if e.dagster_event is None]
        assert lines and all("ev/000000: tested" in line for line in lines), lines  # the block's progress only
    finally:
        instance.dispose()
