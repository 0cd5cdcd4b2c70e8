"""Verification in Dagster: the double_checks asset and its residues_match check, worker reliability from its
outcome, verified_primes with its CSV and Top5000 files, the verification sensor and the audit schedule."""

from __future__ import annotations

import json
import socket
from datetime import datetime

import pandas as pd
import pytest
from conftest import PROTH
from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    RunRequest,
    SensorResult,
    SkipReason,
    build_schedule_context,
    build_sensor_context,
    instance_for_test,
    materialize,
)
from dagster._core.utils import make_new_run_id

from assets.block_stages import candidate_ranges, certificates, p_minus_1, prp_results, sieve_survivors
from assets.checks import CAMPAIGN_CHECKS
from assets.proof_checks import proof_check_job, proof_checks
from assets.verification import double_checks, verified_primes, worker_reliability
from assets.verification_sensors import (
    AUDIT_SHARE,
    MAX_IN_FLIGHT,
    RAMP_PER_TICK,
    audit_schedule,
    read_cursor,
    verification_sensor,
)
from darkreach_pipeline import settings
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.stores.registry import open_registry
from darkreach_pipeline.stores.reliability import needs_double_check, open_reliability_store
from resources.campaigns import CampaignRegistryResource
from resources.results import ResultsLocation

CAMPAIGN_ASSETS = [candidate_ranges, sieve_survivors, p_minus_1, prp_results, certificates]
ALL_ASSETS = [*CAMPAIGN_ASSETS, double_checks, verified_primes, worker_reliability]
# b = 6: no Proth/LLR theorem; 5*6^136+1 and 5*6^147+1 (per PARI) are found as probable primes
SIX = {"name": "six", "form": "kbn", "k": 5, "b": 6, "c": 1, "n_min": 100, "n_max": 160, "block_size": 61,
       "sieve_depth": 1000}


@pytest.fixture
def instance(darkreach_home):
    inst = DagsterInstance.ephemeral()
    yield inst
    inst.dispose()


def fresh_resources() -> dict:
    from darkreach_pipeline.definitions import build_resources

    return build_resources()


def store():
    return open_reliability_store(settings.registry_url())


def setup_and_run_campaign(instance, raw: dict, resources: dict):
    """Register the campaign, add its partitions, and materialise every block's campaign assets."""
    spec = parse_campaign(raw)
    open_registry(settings.registry_url()).register(spec)
    instance.add_dynamic_partitions("campaign_blocks", spec.partition_keys())
    for key in spec.partition_keys():
        result = materialize([*CAMPAIGN_ASSETS, *CAMPAIGN_CHECKS], partition_key=key, instance=instance,
                             resources=resources)
        assert result.success
    return spec


@pytest.fixture
def proth(darkreach_home, instance):
    """The three blocks of PROTH materialised by this home's (new) worker: (spec, resources, worker_id)."""
    resources = fresh_resources()
    spec = setup_and_run_campaign(instance, PROTH, resources)
    worker_id = json.loads((darkreach_home / "worker.json").read_text())["worker_id"]
    return spec, resources, worker_id


def run_double_check(instance, key, resources):
    return materialize(ALL_ASSETS, selection=[double_checks], partition_key=key, instance=instance,
                       resources=resources, raise_on_error=False)


def residues_match(result):
    evaluations = [e for e in result.get_asset_check_evaluations() if e.check_name == "residues_match"]
    assert len(evaluations) == 1, [e.check_name for e in result.get_asset_check_evaluations()]
    return evaluations[0]


def tick(instance, cursor=None):
    context = build_sensor_context(
        instance=instance, cursor=cursor,
        resources={"campaign_registry": CampaignRegistryResource(url=settings.registry_url()),
                   "results_location": ResultsLocation(base_path=str(settings.data_path()))},
    )
    return verification_sensor(context)


def requests_of(result) -> list[RunRequest]:
    if isinstance(result, SkipReason):
        return []
    assert isinstance(result, SensorResult)
    return list(result.run_requests)


