"""Sensors: campaign files dropped into DARKREACH_HOME/campaigns are registered and their blocks launched."""


import hashlib
import json
from pathlib import Path

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, SkipReason, sensor

from assets.jobs import campaign_job
from assets.partitions import campaign_blocks
from darkreach_pipeline.blocks import block_max_runtime
from darkreach_pipeline.campaign import load_campaign
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.settings import inbox_path
from resources.campaigns import CampaignRegistryResource


@sensor(job=campaign_job, minimum_interval_seconds=15, default_status=DefaultSensorStatus.RUNNING)
def campaign_files_sensor(
    context: SensorEvaluationContext, campaign_registry: CampaignRegistryResource
) -> SensorResult | SkipReason:
    """Register each new or changed *.toml in the inbox; launch one run per block (run key = block key)."""
    folder = Path(inbox_path())
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    files = sorted(folder.glob("*.toml")) if folder.exists() else []
    changed = [(p, hashlib.sha256(p.read_bytes()).hexdigest()) for p in files]
    changed = [(p, h) for p, h in changed if seen.get(p.name) != h]
    if not changed:
        return SkipReason(f"no new campaign files in {folder}")
    registry = campaign_registry.registry()
    costs = campaign_registry.costs()
    existing = set(context.instance.get_dynamic_partitions(campaign_blocks.name))
    new_keys: list[str] = []
    runs: list[RunRequest] = []
    requested: set[str] = set()
    for path, digest in changed:
        seen[path.name] = digest
        try:
            spec = load_campaign(path)
            registry.register(spec)
        except CampaignError as exc:  # reported and skipped; a fixed file has a new hash and is retried
            context.log.error(f"{path.name}: {exc}")
            continue
        for block, key in enumerate(spec.partition_keys()):
            if key not in existing:
                new_keys.append(key)
                existing.add(key)
            run_key = f"{spec.fingerprint()}:{key}"
            if run_key in requested:  # the same campaign in two files: one run per block
                continue
            requested.add(run_key)
            runs.append(RunRequest(partition_key=key, run_key=run_key,
                                   tags={"dagster/max_runtime": str(block_max_runtime(spec, block, costs)),
                                         "darkreach/campaign": spec.name}))
        context.log.info(f"{path.name}: campaign '{spec.name}', {spec.block_count} blocks")
    return SensorResult(
        run_requests=runs,
        dynamic_partitions_requests=[campaign_blocks.build_add_request(new_keys)] if new_keys else [],
        cursor=json.dumps(seen, sort_keys=True),
    )
