"""The strategist in Dagster (group `strategy`): a plan from Launchpad config, feedback on every campaign, and
the announcements of verified primes with their extra verification queued. Thin: the engine decides
(darkreach_pipeline/strategy/)."""

import json
import os
import re
import uuid

import pandas as pd
from dagster import (
    AssetExecutionContext,
    Config,
    DefaultSensorStatus,
    Failure,
    MetadataValue,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    asset,
    sensor,
)
from upath import UPath

from assets.block_stages import certificates, prp_results
from assets.instance_queries import campaign_runs, finished_blocks, materialisation_times, materialized_blocks
from assets.jobs import double_check_job
from darkreach_pipeline import settings
from darkreach_pipeline.campaign import MAX_BLOCK_SIZE, MAX_BLOCKS
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.stores.results import read_stage_checked
from darkreach_pipeline.strategy.announcer import announcements as announce_all
from darkreach_pipeline.strategy.announcer import verification_queue
from darkreach_pipeline.strategy.density import MODELLED_FORMS
from darkreach_pipeline.strategy.feedback import feedback_from_results, feedback_table, queued_test_seconds
from darkreach_pipeline.strategy.fleet_advisor import (
    advice_tables,
    block_size_advice,
    block_work,
    worker_advice,
    workers_needed,
)
from darkreach_pipeline.strategy.planner import PlanRequest, plan, plan_table, write_campaign_files
from darkreach_pipeline.strategy.snapshot import load_snapshot
from resources.campaigns import CampaignRegistryResource
from resources.results import ResultsLocation
from resources.run_tags import WHY_TAG

QUEUE_FILE = "verification_queue.json"


class PlanConfig(Config):
    """The same request as `darkreach plan`: values as '3,5,7' or '1..99:2', range as 'MIN..MAX'."""

    form: str = "kbn"
    params: dict[str, str] = {"k": "3,5,7,15", "b": "2", "c": "1"}
    range_key: str = "n"
    range: str = "100000..200000"
    pieces: int = 1
    rank_by: str = "primes"
    top: int = 20


def _write_text(path: UPath, text: str) -> None:
    """Whole or not at all: a temporary name unique to the writer, then a rename."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    with tmp.open("w") as f:
        f.write(text)
    tmp.rename(path)


@asset(group_name="strategy")
def campaign_plan(context: AssetExecutionContext, config: PlanConfig,
                  campaign_registry: CampaignRegistryResource) -> pd.DataFrame:
    """Ranked proposals with the numbers behind them; each written as a ready campaign file in
    $DARKREACH_HOME/plans/ (drop one into the campaigns folder to run it)."""
    try:
        request = PlanRequest.from_text(config.form, config.params, config.range_key, config.range, config.pieces,
                                        config.rank_by)
        proposals, skipped = plan(request, campaign_registry.costs())
    except CampaignError as exc:  # the run fails with the field and the fix, like register_campaign
        raise Failure(description=str(exc)) from None
    best = proposals[:config.top]
    paths = write_campaign_files(best, settings.darkreach_home() / "plans")
    for reason in skipped:
        context.log.warning(f"skipped: {reason}")
    context.add_output_metadata({
        "plan": MetadataValue.md(plan_table(best, config.rank_by)), "proposals": len(proposals),
        "skipped": len(skipped), "files": MetadataValue.path(str(paths[0].parent)) if paths else "none",
        "lists_snapshot": load_snapshot().label(),
    })
    return pd.DataFrame([{"rank": p.rank, "campaign": p.spec.name, "range_min": p.spec.range_min,
                          "range_max": p.spec.range_max, "expected_primes": p.expected_primes, "sigma": p.sigma,
                          "survivors": p.survivors, "sieve_depth": p.spec.sieve_depth, "cpu_hours": p.cpu_hours,
                          "p_top5000": p.p_top5000, "p_top20": p.p_top20, "arithmetic": p.arithmetic,
                          "cost_source": p.cost_source, "file": str(path)}
                         for p, path in zip(best, paths, strict=True)])


def feedback_rows(instance, registry, base: str, options: dict, name: str | None = None) -> list:
    """Feedback on every registered campaign (or the one named) from its finished blocks' stored stages."""
    rows = []
    for spec in registry.all():
        if (name is not None and spec.name != name) or spec.form not in MODELLED_FORMS:
            continue  # a form without a density model has nothing to be held against (it never blocks results)
        finished, _ = finished_blocks(instance, spec.partition_keys(), base, options)
        results, _ = read_stage_checked(base, "prp_results", spec.name, options)
        certs, _ = read_stage_checked(base, "certificates", spec.name, options)
        rows.append(feedback_from_results(spec, finished, results, certs))
    return rows


@asset(deps=[certificates], group_name="strategy")
def campaign_feedback(context: AssetExecutionContext, campaign_registry: CampaignRegistryResource,
                      results_location: ResultsLocation) -> pd.DataFrame:
    """Per campaign: primes found in its finished blocks against the model (± Poisson σ), the primes still
    expected, and the verdict: push on, widen or pivot; measured test seconds against the cost model."""
    rows = feedback_rows(context.instance, campaign_registry.registry(), results_location.base_path,
                         results_location.storage_options)
    context.add_output_metadata({"feedback": MetadataValue.md(feedback_table(rows)), "campaigns": len(rows),
                                 **{f"{f.campaign}_verdict": f.verdict for f in rows}})
    return pd.DataFrame([{**f.__dict__, "sigma": f.sigma, "cost_ratio": f.cost_ratio} for f in rows])