def run_proof_checks(instance, requests: list[RunRequest]) -> None:
    """Execute proof-check run requests as the daemon would (their partition and tags)."""
    for request in requests:
        assert materialize([proof_checks], partition_key=request.partition_key, tags=request.tags, instance=instance,
                           resources=fresh_resources()).success


def drain(instance, cursor=None, proof_runs: list | None = None) -> tuple[list[RunRequest], str | None]:
    """Every double-check request of the ticks until the backlog is empty (no double check ever starts here, so
    none is in flight). The proof-check runs a tick asks for are executed at once, as the daemon would launch
    them, so that the next tick reads their outcomes; their requests are appended to `proof_runs`."""
    requests = []
    for _ in range(100):
        result = tick(instance, cursor)
        checks = [r for r in requests_of(result) if r.job_name == proof_check_job.name]
        requests += [r for r in requests_of(result) if r.job_name != proof_check_job.name]
        run_proof_checks(instance, checks)
        (proof_runs if proof_runs is not None else []).extend(checks)
        cursor = result.cursor if isinstance(result, SensorResult) and result.cursor is not None else cursor
        if not read_cursor(cursor)[1] and not checks:
            return requests, cursor
    raise AssertionError("the backlog never drained")


def parquet(home, asset, key):
    return home / "data" / asset / f"{key}.parquet"


def drop_proofs(home, keys):
    """Results without proofs (stored by an older version): the sensor double-checks them as before proofs."""
    for key in keys:
        parquet(home, "prp_proofs", key).unlink()


# ----- double_checks and verified_primes, end to end -----------------------------------------------------------


def test_double_checks_then_verified_primes(darkreach_home, instance, proth, pari_primes):
    spec, resources, worker_id = proth
    stored = pd.read_parquet(parquet(darkreach_home, "prp_results", spec.partition_key(0)))
    assert set(stored["worker_id"]) == {worker_id} and set(stored["host"]) == {socket.gethostname()}
    assert store().block_worker(spec.partition_key(0))[0] == worker_id

    checked = 0
    for key in spec.partition_keys():
        result = run_double_check(instance, key, resources)
        assert result.success
        evaluation = residues_match(result)
        assert evaluation.passed, evaluation.metadata
        assert evaluation.metadata["mismatched_candidates"].value == "none"
        frame = result.output_for_node("double_checks")
        results = pd.read_parquet(parquet(darkreach_home, "prp_results", key))
        assert len(frame) == len(results) > 0
        assert list(frame["n"]) == list(results["n"])
        assert (frame["verdict"] == "match").all()
        assert (frame["res64_second"] == results["res64"]).all()
        meta = result.asset_materializations_for_node("double_checks")[0].metadata
        assert meta["block_valid"].value is True and meta["mismatches"].value == 0
        assert meta["candidates"].value == len(frame) and meta["workers"].value == worker_id
        assert "pari" in meta["libraries"].value and "flint" in meta["libraries"].value
        assert not result.asset_materializations_for_node("prp_results")  # only the double check ran
        assert parquet(darkreach_home, "double_checks", key).is_file()
        checked += 1

    record = store().worker(worker_id)
    assert (record.valid, record.total, record.streak) == (checked, checked, checked) == (3, 3, 3)
    assert not record.trusted  # three blocks are not ten
    assert set(spec.partition_keys()) <= store().checked_blocks()

    result = materialize(ALL_ASSETS, selection=[verified_primes, worker_reliability], instance=instance,
                         resources=resources)
    assert result.success
    frame = result.output_for_node("verified_primes")
    expected = pari_primes(3, 2, 1, spec.axis_min, spec.axis_max)
    assert set(frame["n"]) == expected and len(frame) == len(expected)
    assert (frame["status"] == "proven-verified").all()
    assert result.asset_materializations_for_node("verified_primes")[0].metadata["proven_verified"].value == \
        len(expected)

    csv = pd.read_csv(darkreach_home / "data" / "verified_primes.csv")
    assert set(csv["n"]) == expected and (csv["status"] == "proven-verified").all()
    assert {"expression", "digits", "status", "evidence"} <= set(csv.columns)
    lines = (darkreach_home / "data" / "top5000.txt").read_text().splitlines()
    assert lines[0].startswith("#") and len(lines) == 1 + len(expected)
    assert {line.split()[0] for line in lines[1:]} == {f"3*2^{n}+1" for n in expected}
    digits = [int(line.split()[1]) for line in lines[1:]]
    assert digits == sorted(digits, reverse=True)

    reliability = result.output_for_node("worker_reliability")
    assert list(reliability["worker_id"]) == [worker_id]
    row = reliability.iloc[0]
    assert (row["valid"], row["total"], row["streak"], bool(row["trusted"])) == (3, 3, 3, False)


