"""The instance's run coordinator: Dagster's run queue, plus the limit tags every run of campaign blocks must
carry, added at submission. Every queued launch passes here (the UI's Materialize and backfills, `dagster job
backfill`, `darkreach backfill`, sensors, schedules, run retries), so the per-campaign run limit and the run time
bound hold however a run was launched, not only for the launchers that remember to tag their runs.

Configured in dagster.yaml (the embedded default and deploy/fleet/dagster.yaml):

    run_coordinator:
      module: resources.run_coordinator
      class: CampaignRunCoordinator
"""

from __future__ import annotations

import logging

from dagster._core.run_coordinator.base import SubmitRunContext
from dagster._core.run_coordinator.queued_run_coordinator import QueuedRunCoordinator
from dagster._core.storage.dagster_run import DagsterRun

from darkreach_pipeline import settings
from darkreach_pipeline.stores.costs import open_cost_store
from darkreach_pipeline.stores.registry import open_registry
from resources.run_tags import missing_limit_tags

# the block stages, and the proof checks the verification sensor launches per block (queued and limited alike)
STAGES = frozenset({"candidate_ranges", "sieve_survivors", "p_minus_1", "prp_results", "certificates", "proof_checks"})
BLOCK_JOBS = frozenset({"campaign_job", "proof_check_job"})  # their runs name no asset selection of their own
log = logging.getLogger(__name__)


def tests_blocks(run: DagsterRun) -> bool:
    """Does the run compute campaign stages or check a block's proofs (the runs the per-campaign limit and the
    test-cost bound are for)?"""
    if run.asset_selection:
        return any(key.to_user_string() in STAGES for key in run.asset_selection)
    return run.job_name in BLOCK_JOBS


class CampaignRunCoordinator(QueuedRunCoordinator):
    """QueuedRunCoordinator that tags block runs with `darkreach/campaign` and `dagster/max_runtime` first."""

    def submit_run(self, context: SubmitRunContext) -> DagsterRun:
        run = context.dagster_run
        try:
            tags = self.limit_tags(run)
        except Exception as exc:  # never refuse a run for want of its limits: say so and queue it as it is
            log.warning(f"run {run.run_id}: limit tags not added ({exc!r})")
            tags = {}
        if tags:
            self._instance.add_run_tags(run.run_id, tags)
            context = SubmitRunContext(run.with_tags({**run.tags, **tags}), context.workspace)
        return super().submit_run(context)

    def limit_tags(self, run: DagsterRun) -> dict[str, str]:
        """Only runs that compute blocks: double checks have their own bound (the verification sensor's ramp)."""
        if not tests_blocks(run):
            return {}
        from assets.instance_queries import blocks_of_run  # the asset graph is loaded only for a run of blocks

        keys = blocks_of_run(self._instance, run.tags)
        url = settings.registry_url()
        return missing_limit_tags(run.tags, keys, open_registry(url).find, lambda: open_cost_store(url))
