"""Many blocks per run: the campaign field, cutting blocks into partition key ranges, a run of 3 blocks
materialising each block exactly once with the same results as one-block runs, and the sensor's ranges."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import PROTH
from dagster import (
    AssetCheckKey,
    AssetKey,
    DagsterInstance,
    RunRequest,
    build_sensor_context,
    materialize,
)
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)

from assets.block_stages import candidate_ranges, certificates, p_minus_1, prp_results, sieve_survivors
from assets.checks import CAMPAIGN_CHECKS
from assets.sensors import campaign_files_sensor
from darkreach_pipeline import batching, settings
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.stores.registry import open_registry
from darkreach_pipeline.stores.results import read_stage
from resources.campaigns import CampaignRegistryResource
from resources.results import ResultsLocation
from resources.run_tags import blocks_of_run, partition_tags

ASSETS = ["candidate_ranges", "sieve_survivors", "p_minus_1", "prp_results", "prp_proofs", "certificates"]


def materializations(result, asset: str):
    """One asset's materialisations in a run (prp_results and prp_proofs come from one node)."""
    node = "prp_results" if asset == "prp_proofs" else asset
    return [e for e in result.asset_materializations_for_node(node) if e.asset_key == AssetKey(asset)]
FOUR_BLOCKS = {**PROTH, "n_max": 160}  # n = 1..160: blocks of 40 -> 4 blocks
RUN_DEPENDENT = ["seconds", "worker_id", "host", "software"]  # differ between two runs of the same block


# ----- the campaign field ----------------------------------------------------------------------------------


def test_blocks_per_run_is_unset_by_default_and_is_not_part_of_the_identity():
    one = parse_campaign(PROTH)
    three = parse_campaign({**PROTH, "blocks_per_run": 3})
    assert one.blocks_per_run is None and three.blocks_per_run == 3  # None: `darkreach run` chooses
    assert "blocks_per_run" not in one.to_toml()
    assert "blocks_per_run" not in three.definition()
    assert three.fingerprint() == one.fingerprint() and three == one
    assert "blocks_per_run = 3" in three.to_toml()
    assert parse_campaign({**PROTH, "blocks_per_run": 3}).partition_keys() == one.partition_keys()


def test_registering_with_another_blocks_per_run_is_the_same_campaign(darkreach_home):
    registry = open_registry(settings.registry_url())
    assert registry.register(parse_campaign(PROTH)) is True
    assert registry.register(parse_campaign({**PROTH, "blocks_per_run": 5})) is False  # no "changed" error


@pytest.mark.parametrize("value, message", [
    (0, "must be >= 1, got 0"), (-2, "must be >= 1"), ("3", "must be a whole number"), (True, "whole number"),
    (2.5, "whole number"), (1001, "must be <= 1000, got 1001"),
])
def test_bad_blocks_per_run_is_refused_naming_the_field(value, message):
    with pytest.raises(CampaignError) as err:
        parse_campaign({**PROTH, "blocks_per_run": value})
    assert "'blocks_per_run'" in str(err.value) and message in str(err.value)


# ----- cutting blocks into runs ------------------------------------------------------------------------------


def test_batches_are_contiguous_in_the_instance_order_and_at_most_per_run():
    order = ["a/000000", "a/000001", "b/000000", "a/000002", "a/000003", "a/000004", "a/000005"]
    wanted = ["a/000005", "a/000000", "a/000001", "a/000002", "a/000003", "a/000004"]
    # b/000000 was added between a's blocks: no range may cross it
    assert batching.batches(wanted, order, 3) == [["a/000000", "a/000001"], ["a/000002", "a/000003", "a/000004"],
                                                  ["a/000005"]]
    assert batching.batches(wanted, order, 1) == [[k] for k in order if k in wanted]
    assert batching.batches(["a/000000", "a/000003"], order, 5) == [["a/000000"], ["a/000003"]]  # a gap
    assert batching.batches([], order, 4) == []
    with pytest.raises(KeyError, match="c/000000"):
        batching.batches(["c/000000"], order, 2)
    with pytest.raises(ValueError):
        batching.batches(wanted, order, 0)