@asset(group_name="strategy")
def announcements(context: AssetExecutionContext, verified_primes: pd.DataFrame,
                  results_location: ResultsLocation) -> pd.DataFrame:
    """An announcement per verified prime (and a Top 5000 draft for a proven one above the cut-off) under
    data/announcements/; blocks still needing their extra verification go to the queue that
    `announcement_verification_sensor` launches double checks from."""
    snapshot = load_snapshot()
    rows = verified_primes.to_dict("records") if len(verified_primes) else []
    made = announce_all(rows, snapshot)
    checked = materialized_blocks(context.instance, "double_checks")
    queue = verification_queue(rows, checked, snapshot)
    root = UPath(results_location.base_path, **results_location.storage_options) / "announcements"
    root.mkdir(parents=True, exist_ok=True)
    for a in made:
        stem = re.sub(r"[^A-Za-z0-9+-]", "_", a.expression)
        _write_text(root / f"{stem}.md", a.text)
        if a.t5k_draft:
            _write_text(root / f"{stem}.t5k.txt", a.t5k_draft)
    _write_text(root / QUEUE_FILE, json.dumps({"blocks": queue}))
    table = "\n".join(["| prime | digits | status | proof | Top5000 | top20 | OEIS |", "|---|---|---|---|---|---|---|",
                       *(f"| {a.expression} | {a.digits:,} | {a.status} | {a.method} | {a.top5000} | {a.top20} "
                         f"| {a.oeis.split(' ')[0]} |" for a in made)])
    context.add_output_metadata({"announced": len(made), "drafts": sum(1 for a in made if a.t5k_draft),
                                 "verification_queued": ", ".join(queue) or "none",
                                 "announcements": MetadataValue.md(table), "lists_snapshot": snapshot.label()})
    return pd.DataFrame([a.__dict__ for a in made],
                        columns=["campaign", "block", "expression", "digits", "form", "status", "method", "proof",
                                 "top5000", "top20", "oeis", "text", "t5k_draft"])


@sensor(job=double_check_job, minimum_interval_seconds=60, default_status=DefaultSensorStatus.RUNNING)
def announcement_verification_sensor(context: SensorEvaluationContext,
                                     results_location: ResultsLocation) -> SensorResult | SkipReason:
    """Launch the double check of every block the announcer queued (one run per block: run keys)."""
    path = UPath(results_location.base_path, **results_location.storage_options) / "announcements" / QUEUE_FILE
    try:
        queue = json.loads(path.read_text())["blocks"]
    except FileNotFoundError:
        return SkipReason("nothing announced yet")
    except (ValueError, KeyError, TypeError) as exc:
        return SkipReason(f"{path} is damaged ({exc}); materialise `announcements` to rewrite it")
    if not queue:
        return SkipReason("no block waits for its extra verification")
    return SensorResult(run_requests=[RunRequest(partition_key=key, run_key=f"announce:{key}",
                                                 tags={WHY_TAG: "announced prime: extra verification"})
                                      for key in queue])


def fleet_report(instance, registry, store, base: str, options: dict, drain_hours: float) -> tuple:
    """(worker advice, block size advice per campaign, worker slots needed, queued test seconds)."""
    results, _ = read_stage_checked(base, "prp_results", storage_options=options)
    work = block_work(results, materialisation_times(instance, "prp_results"))
    sizes, queued = [], 0.0
    for spec in registry.all():
        keys = spec.partition_keys()
        done, _ = finished_blocks(instance, keys, base, options)
        mine = work[work["key"].str.startswith(f"{spec.name}/")]
        advice = block_size_advice(spec.name, spec.block_size, spec.axis_max - spec.axis_min + 1, MAX_BLOCKS,
                                   MAX_BLOCK_SIZE, campaign_runs(instance, keys),
                                   dict(zip(mine["key"], mine["seconds"], strict=True)))
        if advice is not None:
            sizes.append(advice)
        queued += queued_test_seconds(spec, [i for i, k in enumerate(keys) if k not in done], store)
    return worker_advice(work), sizes, workers_needed(queued, drain_hours), queued


class FleetConfig(Config):
    drain_hours: float = 24.0  # the queue should be done within this many hours


@asset(deps=[prp_results], group_name="strategy")
def fleet_advice(context: AssetExecutionContext, config: FleetConfig, campaign_registry: CampaignRegistryResource,
                 results_location: ResultsLocation) -> pd.DataFrame:
    """Slow, degrading or rollback-prone workers; per campaign the block size that keeps overhead under 1%;
    and `workers_needed`: single-core worker slots that drain the queue in `drain_hours` (for an autoscaler)."""
    workers, sizes, needed, queued = fleet_report(context.instance, campaign_registry.registry(),
                                                  campaign_registry.costs(), results_location.base_path,
                                                  results_location.storage_options, config.drain_hours)
    context.add_output_metadata({
        "workers_needed": needed, "queued_cpu_hours": round(queued / 3600, 3),
        "flagged_workers": ", ".join(f"{w.worker[:8]}: {w.verdict}" for w in workers if w.verdict != "ok") or "none",
        "advice": MetadataValue.md(advice_tables(workers, sizes, needed, config.drain_hours, queued / 3600)),
    })
    return pd.DataFrame([w.__dict__ for w in workers],
                        columns=["worker", "blocks", "tests", "work_rate", "vs_fleet", "trend", "rollbacks_early",
                                 "rollbacks_late", "verdict"])


STRATEGY_ASSETS = [campaign_plan, campaign_feedback, announcements, fleet_advice]