def test_double_check_job_from_the_definitions(darkreach_home, instance, proth):
    from darkreach_pipeline.definitions import defs

    spec, resources, worker_id = proth
    job = defs.resolve_job_def("double_check_job")
    result = job.execute_in_process(partition_key=spec.partition_key(1), instance=instance, resources=resources,
                                    raise_on_error=False)
    assert result.success
    assert residues_match(result).passed
    assert spec.partition_key(1) in instance.get_materialized_partitions(AssetKey("double_checks"))
    assert store().worker(worker_id).valid == 1


def test_probable_primes_become_prp_double_checked(darkreach_home, instance):
    resources = fresh_resources()
    spec = setup_and_run_campaign(instance, SIX, resources)
    key = spec.partition_key(0)

    before = materialize(ALL_ASSETS, selection=[verified_primes], instance=instance, resources=resources)
    frame = before.output_for_node("verified_primes")
    assert sorted(frame["n"]) == [136, 147] and (frame["status"] == "pending").all()
    assert (darkreach_home / "data" / "top5000.txt").read_text().splitlines()[1:] == []

    assert residues_match(run_double_check(instance, key, resources)).passed
    after = materialize(ALL_ASSETS, selection=[verified_primes], instance=instance, resources=resources)
    frame = after.output_for_node("verified_primes")
    assert (frame["status"] == "prp-double-checked").all() and len(frame) == 2
    assert after.asset_materializations_for_node("verified_primes")[0].metadata["prp_double_checked"].value == 2
    lines = (darkreach_home / "data" / "top5000.txt").read_text().splitlines()
    assert lines[1:] == ["5*6^147+1  116  PRP", "5*6^136+1  107  PRP"]


def test_verified_primes_with_nothing_yet(darkreach_home, instance):
    result = materialize(ALL_ASSETS, selection=[verified_primes], instance=instance, resources=fresh_resources())
    assert result.success and len(result.output_for_node("verified_primes")) == 0
    assert (darkreach_home / "data" / "verified_primes.csv").exists()
    assert (darkreach_home / "data" / "top5000.txt").is_file()


def test_double_checks_of_results_stored_before_worker_tracking(darkreach_home, instance, proth):
    """prp_results written before worker_id/host existed (an upgraded deployment) still get double-checked."""
    spec, resources, _ = proth
    key = spec.partition_key(0)
    path = parquet(darkreach_home, "prp_results", key)
    pd.read_parquet(path).drop(columns=["worker_id", "host"]).to_parquet(path, index=False)
    result = run_double_check(instance, key, resources)
    assert result.success
    assert residues_match(result).passed
    assert (result.output_for_node("double_checks")["verdict"] == "match").all()


# ----- an injected disagreement --------------------------------------------------------------------------------


