"""Volunteer blocks in Dagster: accepted results launch the block's normal run; credit and leaderboard assets.

A unit a volunteer completed (`darkreach serve`, accepted by proofs, quorum or trust) becomes the same assets as
any block: `volunteer_blocks_sensor` launches the block's run, whose prp stage takes the accepted rows instead of
testing again (assets/block_stages.py), with the volunteer as the block's worker (prp_results' `worker_id` and
`host` columns, the run's `darkreach/volunteer` tag). Certificates, double checks and primes follow as usual.
"""

import pandas as pd
from dagster import (
    AssetExecutionContext,
    DefaultSensorStatus,
    MetadataValue,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    asset,
    sensor,
)

from assets.instance_queries import block_order, busy_or_done
from assets.jobs import campaign_job
from assets.partitions import campaign_blocks
from darkreach_pipeline.campaign import split_partition_key
from resources.campaigns import CampaignRegistryResource
from resources.results import ResultsLocation
from resources.run_tags import VOLUNTEER_TAG, limit_tags


@sensor(job=campaign_job, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING)
def volunteer_blocks_sensor(context: SensorEvaluationContext, campaign_registry: CampaignRegistryResource,
                            results_location: ResultsLocation) -> SensorResult | SkipReason:
    """Launch the run of each block a volunteer's accepted result completed (cursor: the last result seen)."""
    after = int(context.cursor or 0)
    accepted = campaign_registry.volunteers().accepted_since(after)
    if not accepted:
        return SkipReason(f"no volunteer result accepted since #{after}")
    keys = list(dict.fromkeys(unit for _, unit, _ in accepted))
    known = set(block_order(context.instance))
    new_keys = [k for k in keys if k not in known]
    skip = busy_or_done(context.instance, [k for k in keys if k in known], results_location.base_path,
                        results_location.storage_options)
    registry, costs = campaign_registry.registry(), campaign_registry.costs()
    runs = []
    for result_id, unit, worker_id in accepted:
        if unit in skip:
            continue
        skip.add(unit)  # one run per block (a quorum accepts two results of it)
        spec = registry.get(split_partition_key(unit)[0])
        runs.append(RunRequest(partition_key=unit, run_key=f"volunteer:{unit}:{result_id}",
                               tags={**limit_tags(spec, [unit], costs), VOLUNTEER_TAG: worker_id}))
    return SensorResult(run_requests=runs, cursor=str(accepted[-1][0]),
                        dynamic_partitions_requests=[campaign_blocks.build_add_request(new_keys)] if new_keys else [])


@asset(group_name="volunteers")
def volunteer_credit(context: AssetExecutionContext, campaign_registry: CampaignRegistryResource) -> pd.DataFrame:
    """Every accepted volunteer unit with its credit (core-hours weighted by difficulty: volunteer/credit.py);
    the leaderboard and badges are in the metadata, as on the public stats page (`darkreach serve` /stats)."""
    from darkreach_pipeline.volunteer import credit, stats_page  # the credit rules (pure functions on the records)

    units = campaign_registry.volunteers().accepted_units()
    frame = pd.DataFrame([{**unit.__dict__, "credit": credit.credit_for(unit)} for unit in units])
    stats = credit.summarise(units)
    context.add_output_metadata({"units": len(units), "stats": MetadataValue.json(stats_page.render_json(stats))})
    return frame