def test_blocks_of_a_run_from_its_tags():
    order = ["a/000000", "a/000001", "a/000002", "a/000003"]
    assert blocks_of_run({PARTITION_NAME_TAG: "a/000002"}, order) == ["a/000002"]
    tags = partition_tags(["a/000001", "a/000002", "a/000003"])
    assert tags == {ASSET_PARTITION_RANGE_START_TAG: "a/000001", ASSET_PARTITION_RANGE_END_TAG: "a/000003"}
    assert blocks_of_run(tags, order) == ["a/000001", "a/000002", "a/000003"]
    assert partition_tags(["a/000001"]) == {PARTITION_NAME_TAG: "a/000001"}
    assert blocks_of_run({}, order) == []
    assert blocks_of_run({ASSET_PARTITION_RANGE_START_TAG: "a/000003",
                          ASSET_PARTITION_RANGE_END_TAG: "a/000001"}, order) == []
    assert blocks_of_run({ASSET_PARTITION_RANGE_START_TAG: "gone/000000",
                          ASSET_PARTITION_RANGE_END_TAG: "a/000001"}, order) == []


# ----- a run of three blocks -------------------------------------------------------------------------------------


def _materialize(instance, tags=None, partition_key=None):
    from darkreach_pipeline.definitions import build_resources

    return materialize([candidate_ranges, sieve_survivors, p_minus_1, prp_results, certificates, *CAMPAIGN_CHECKS],
                       instance=instance, resources=build_resources(), tags=tags, partition_key=partition_key)


def _stored(asset: str, name: str) -> pd.DataFrame:
    frame = read_stage(settings.data_path(), asset, campaign=name)
    frame = frame.drop(columns=[c for c in RUN_DEPENDENT if c in frame])
    return frame.sort_values(list(frame.columns[:6]), ignore_index=True)


def test_a_run_of_three_blocks_materialises_each_once_and_equals_one_block_runs(darkreach_home, tmp_path,
                                                                                 monkeypatch, pari_primes):
    spec = parse_campaign({**FOUR_BLOCKS, "blocks_per_run": 3})
    keys = spec.partition_keys()

    # Reference: one run per block, in its own home.
    (tmp_path / "single").mkdir()
    monkeypatch.setenv("DARKREACH_HOME", str(tmp_path / "single"))
    open_registry(settings.registry_url()).register(spec)
    single = DagsterInstance.ephemeral()
    single.add_dynamic_partitions("campaign_blocks", keys)
    for key in keys:
        assert _materialize(single, partition_key=key).success
    expected = {asset: _stored(asset, spec.name) for asset in ASSETS}
    single.dispose()

    # Runs of up to 3 blocks, as the sensor and `darkreach run` cut them: [0, 1, 2] and [3].
    monkeypatch.setenv("DARKREACH_HOME", str(darkreach_home))
    open_registry(settings.registry_url()).register(spec)
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("campaign_blocks", keys)
    runs = batching.batches(keys, instance.get_dynamic_partitions("campaign_blocks"), spec.blocks_per_run or 1)
    assert runs == [keys[:3], keys[3:]]
    results = [_materialize(instance, tags=partition_tags(run)) for run in runs]
    assert all(r.success for r in results)
    first = results[0]

    # The 3-block run: every asset materialised once per block, with per-block metadata.
    for asset in ASSETS:
        events = materializations(first, asset)
        assert sorted(e.partition for e in events) == keys[:3], asset
    tests_by_block = {e.partition: e.metadata["tests"].value
                      for e in materializations(first, "prp_results")}
    stored_results = read_stage(settings.data_path(), "prp_results", campaign=spec.name)
    assert tests_by_block == {key: int((stored_results["block"] == i).sum()) for i, key in enumerate(keys[:3])}
    for event in materializations(first, "prp_results"):
        tested = event.metadata["tests"].value
        assert event.metadata["tested"].value == f"{tested}/{tested}"
        assert event.metadata["progress_log"].value[-1]["done"] == tested
    candidates = {e.partition: e.metadata["candidates"].value
                  for e in first.asset_materializations_for_node("candidate_ranges")}
    assert candidates == {k: 40 for k in keys[:3]}
    # Each check evaluated per block (not once for the range), all passed, none left "planned".
    evaluations = first.get_asset_check_evaluations()
    assert sorted((e.check_name, e.partition) for e in evaluations) == sorted(
        (c, k) for c in ("sieve_accounts_for_every_candidate", "every_p_minus_1_factor_divides",
                         "every_survivor_tested_once", "every_proof_verifies", "every_prime_has_verified_certificate")
        for k in keys[:3])
    assert all(e.passed for e in evaluations)
    for check, asset in (("sieve_accounts_for_every_candidate", "sieve_survivors"),
                         ("every_p_minus_1_factor_divides", "p_minus_1"),
                         ("every_survivor_tested_once", "prp_results"), ("every_proof_verifies", "prp_proofs"),
                         ("every_prime_has_verified_certificate", "certificates")):
        history = instance.event_log_storage.get_asset_check_execution_history(
            AssetCheckKey(AssetKey(asset), check), limit=20)
        assert sorted((h.partition, h.status.value) for h in history) == [(k, "SUCCEEDED") for k in keys], check

    # Exactly once per block across both runs, and the instance knows every block as materialised.
    for asset in ASSETS:
        records = instance.fetch_materializations(AssetKey(asset), limit=100).records
        assert sorted(r.partition_key for r in records) == keys, asset
    # The same rows as the one-block runs, and the primes PARI/GP finds.
    for asset in ASSETS:
        pd.testing.assert_frame_equal(_stored(asset, spec.name), expected[asset], check_dtype=True)
    certs = read_stage(settings.data_path(), "certificates", campaign=spec.name)
    assert set(certs["n"]) == pari_primes(3, 2, 1, 1, 160)
    instance.dispose()