def test_injected_disagreement_fails_the_check_and_flags_the_worker(darkreach_home, instance, proth):
    spec, resources, worker_id = proth
    keys = spec.partition_keys()
    drop_proofs(darkreach_home, keys)

    # an untrusted worker's new results without proofs: one double-check run per block, unique run keys
    requests, cursor = drain(instance)  # over two ticks: at most RAMP_PER_TICK a tick
    assert sorted(r.partition_key for r in requests) == keys
    assert len({r.run_key for r in requests}) == 3
    assert all(r.run_key.startswith("double-check:") for r in requests)
    assert all("not trusted" in r.tags["darkreach/why"] for r in requests)
    assert requests_of(tick(instance, cursor)) == []

    # a good history: 9 valid blocks elsewhere
    for i in range(9):
        store().record_validation(f"history/{i:06d}", worker_id, True)

    path = parquet(darkreach_home, "prp_results", keys[0])
    frame = pd.read_parquet(path)
    victim = frame.index[frame["result"] == "composite"][-1]
    expression = frame.loc[victim, "expression"]
    frame.loc[victim, "res64"] = format(int(frame.loc[victim, "res64"], 16) ^ 0x10, "016x")
    frame.to_parquet(path, index=False)

    result = run_double_check(instance, keys[0], resources)
    evaluation = residues_match(result)
    assert evaluation.passed is False
    assert evaluation.metadata["mismatched_candidates"].value == expression
    assert "first-wrong: 1" in evaluation.metadata["verdicts"].value
    checks = result.output_for_node("double_checks")
    assert checks.loc[checks["expression"] == expression, "verdict"].tolist() == ["first-wrong"]
    assert (checks.loc[checks["expression"] != expression, "verdict"] == "match").all()
    assert result.asset_materializations_for_node("double_checks")[0].metadata["block_valid"].value is False

    record = store().worker(worker_id)
    assert (record.valid, record.total, record.streak) == (9, 10, 0)
    assert not record.trusted and not record.unreliable  # 0.90: not yet below 0.80
    assert requests_of(tick(instance, cursor)) == []

    for i in range(2):
        store().record_validation(f"history/bad{i}", worker_id, False)
    assert store().worker(worker_id).unreliable  # 9/12 = 0.75
    requests, _ = drain(instance, cursor)
    # every block of the worker is re-checked, again whenever it records another invalid block
    assert sorted(r.run_key for r in requests) == [f"unreliable-worker:{k}:3" for k in keys]
    assert sorted(r.partition_key for r in requests) == keys
    assert all("reliability 0.75" in r.tags["darkreach/why"] for r in requests)


# ----- the verification sensor ---------------------------------------------------------------------------------


def test_sensor_samples_a_trusted_worker_and_always_checks_records(darkreach_home, instance, proth):
    spec, _, worker_id = proth
    keys = spec.partition_keys()
    for i in range(10):
        store().record_validation(f"history/{i:06d}", worker_id, True)
    record = store().worker(worker_id)
    assert record.trusted
    sampled = [k for k in keys if needs_double_check(record, k, 40)]
    requests, _ = drain(instance)
    assert sorted(r.partition_key for r in requests) == sampled
    assert all("sampled" in r.tags["darkreach/why"] for r in requests)

    store().record_block(keys[1], worker_id, socket.gethostname(), 100_000)  # a possible record
    requests, _ = drain(instance)
    assert keys[1] in {r.partition_key for r in requests}
    assert "possible record" in next(r for r in requests if r.partition_key == keys[1]).tags["darkreach/why"]


def test_sensor_requests_each_block_once_for_an_unreliable_worker(darkreach_home, instance, proth):
    """A new block of a worker below 0.80 qualifies twice (untrusted, and unreliable with the block unchecked):
    one double-check run, not two (two runs would also record its validation twice)."""
    spec, _, worker_id = proth
    for i in range(3):
        store().record_validation(f"history/{i:06d}", worker_id, False)
    assert store().worker(worker_id).unreliable
    requests, _ = drain(instance)
    assert sorted(r.partition_key for r in requests) == spec.partition_keys()


def test_sensor_with_no_results_requests_nothing(darkreach_home, instance):
    assert requests_of(tick(instance)) == []


def test_sensor_sees_a_rerun_block_again(darkreach_home, instance, proth):
    spec, resources, _ = proth
    drop_proofs(darkreach_home, spec.partition_keys())
    first, cursor = drain(instance)
    assert len(first) == 3
    result = materialize([*CAMPAIGN_ASSETS, *CAMPAIGN_CHECKS], partition_key=spec.partition_key(2),
                         instance=instance, resources=resources)
    assert result.success
    drop_proofs(darkreach_home, [spec.partition_key(2)])
    again, _ = drain(instance, cursor)
    assert [r.partition_key for r in again] == [spec.partition_key(2)]
    assert again[0].run_key not in {r.run_key for r in first}


