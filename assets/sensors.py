"""Sensors: campaign files dropped into DARKREACH_HOME/campaigns are registered and their blocks launched."""


import hashlib
import json
from pathlib import Path

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, SkipReason, sensor

from assets.jobs import campaign_job
from assets.partitions import campaign_blocks
from assets.progress import campaign_runs, finished_blocks
from darkreach_pipeline import batching
from darkreach_pipeline.campaign import parse_campaign_bytes, read_campaign_file
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.found import counted
from darkreach_pipeline.progress import block_states
from darkreach_pipeline.run_limits import limit_tags
from darkreach_pipeline.settings import ensure_inbox
from resources.campaigns import CampaignRegistryResource
from resources.results import ResultsLocation

UNREADABLE = "unreadable: "  # cursor value of a file that could not be read (instead of its SHA-256)


@sensor(job=campaign_job, minimum_interval_seconds=15, default_status=DefaultSensorStatus.RUNNING)
def campaign_files_sensor(
    context: SensorEvaluationContext, campaign_registry: CampaignRegistryResource, results_location: ResultsLocation
) -> SensorResult | SkipReason:
    """Register each new or changed *.toml in the inbox and launch its blocks, `blocks_per_run` per run (a
    partition key range when more than one). Blocks finished, running or queued are left out (e.g. launched
    for an earlier version of the file with another blocks_per_run); run keys (campaign fingerprint + blocks)
    keep two ticks from launching the same run.

    A file that cannot be read (a directory named *.toml, a FIFO, removed meanwhile, no permission) is
    skipped and the others go on: its reason is logged once and kept in the cursor as "unreadable: ...", and
    the file is registered at the first tick that can read it. A readable file that is not a valid campaign
    (binary, bad TOML, a refused field) is logged and retried when its content changes."""
    folder = ensure_inbox()
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    changed: list[tuple[Path, bytes]] = []
    unreadable: list[str] = []
    noted = False  # a file's reason for being unreadable is new: the cursor must keep it
    for path in sorted(folder.glob("*.toml")):
        try:
            data = read_campaign_file(path)
        except CampaignError as exc:
            note = f"{UNREADABLE}{exc}"
            unreadable.append(path.name)
            if seen.get(path.name) != note:
                context.log.error(f"{path.name}: skipped: {exc}")
                seen[path.name], noted = note, True
            continue
        if seen.get(path.name) != hashlib.sha256(data).hexdigest():
            changed.append((path, data))
    if not changed:
        reason = f"no new campaign files in {folder}" + (
            f"; unreadable, skipped: {', '.join(unreadable)}" if unreadable else "")
        if noted:
            return SensorResult(skip_reason=reason, cursor=json.dumps(seen, sort_keys=True))
        return SkipReason(reason)
    registry = campaign_registry.registry()
    costs = campaign_registry.costs()
    order = context.instance.get_dynamic_partitions(campaign_blocks.name)
    existing = set(order)
    new_keys: list[str] = []
    runs: list[RunRequest] = []
    requested: set[str] = set()
    for path, data in changed:
        seen[path.name] = hashlib.sha256(data).hexdigest()
        try:
            spec = parse_campaign_bytes(data, path.name)
            registry.register(spec)
        except CampaignError as exc:  # reported and skipped; a fixed file has a new hash and is retried
            context.log.error(f"{path.name}: {exc}")
            continue
        keys = spec.partition_keys()
        for key in keys:
            if key not in existing:
                new_keys.append(key)
                existing.add(key)
        skip = busy_or_done(context.instance, keys, results_location)
        # The keys this tick adds come after the instance's, in block order.
        for run in batching.batches([k for k in keys if k not in skip], [*order, *new_keys], spec.blocks_per_run or 1):
            run_key = f"{spec.fingerprint()}:{run[0]}" + (f"..{run[-1]}" if len(run) > 1 else "")
            if run_key in requested:  # the same campaign in two files: one run per block
                continue
            requested.add(run_key)
            tags = limit_tags(spec, run, costs)
            if len(run) == 1:
                runs.append(RunRequest(partition_key=run[0], run_key=run_key, tags=tags))
            else:
                runs.append(RunRequest(run_key=run_key, tags={**tags, **batching.run_tags(run)}))
        context.log.info(f"{path.name}: campaign '{spec.name}', {counted(spec.block_count, 'block')}")
    return SensorResult(
        run_requests=runs,
        dynamic_partitions_requests=[campaign_blocks.build_add_request(new_keys)] if new_keys else [],
        cursor=json.dumps(seen, sort_keys=True),
    )


def busy_or_done(instance, keys: list[str], results: ResultsLocation) -> set[str]:
    """Blocks finished (every stage passed its checks, files intact, from a successful run), or in a queued or
    running run. A damaged or failed block is neither: it is launched again."""
    finished, _ = finished_blocks(instance, keys, results.base_path, results.storage_options)
    states = block_states(keys, campaign_runs(instance, keys), finished)
    return {k for k, state in states.items() if state in ("done", "running", "queued")}
