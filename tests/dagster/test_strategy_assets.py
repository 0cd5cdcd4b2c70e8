"""The strategist's assets in Dagster: a plan from Launchpad config (table + campaign files), feedback and
announcements after a real campaign, and the sensor that launches the queued extra verification."""

from __future__ import annotations

import json

import pytest
from conftest import PROTH
from dagster import DagsterInstance, RunRequest, SkipReason, build_sensor_context, materialize

from assets.block_stages import candidate_ranges, certificates, p_minus_1, prp_results, sieve_survivors
from assets.checks import CAMPAIGN_CHECKS
from assets.results import RESULT_ASSETS, results_sensor
from assets.strategy import (
    announcement_verification_sensor,
    announcements,
    campaign_feedback,
    campaign_plan,
    fleet_advice,
)
from assets.verification import double_checks, verified_primes
from darkreach_pipeline import settings
from darkreach_pipeline.campaign import load_campaign, parse_campaign
from darkreach_pipeline.stores.registry import open_registry
from resources.results import ResultsLocation

CAMPAIGN_ASSETS = [candidate_ranges, sieve_survivors, p_minus_1, prp_results, certificates]


@pytest.fixture
def instance(darkreach_home):
    inst = DagsterInstance.ephemeral()
    yield inst
    inst.dispose()


def resources() -> dict:
    from darkreach_pipeline.definitions import build_resources

    return build_resources()


def test_campaign_plan_asset_writes_ranked_campaign_files(darkreach_home, instance):
    config = {"form": "factorial", "params": {"c": "1,-1"}, "range_key": "n", "range": "3000..4000", "top": 2}
    result = materialize([campaign_plan], instance=instance, resources=resources(),
                         run_config={"ops": {"campaign_plan": {"config": config}}})
    assert result.success
    frame = result.output_for_node("campaign_plan")
    assert list(frame["rank"]) == [1, 2]
    meta = result.asset_materializations_for_node("campaign_plan")[0].metadata
    assert "E[primes]" in meta["plan"].value and meta["proposals"].value == 2
    for path in frame["file"]:
        spec = load_campaign(path)
        assert spec.form == "factorial" and spec.range_min == 3000 and path.startswith(str(darkreach_home))


def test_feedback_and_announcements_after_a_campaign(darkreach_home, instance):
    res = resources()
    spec = parse_campaign({**PROTH, "n_max": 80})  # two blocks
    open_registry(settings.registry_url()).register(spec)
    instance.add_dynamic_partitions("campaign_blocks", spec.partition_keys())
    for key in spec.partition_keys():
        assert materialize([*CAMPAIGN_ASSETS, *CAMPAIGN_CHECKS], partition_key=key, instance=instance,
                           resources=res).success
    strategy = [verified_primes, announcements, campaign_feedback, fleet_advice]
    result = materialize([*CAMPAIGN_ASSETS, *strategy], instance=instance, resources=res, selection=strategy)
    assert result.success
    verified = result.output_for_node("verified_primes")
    made = result.output_for_node("announcements")
    assert len(made) == len(verified) > 0  # every prime of PROTH is proven and verified (all small)
    assert set(made["expression"]) == set(verified["expression"]) and (made["status"] == "proven-verified").all()
    assert made["t5k_draft"].isna().all()  # far below the Top 5000 cut-off
    folder = darkreach_home / "data" / "announcements"
    assert (folder / "3_2_66+1.md").read_text().startswith("# Prime 3*2^66+1")
    assert json.loads((folder / "verification_queue.json").read_text()) == {"blocks": []}
    feedback = result.output_for_node("campaign_feedback")
    row = feedback[feedback["campaign"] == "proth"].iloc[0]
    assert row["blocks_done"] == spec.block_count and row["found"] == len(verified)
    assert row["verdict"] in ("push on", "widen", "pivot") and row["measured_test_seconds"] > 0
    meta = result.asset_materializations_for_node("campaign_feedback")[0].metadata
    assert meta["proth_verdict"].value == row["verdict"]
    tick = results_sensor(build_sensor_context(instance=instance))  # blocks finished: the summaries refresh
    assert len(tick.run_requests) == 1 and {"announcements", "campaign_feedback", "fleet_advice"} <= set(RESULT_ASSETS)
    assert isinstance(results_sensor(build_sensor_context(instance=instance, cursor=tick.cursor)), SkipReason)
    check = materialize([*CAMPAIGN_ASSETS, double_checks], selection=[double_checks], instance=instance,
                        resources=res, partition_key=spec.partition_key(0))
    assert check.success  # a double check finished: announcements must follow (prp -> prp-double-checked)
    assert len(results_sensor(build_sensor_context(instance=instance, cursor=tick.cursor)).run_requests) == 1
    fleet = result.asset_materializations_for_node("fleet_advice")[0].metadata
    assert fleet["workers_needed"].value == 0 and fleet["queued_cpu_hours"].value == 0  # every block is done
    (worker,) = result.output_for_node("fleet_advice").to_dict("records")  # this home's one worker
    assert worker["blocks"] == spec.block_count and worker["tests"] > 0
    assert "| proth | 2 |" in fleet["advice"].value  # its block size advice, from the two runs


def test_announcement_sensor_launches_the_queued_double_checks(darkreach_home, instance):
    location = ResultsLocation(base_path=str(darkreach_home / "data"))
    context = build_sensor_context(instance=instance, resources={"results_location": location})
    assert isinstance(announcement_verification_sensor(context), SkipReason)
    folder = darkreach_home / "data" / "announcements"
    folder.mkdir(parents=True)
    (folder / "verification_queue.json").write_text(json.dumps({"blocks": ["proth/000001"]}))
    result = announcement_verification_sensor(build_sensor_context(instance=instance,
                                                                   resources={"results_location": location}))
    (request,) = result.run_requests
    assert isinstance(request, RunRequest) and request.partition_key == "proth/000001"
    assert request.run_key == "announce:proth/000001"
    (folder / "verification_queue.json").write_text("{damaged")
    skipped = announcement_verification_sensor(build_sensor_context(instance=instance,
                                                                    resources={"results_location": location}))
    assert isinstance(skipped, SkipReason) and "damaged" in skipped.skip_message


def test_a_refused_plan_fails_the_run_naming_the_field(darkreach_home, instance):
    config = {"form": "kbn", "params": {"k": "3", "b": "2"}, "range_key": "n", "range": "100..200"}
    result = materialize([campaign_plan], instance=instance, resources=resources(), raise_on_error=False,
                         run_config={"ops": {"campaign_plan": {"config": config}}})
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "campaign field 'c'" in failure.step_failure_data.error.message
