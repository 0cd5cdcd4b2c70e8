"""The one Definitions object: assets, checks, jobs, sensors, resources and the executor.

Steps run in-process within a run (a multiprocess step costs 4-5 s of start-up on 2 cores);
parallelism comes from concurrent runs (dagster.yaml: concurrency.runs).
"""

from __future__ import annotations

from dagster import Definitions, in_process_executor

from assets.campaign import candidate_ranges, certificates, prp_results, sieve_survivors
from assets.checks import CAMPAIGN_CHECKS
from assets.jobs import campaign_job, double_check_job, register_campaign
from assets.primes import primes
from assets.sensors import campaign_files_sensor
from assets.verification import double_checks, verified_primes, worker_reliability
from assets.verification_sensors import audit_schedule, verification_sensor
from darkreach_pipeline import settings
from resources.campaigns import CampaignRegistryResource
from resources.checkpoints import CheckpointStoreResource
from resources.parquet_io import ParquetIOManager
from resources.progress import BlockProgress
from resources.results import ResultsLocation

CAMPAIGN_ASSETS = [candidate_ranges, sieve_survivors, prp_results, certificates]


def build_resources() -> dict:
    data = settings.data_path()
    return {
        "io_manager": ParquetIOManager(base_path=data),
        "results_location": ResultsLocation(base_path=data),
        "campaign_registry": CampaignRegistryResource(url=settings.registry_url()),
        "block_progress": BlockProgress(directory=str(settings.progress_path())),
        "checkpoint_store": CheckpointStoreResource(location=settings.checkpoint_location()),
    }


defs = Definitions(
    assets=[*CAMPAIGN_ASSETS, primes, double_checks, verified_primes, worker_reliability],
    asset_checks=CAMPAIGN_CHECKS,
    jobs=[campaign_job, register_campaign, double_check_job],
    sensors=[campaign_files_sensor, verification_sensor],
    schedules=[audit_schedule],
    resources=build_resources(),
    executor=in_process_executor,
)