def test_a_failed_check_in_a_range_fails_the_run_and_names_the_block(darkreach_home, monkeypatch):
    import darkreach_pipeline.checks as engine_checks

    spec = parse_campaign({**PROTH, "blocks_per_run": 3})
    open_registry(settings.registry_url()).register(spec)
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("campaign_blocks", spec.partition_keys())
    real = engine_checks.tested_once_problems

    def lose_one_in_block_1(axis, sieved, tested):
        problems = real(axis, sieved, tested)
        return problems + (["n = 41 lost (injected)"] if (tested["block"] == 1).any() else [])

    monkeypatch.setattr("assets.checks.tested_once_problems", lose_one_in_block_1)
    from darkreach_pipeline.definitions import build_resources

    result = materialize([candidate_ranges, sieve_survivors, p_minus_1, prp_results, certificates, *CAMPAIGN_CHECKS],
                         instance=instance, tags=partition_tags(spec.partition_keys()), raise_on_error=False,
                         resources=build_resources())
    assert not result.success
    verdicts = {e.partition: e.passed for e in result.get_asset_check_evaluations()
                if e.check_name == "every_survivor_tested_once"}
    assert verdicts == {"proth/000000": True, "proth/000001": False, "proth/000002": True}
    bad = [e for e in result.get_asset_check_evaluations() if not e.passed][0]
    assert "injected" in bad.metadata["first_problems"].value
    assert not result.asset_materializations_for_node("certificates")  # blocked for the whole run
    instance.dispose()


# ----- the sensor ---------------------------------------------------------------------------------------------


def _tick(instance, cursor=None):
    context = build_sensor_context(instance=instance, cursor=cursor, resources={
        "campaign_registry": CampaignRegistryResource(url=settings.registry_url()),
        "results_location": ResultsLocation(base_path=settings.data_path())})
    return campaign_files_sensor(context)


def test_sensor_launches_ranges_of_blocks_per_run(darkreach_home, write_campaign):
    instance = DagsterInstance.ephemeral()
    write_campaign({**FOUR_BLOCKS, "blocks_per_run": 3}, path=darkreach_home / "campaigns" / "proth.toml")
    result = _tick(instance)
    keys = parse_campaign(FOUR_BLOCKS).partition_keys()
    assert [list(r.partition_keys) for r in result.dynamic_partitions_requests] == [keys]
    assert all(isinstance(r, RunRequest) for r in result.run_requests)
    ranged, single = result.run_requests
    assert ranged.partition_key is None
    assert ranged.tags[ASSET_PARTITION_RANGE_START_TAG] == keys[0]
    assert ranged.tags[ASSET_PARTITION_RANGE_END_TAG] == keys[2]
    assert ranged.tags["darkreach/campaign"] == "proth"
    assert single.partition_key == keys[3] and ASSET_PARTITION_RANGE_START_TAG not in single.tags
    # the range's timeout covers its three blocks
    assert int(ranged.tags["dagster/max_runtime"]) >= 3 * 120
    assert ranged.run_key.endswith(f"{keys[0]}..{keys[2]}") and single.run_key.endswith(keys[3])
    instance.dispose()


