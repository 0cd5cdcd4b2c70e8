"""A block a volunteer completed becomes the same assets as any block: the sensor launches its run, the prp stage
takes the accepted rows (not tested again) with the volunteer as the block's worker, every check passes."""

from __future__ import annotations

import pytest
from conftest import RIESEL
from dagster import DagsterInstance, build_sensor_context, materialize

from assets.block_stages import candidate_ranges, certificates, p_minus_1, prp_results, sieve_survivors
from assets.checks import CAMPAIGN_CHECKS
from assets.volunteers import volunteer_blocks_sensor
from darkreach_pipeline import blocks, settings
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.stores.costs import CostStore
from darkreach_pipeline.stores.registry import open_registry
from darkreach_pipeline.stores.reliability import ReliabilityStore
from darkreach_pipeline.volunteer.client import submission
from darkreach_pipeline.volunteer.server import _judge
from darkreach_pipeline.volunteer.store import VolunteerStore, Worker
from resources.campaigns import CampaignRegistryResource
from resources.results import ResultsLocation
from resources.run_tags import VOLUNTEER_TAG


@pytest.fixture
def instance(darkreach_home):
    inst = DagsterInstance.ephemeral()
    yield inst
    inst.dispose()


def test_a_volunteer_block_is_materialised_from_its_accepted_result(darkreach_home, instance, pari_primes):
    url = settings.registry_url()
    spec = parse_campaign(RIESEL)
    open_registry(url).register(spec)
    key = spec.partition_key(1)  # n = 41..80: every number above 2^64, so established by its proof
    volunteers = VolunteerStore(url)
    volunteers.open_blocks(spec, [1], CostStore(url))
    worker_id, _ = volunteers.register("alice", None)
    lease = volunteers.claim(worker_id, [], 0)
    sieved = blocks.sieve_frame(spec, 1, blocks.candidate_frame(spec, 1))
    tests = blocks.test_frame(spec, 1, sieved)
    verdict = _judge(volunteers, open_registry(url), ReliabilityStore(url), Worker(worker_id, "alice", None),
                     submission(spec, key, lease.lease_id, sieved, tests, 1.0))
    assert verdict.status == "accepted", verdict.reason

    resources = {"campaign_registry": CampaignRegistryResource(url=url),
                 "results_location": ResultsLocation(base_path=settings.data_path())}
    tick = volunteer_blocks_sensor(build_sensor_context(instance=instance, resources=resources))
    assert [(r.partition_key, r.tags[VOLUNTEER_TAG]) for r in tick.run_requests] == [(key, worker_id)]
    assert instance.has_dynamic_partition("campaign_blocks", key) is False  # added by the sensor's result
    instance.add_dynamic_partitions("campaign_blocks", [key])
    again = volunteer_blocks_sensor(build_sensor_context(instance=instance, cursor=tick.cursor, resources=resources))
    assert not getattr(again, "run_requests", None)  # nothing new since the cursor

    from darkreach_pipeline.definitions import build_resources

    result = materialize([candidate_ranges, sieve_survivors, p_minus_1, prp_results, certificates, *CAMPAIGN_CHECKS],
                         partition_key=key, instance=instance, resources=build_resources())
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())
    stored = result.output_for_node("prp_results", "prp_results")
    assert (stored["worker_id"] == worker_id).all() and (stored["host"] == "volunteer:alice").all()
    assert list(stored["seconds"]) == list(tests["seconds"])  # the volunteer's rows, not a second test
    certs = result.output_for_node("certificates")
    lo, hi = spec.block_range(1)
    assert set(certs.loc[certs["verified"], "n"].astype(int)) == pari_primes(3, 2, -1, lo, hi - 1)
    assert ReliabilityStore(url).block_worker(key)[0] == worker_id
