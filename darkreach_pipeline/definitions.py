"""The one Definitions object: assets, checks, jobs, sensors, resources and the executor.

Steps run in-process within a run (a multiprocess step costs 4-5 s of start-up on 2 cores);
parallelism comes from concurrent runs (dagster.yaml: concurrency.runs).
Fleet mode (DARKREACH_EXECUTOR=celery): steps go to `darkreach worker` processes through Celery,
routed by each asset's "dagster-celery/queue" tag (README: "Fleet mode").
"""

import os

from dagster import Definitions, ExecutorDefinition, in_process_executor

from assets.block_stages import candidate_ranges, certificates, p_minus_1, prp_results, sieve_survivors
from assets.campaign_progress import campaign_progress
from assets.campaign_sieve import campaign_sieve, campaign_sieve_job
from assets.checks import CAMPAIGN_CHECKS
from assets.integrity import damaged_blocks_sensor, integrity_audit, integrity_audit_job, integrity_audit_schedule
from assets.jobs import REGISTER_JOBS, campaign_job, double_check_job
from assets.primes import primes
from assets.proof_checks import proof_check_job, proof_checks
from assets.results import results_job, results_sensor
from assets.sensors import campaign_files_sensor
from assets.strategy import STRATEGY_ASSETS, announcement_verification_sensor
from assets.verification import double_checks, verified_primes, worker_reliability
from assets.verification_sensors import audit_schedule, verification_sensor
from assets.volunteers import volunteer_blocks_sensor, volunteer_credit
from darkreach_pipeline import fleet, settings
from resources.campaigns import CampaignRegistryResource
from resources.checkpoint_store import CheckpointStoreResource
from resources.parquet_io import ParquetIOManager
from resources.progress_files import BlockProgress
from resources.results import ResultsLocation

CAMPAIGN_ASSETS = [candidate_ranges, sieve_survivors, p_minus_1, prp_results, certificates]


def build_resources() -> dict:
    data = settings.data_path()
    return {
        "io_manager": ParquetIOManager(base_path=data),
        "results_location": ResultsLocation(base_path=data),
        "campaign_registry": CampaignRegistryResource(url=settings.registry_url()),
        "block_progress": BlockProgress(directory=str(settings.progress_path())),
        "checkpoint_store": CheckpointStoreResource(location=settings.checkpoint_location()),
    }


def celery_urls() -> tuple[str, str]:
    """Broker and result backend shared by the fleet's runs and its `darkreach worker` processes."""
    return fleet.celery_urls()


def build_executor() -> ExecutorDefinition:
    """DARKREACH_EXECUTOR: unset or "in_process" (default), or "celery" (broker/backend from the environment)."""
    choice = os.environ.get("DARKREACH_EXECUTOR") or "in_process"
    if choice == "in_process":
        return in_process_executor
    if choice == "celery":
        from resources.celery_executor import routing_celery_executor as celery_executor

        broker, backend = celery_urls()
        # config_source: the fleet's Celery settings (late acks, requeue on worker loss; darkreach_pipeline/fleet.py),
        # the same the workers load.
        return celery_executor.configured(
            {"broker": broker, "backend": backend, "include": ["darkreach_pipeline.definitions"],
             "config_source": fleet.celery_config()}
        )
    raise ValueError(f"DARKREACH_EXECUTOR={choice!r}: use 'in_process' (the default) or 'celery'")


defs = Definitions(
    assets=[*CAMPAIGN_ASSETS, primes, campaign_progress, double_checks, proof_checks, verified_primes,
            worker_reliability, integrity_audit, campaign_sieve, *STRATEGY_ASSETS, volunteer_credit],
    asset_checks=CAMPAIGN_CHECKS,
    jobs=[campaign_job, campaign_sieve_job, *REGISTER_JOBS, double_check_job, proof_check_job, results_job,
          integrity_audit_job],
    sensors=[campaign_files_sensor, verification_sensor, results_sensor, damaged_blocks_sensor,
             announcement_verification_sensor, volunteer_blocks_sensor],
    schedules=[audit_schedule, integrity_audit_schedule],
    resources=build_resources(),
    executor=build_executor(),
)