def test_sensor_leaves_out_blocks_already_finished_or_running(darkreach_home, write_campaign):
    """A file rewritten with another blocks_per_run must not relaunch blocks (its run keys differ)."""
    spec = parse_campaign(FOUR_BLOCKS)
    open_registry(settings.registry_url()).register(spec)
    instance = DagsterInstance.ephemeral()
    keys = spec.partition_keys()
    instance.add_dynamic_partitions("campaign_blocks", keys)
    assert _materialize(instance, partition_key=keys[0]).success
    write_campaign({**FOUR_BLOCKS, "blocks_per_run": 4}, path=darkreach_home / "campaigns" / "proth.toml")
    result = _tick(instance)
    assert [blocks_of_run(r.tags, keys) or [r.partition_key] for r in result.run_requests] == [keys[1:]]
    instance.dispose()


def test_a_one_block_range_records_its_checks_under_the_block(darkreach_home):
    """An asset backfill with a BackfillPolicy launches even a single leftover block as a range start = end."""
    spec = parse_campaign(PROTH)
    open_registry(settings.registry_url()).register(spec)
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("campaign_blocks", spec.partition_keys())
    key = spec.partition_key(2)
    result = _materialize(instance, tags={ASSET_PARTITION_RANGE_START_TAG: key, ASSET_PARTITION_RANGE_END_TAG: key})
    assert result.success
    assert {(e.check_name, e.partition, e.passed) for e in result.get_asset_check_evaluations()} == {
        ("sieve_accounts_for_every_candidate", key, True), ("every_p_minus_1_factor_divides", key, True),
        ("every_survivor_tested_once", key, True), ("every_proof_verifies", key, True),
        ("every_prime_has_verified_certificate", key, True)}
    history = instance.event_log_storage.get_asset_check_execution_history(
        AssetCheckKey(AssetKey("certificates"), "every_prime_has_verified_certificate"), limit=5)
    assert [(h.partition, h.status.value) for h in history] == [(key, "SUCCEEDED")]
    meta = materializations(result, "prp_results")[0].metadata
    assert meta["tested"].value == f"{meta['tests'].value}/{meta['tests'].value}" and meta["tests"].value > 0
    instance.dispose()


def test_darkreach_blocks_per_run_sets_the_shared_backfill_policy():
    import os
    import subprocess
    import sys

    code = ("from darkreach_pipeline.definitions import defs; from dagster import AssetKey; "
            "g = defs.resolve_asset_graph(); print(sorted({str(g.get(AssetKey(a)).backfill_policy) for a in "
            "('candidate_ranges', 'sieve_survivors', 'p_minus_1', 'prp_results', 'certificates')}))")
    env = {**os.environ, "DARKREACH_BLOCKS_PER_RUN": "5", "PYTHONWARNINGS": "ignore"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "['BackfillPolicy.multi_run(max_partitions_per_run=5)']"
    bad = subprocess.run([sys.executable, "-c", code], env={**env, "DARKREACH_BLOCKS_PER_RUN": "0"},
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "DARKREACH_BLOCKS_PER_RUN='0': use a whole number >= 1" in bad.stderr


@pytest.mark.parametrize(("block_seconds", "pending", "workers", "expected"), [
    (60.0, 40, 2, 1),  # big blocks: one per run
    (3.0, 40, 2, 10),  # small: ~30 s of work a run
    (3.0, 8, 2, 4),  # ... but both workers keep a run
    (3.0, 2, 2, 1),  # as many blocks as workers: one each
    (0.001, 10_000, 2, batching.MAX_AUTO_BLOCKS),
])
def test_auto_blocks_per_run(block_seconds, pending, workers, expected):
    assert batching.auto_blocks_per_run(block_seconds, pending, workers) == expected