def test_first_start_ramps_in_instead_of_a_burst(darkreach_home, instance):
    """20 finished blocks of an untrusted worker when the sensor first starts: RAMP_PER_TICK runs a tick, none
    while MAX_IN_FLIGHT are queued or running, the backlog in the cursor and the tick's message; in the end every
    block once."""
    keys = [f"ramp/{i:06d}" for i in range(20)]
    for key in keys:
        store().record_block(key, "untrusted-worker", "host", 10)
        instance.report_runless_asset_event(AssetMaterialization(asset_key="prp_results", partition=key))
    first = tick(instance)
    assert [r.partition_key for r in first.run_requests] == keys[:RAMP_PER_TICK]
    assert [item["key"] for item in read_cursor(first.cursor)[1]] == keys[RAMP_PER_TICK:]
    assert first.run_requests[0].tags["darkreach/backlog"] == str(20 - RAMP_PER_TICK)
    busy = [instance.add_run(DagsterRun(job_name="double_check_job", run_id=make_new_run_id(),
                                        status=DagsterRunStatus.STARTED)) for _ in range(MAX_IN_FLIGHT)]
    held = tick(instance, first.cursor)
    assert isinstance(held, SkipReason)
    assert f"backlog: {20 - RAMP_PER_TICK} blocks waiting, {MAX_IN_FLIGHT} checks queued or running" in \
        held.skip_message
    for run in busy:
        instance.report_run_failed(run)
    rest, _ = drain(instance, first.cursor)
    assert [r.partition_key for r in first.run_requests] + [r.partition_key for r in rest] == keys
    assert len({r.run_key for r in rest}) == len(rest)


# ----- the audit schedule --------------------------------------------------------------------------------------

DAY = datetime(2025, 3, 4, 3, 0)


@pytest.fixture
def persistent_instance(darkreach_home):
    """build_schedule_context needs a persistent instance (it keeps only a reference to it)."""
    with instance_for_test() as inst:
        yield inst


def audit(instance, when=DAY):
    return audit_schedule(build_schedule_context(instance=instance, scheduled_execution_time=when))


def finish(instance, keys):
    for key in keys:
        instance.report_runless_asset_event(AssetMaterialization(asset_key="certificates", partition=key))


def test_audit_samples_one_finished_block_in_fifty(darkreach_home, persistent_instance):
    instance = persistent_instance
    assert AUDIT_SHARE == 50
    assert isinstance(audit(instance), SkipReason)  # nothing finished yet

    keys = [f"audit/{i:06d}" for i in range(150)]
    done = 0
    for count, expected in [(1, 1), (49, 1), (99, 1), (100, 2), (149, 2), (150, 3)]:
        finish(instance, keys[done:count])
        done = count
        requests = audit(instance)
        assert isinstance(requests, list) and len(requests) == expected == max(1, count // 50), count
        assert all(isinstance(r, RunRequest) for r in requests)
        assert all(r.run_key == f"audit:2025-03-04:{r.partition_key}" for r in requests)
        assert all(r.tags["darkreach/why"] == "daily audit" for r in requests)
        assert len({r.partition_key for r in requests}) == expected
        assert {r.partition_key for r in requests} <= set(keys[:count])
        again = audit(instance)  # deterministic for the date
        assert [(r.run_key, r.partition_key) for r in again] == [(r.run_key, r.partition_key) for r in requests]
        later = audit(instance, DAY.replace(hour=17))  # same date, another hour: the same sample
        assert [r.partition_key for r in later] == [r.partition_key for r in requests]

    samples = {tuple(sorted(r.partition_key for r in audit(instance, DAY.replace(day=d)))) for d in range(1, 8)}
    assert len(samples) > 1  # another date, another sample
    assert all(r.run_key.startswith("audit:2025-03-07:") for r in audit(instance, DAY.replace(day=7)))


def test_audit_of_materialised_blocks(darkreach_home, persistent_instance):
    spec = setup_and_run_campaign(persistent_instance, PROTH, fresh_resources())
    requests = audit(persistent_instance)
    assert len(requests) == 1 and requests[0].partition_key in spec.partition_keys()
    assert requests[0].run_key == f"audit:2025-03-04:{requests[0].partition_key}"
