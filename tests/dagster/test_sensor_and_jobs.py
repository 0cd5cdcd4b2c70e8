"""The campaign-file sensor, the register_<form> jobs, and the Definitions object as Dagster loads it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PROTH, REPO, RIESEL
from dagster import (
    AssetKey,
    DagsterInstance,
    RunRequest,
    SensorResult,
    SkipReason,
    build_sensor_context,
)

from assets.sensors import campaign_files_sensor
from darkreach_pipeline import settings
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.stores.registry import CampaignRegistry
from resources.campaigns import CampaignRegistryResource
from resources.results import ResultsLocation

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@pytest.fixture
def instance(darkreach_home):
    """An in-memory instance (instance_for_test() costs ~2.3 s of SQLite migrations per test)."""
    inst = DagsterInstance.ephemeral()
    yield inst
    inst.dispose()


def registry() -> CampaignRegistry:
    return CampaignRegistry(settings.registry_url())


def tick(instance, cursor=None):
    context = build_sensor_context(
        instance=instance, cursor=cursor,
        resources={"campaign_registry": CampaignRegistryResource(url=settings.registry_url()),
                   "results_location": ResultsLocation(base_path=settings.data_path())},
    )
    return campaign_files_sensor(context)


def reported(capfd, *texts: str) -> bool:
    """Was `text` logged at ERROR by the sensor? (Its log goes to the console handler on stderr, which
    caplog does not see.)"""
    err = capfd.readouterr().err
    return any(" - ERROR - " in line and all(t in line for t in texts) for line in err.splitlines())


def inbox(home: Path) -> Path:
    return home / "campaigns"


# ----- sensor -----------------------------------------------------------------------------------------------


def test_sensor_registers_a_campaign_file_and_requests_one_run_per_block(darkreach_home, instance, write_campaign):
    write_campaign(PROTH, path=inbox(darkreach_home) / "proth.toml")
    result = tick(instance)
    assert isinstance(result, SensorResult)
    keys = parse_campaign(PROTH).partition_keys()
    assert len(result.dynamic_partitions_requests) == 1
    request = result.dynamic_partitions_requests[0]
    assert request.partitions_def_name == "campaign_blocks"
    assert list(request.partition_keys) == keys
    assert all(isinstance(r, RunRequest) for r in result.run_requests)
    assert [r.partition_key for r in result.run_requests] == keys
    run_keys = [r.run_key for r in result.run_requests]
    assert len(set(run_keys)) == len(run_keys) == 3 and all(run_keys)
    assert registry().get("proth") == parse_campaign(PROTH)
    assert "proth.toml" in json.loads(result.cursor)

    # second tick with the returned cursor: nothing new
    again = tick(instance, result.cursor)
    assert isinstance(again, SkipReason)
    assert "no new campaign files" in again.skip_message


def test_sensor_creates_the_watched_folder_it_names(darkreach_home, instance):
    """The folder the UI's skip message names exists, so a user can drop a file into it."""
    assert not inbox(darkreach_home).exists()
    result = tick(instance)
    assert isinstance(result, SkipReason) and str(inbox(darkreach_home)) in result.skip_message
    assert inbox(darkreach_home).is_dir()


def test_a_new_darkreach_home_beside_an_existing_dagster_home(tmp_path, monkeypatch, instance, write_campaign):
    """DAGSTER_HOME exists, DARKREACH_HOME does not yet: the stores create their folder instead of failing with
    sqlite3's "unable to open database file", and the sensor and the Launchpad job work."""
    home = tmp_path / "not" / "yet" / "there"
    (tmp_path / "dagster-home").mkdir()
    monkeypatch.setenv("DARKREACH_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster-home"))
    result = execute_register_job(instance)
    assert result.success, step_failures(result)
    assert registry().get("proth") == parse_campaign(PROTH)
    write_campaign(RIESEL, path=inbox(home) / "riesel.toml")
    assert len(tick(instance).run_requests) == 3


def test_sensor_skips_keys_the_instance_already_has(darkreach_home, instance, write_campaign):
    spec = parse_campaign(PROTH)
    instance.add_dynamic_partitions("campaign_blocks", spec.partition_keys()[:2])
    write_campaign(PROTH, path=inbox(darkreach_home) / "proth.toml")
    result = tick(instance)
    assert [list(r.partition_keys) for r in result.dynamic_partitions_requests] == [["proth/000002"]]
    assert len(result.run_requests) == 3  # every block is requested; run keys deduplicate across ticks


def test_sensor_reports_and_skips_a_bad_file_next_to_a_good_one(darkreach_home, instance, write_campaign, capfd):
    write_campaign({**RIESEL, "k": 6}, path=inbox(darkreach_home) / "bad.toml")  # k divisible by b
    write_campaign(PROTH, path=inbox(darkreach_home) / "good.toml")
    (inbox(darkreach_home) / "notes.txt").write_text("not a campaign")
    result = tick(instance)
    assert isinstance(result, SensorResult)
    assert {r.partition_key.split("/")[0] for r in result.run_requests} == {"proth"}
    assert [k for r in result.dynamic_partitions_requests for k in r.partition_keys] == \
        parse_campaign(PROTH).partition_keys()
    assert registry().names() == ["proth"]
    assert reported(capfd, "bad.toml: campaign field 'k'")

    # the fixed file has a new hash: the next tick retries and registers it
    write_campaign(RIESEL, path=inbox(darkreach_home) / "bad.toml")
    fixed = tick(instance, result.cursor)
    assert isinstance(fixed, SensorResult)
    assert [r.partition_key for r in fixed.run_requests] == parse_campaign(RIESEL).partition_keys()
    assert registry().names() == ["proth", "riesel"]


def test_sensor_refuses_a_changed_definition_of_a_registered_campaign(darkreach_home, instance, write_campaign,
                                                                      capfd):
    path = write_campaign(PROTH, path=inbox(darkreach_home) / "proth.toml")
    first = tick(instance)
    write_campaign(PROTH, path=path, n_max=200)
    second = tick(instance, first.cursor)
    assert isinstance(second, SensorResult)
    assert second.run_requests == [] and second.dynamic_partitions_requests == []
    assert registry().get("proth").axis_max == 120
    assert reported(capfd, "proth.toml: campaign field 'n_max'")


def test_sensor_malformed_toml_is_reported(darkreach_home, instance, capfd):
    inbox(darkreach_home).mkdir()
    (inbox(darkreach_home) / "broken.toml").write_text("name = = 'x'\n")
    result = tick(instance)
    assert isinstance(result, SensorResult) and result.run_requests == []
    assert reported(capfd, "broken.toml: campaign field '<file>'", "not valid TOML")


def test_sensor_skips_unreadable_files_and_registers_the_good_one(darkreach_home, instance, write_campaign, capfd):
    """A binary file, a directory named *.toml, a FIFO and a file removed between listing and reading used to
    end the tick with an exception, for every campaign of the folder."""
    folder = inbox(darkreach_home)
    write_campaign(PROTH, path=folder / "good.toml")
    (folder / "binary.toml").write_bytes(bytes(range(256)) * 4)
    (folder / "dir.toml").mkdir()
    os.mkfifo(folder / "fifo.toml")
    (folder / "gone.toml").symlink_to(folder / "removed-meanwhile")
    result = tick(instance)
    assert isinstance(result, SensorResult)
    assert [r.partition_key for r in result.run_requests] == parse_campaign(PROTH).partition_keys()
    assert registry().names() == ["proth"]
    errors = [line for line in capfd.readouterr().err.splitlines() if " - ERROR - " in line]
    assert any("binary.toml: campaign field '<file>': binary.toml is not UTF-8" in line for line in errors), errors
    for name, reason in (("dir.toml", "is a directory"), ("fifo.toml", "not a regular file"),
                         ("gone.toml", "does not exist")):
        assert any(f"{name}: skipped: campaign field '<file>'" in line and reason in line for line in errors), name
        assert json.loads(result.cursor)[name].startswith("unreadable: "), name

    # logged once: the next tick skips quietly, naming the files it could not read
    again = tick(instance, result.cursor)
    assert isinstance(again, SkipReason)
    assert "unreadable, skipped: dir.toml, fifo.toml, gone.toml" in again.skip_message
    assert not reported(capfd, "skipped")

    # the file made readable is registered at the next tick
    write_campaign(RIESEL, path=folder / "binary.toml")
    fixed = tick(instance, result.cursor)
    assert [r.partition_key for r in fixed.run_requests] == parse_campaign(RIESEL).partition_keys()
    assert registry().names() == ["proth", "riesel"]


def test_sensor_two_files_with_the_same_campaign(darkreach_home, instance, write_campaign):
    """A copied campaign file (same definition) must not request each key twice: the sensor daemon adds every
    key of an AddDynamicPartitionsRequest that the instance lacks in one INSERT, and a key listed twice fails
    it with a UNIQUE constraint error, failing the tick again and again (the cursor never advances)."""
    write_campaign(PROTH, path=inbox(darkreach_home) / "proth.toml")
    write_campaign(PROTH, path=inbox(darkreach_home) / "proth-copy.toml")
    result = tick(instance)
    assert isinstance(result, SensorResult)
    added = [k for r in result.dynamic_partitions_requests for k in r.partition_keys]
    assert sorted(added) == parse_campaign(PROTH).partition_keys(), added
    assert sorted(r.partition_key for r in result.run_requests) == parse_campaign(PROTH).partition_keys()
    # what the daemon does with the requests (dagster/_daemon/sensor.py, _handle_dynamic_partitions_requests)
    for request in result.dynamic_partitions_requests:
        missing = [k for k in request.partition_keys
                   if not instance.has_dynamic_partition(request.partitions_def_name, k)]
        instance.add_dynamic_partitions(request.partitions_def_name, missing)
    assert instance.get_dynamic_partitions("campaign_blocks") == parse_campaign(PROTH).partition_keys()


def test_sensor_run_keys_are_unique_across_campaigns(darkreach_home, instance, write_campaign):
    write_campaign(PROTH, path=inbox(darkreach_home) / "a.toml")
    write_campaign(RIESEL, path=inbox(darkreach_home) / "b.toml")
    result = tick(instance)
    run_keys = [r.run_key for r in result.run_requests]
    assert len(run_keys) == 6 and len(set(run_keys)) == 6


# ----- register_<form> jobs ------------------------------------------------------------------------------------


def register_config(**fields) -> tuple[str, dict]:
    """The Launchpad's job and run config for PROTH with `fields` changed (None: left out)."""
    from assets.launchpad import launchpad_run_config

    job, run_config = launchpad_run_config({k: v for k, v in {**PROTH, **fields}.items() if v is not None})
    return job, {**run_config, **QUIET}


def step_failures(result) -> list[str]:
    """Each failed step's error message, with its chain of causes."""
    messages = []
    for event in result.all_events:
        if event.is_step_failure and event.event_specific_data and event.event_specific_data.error:
            error, parts = event.event_specific_data.error, []
            while error is not None:
                parts.append(error.message.strip())
                error = error.cause
            messages.append(" <- ".join(parts))
    return messages


def execute_register_job(instance, **fields):
    """The job exactly as the UI's Launchpad gets it (from `defs`), with resources for this test's home."""
    from darkreach_pipeline.definitions import build_resources, defs

    name, run_config = register_config(**fields)
    return defs.resolve_job_def(name).execute_in_process(run_config=run_config, instance=instance,
                                                         resources=build_resources(), raise_on_error=False)


def test_register_campaign_job_registers_and_adds_partitions(darkreach_home, instance):
    result = execute_register_job(instance)
    assert registry().get("proth") == parse_campaign(PROTH)
    assert instance.get_dynamic_partitions("campaign_blocks") == parse_campaign(PROTH).partition_keys()
    assert result.success, step_failures(result)

    again = execute_register_job(instance)  # idempotent
    assert again.success, step_failures(again)
    assert instance.get_dynamic_partitions("campaign_blocks") == parse_campaign(PROTH).partition_keys()


def test_register_campaign_job_auto_sieve_depth(darkreach_home, instance):
    result = execute_register_job(instance, sieve_depth="auto")
    assert registry().get("proth").sieve_depth_requested == "auto"
    assert result.success, step_failures(result)


def test_register_campaign_job_k_divisible_by_b_fails_naming_k(darkreach_home, instance):
    result = execute_register_job(instance, k=6)
    assert not result.success
    messages = step_failures(result)
    assert len(messages) == 1
    assert "campaign field 'k'" in messages[0] and "k = 3 with n_min = 2, n_max = 121" in messages[0]
    assert registry().names() == []
    assert instance.get_dynamic_partitions("campaign_blocks") == []


def test_register_campaign_job_changed_definition_fails_naming_n_max(darkreach_home, instance):
    registry().register(parse_campaign(PROTH))
    result = execute_register_job(instance, n_max=200)
    assert not result.success
    assert any("campaign field 'n_max'" in m for m in step_failures(result))
    assert instance.get_dynamic_partitions("campaign_blocks") == []
    assert registry().get("proth").axis_max == 120


@pytest.mark.parametrize(("field", "value", "words"), [
    ("name", "proth\n", "is not a safe partition-key prefix"),
    ("description", "x" * 10_000_000, "over the limit of 2000"),
    ("sieve_depth", "1000\n", "must be a whole number"),
    ("blocks_per_run", 0, "must be >= 1"),
])
def test_register_campaign_job_refuses_bad_config_naming_the_field(darkreach_home, instance, field, value, words):
    """A trailing newline in the name used to be registered (the pattern ended in `$`), and a 10 MB description
    too; each now fails the run with one message naming the field and the fix, and writes nothing."""
    result = execute_register_job(instance, **{field: value})
    assert not result.success
    messages = step_failures(result)
    assert len(messages) == 1 and f"campaign field '{field}'" in messages[0] and words in messages[0], messages
    assert len(messages[0]) < 500
    assert registry().names() == []
    assert instance.get_dynamic_partitions("campaign_blocks") == []


def test_register_campaign_job_registers_another_form(darkreach_home, instance):
    raw = {"name": "primorial-small", "form": "primorial", "c": 1, "p_min": 2, "p_max": 200, "block_size": 100,
           "sieve_depth": 1000}
    result = execute_register_job(instance, **{**dict.fromkeys(PROTH), **raw})
    assert result.success, step_failures(result)
    assert registry().get("primorial-small") == parse_campaign(raw)


def test_register_campaign_job_without_the_parquet_io_manager(darkreach_home, instance):
    """The op's logic alone (registry resource only, default IO manager)."""
    from assets.jobs import REGISTER_JOBS

    name, run_config = register_config()
    result = next(j for j in REGISTER_JOBS if j.name == name).execute_in_process(
        run_config=run_config, instance=instance,
        resources={"campaign_registry": CampaignRegistryResource(url=settings.registry_url()),
                   "results_location": ResultsLocation(base_path=settings.data_path())},
    )
    assert result.success
    assert instance.get_dynamic_partitions("campaign_blocks") == parse_campaign(PROTH).partition_keys()


# ----- Definitions -------------------------------------------------------------------------------------------


def test_definitions_load():
    from darkreach_pipeline.definitions import defs

    job = defs.resolve_job_def("campaign_job")
    assert job.partitions_def is not None and job.partitions_def.name == "campaign_blocks"
    assert defs.resolve_job_def("register_kbn") is not None and defs.resolve_job_def("register_twin_over_k")
    keys = defs.resolve_asset_graph().get_all_asset_keys()
    assert keys == {AssetKey(k) for k in ("candidate_ranges", "sieve_survivors", "p_minus_1", "prp_results",
                                          "prp_proofs", "certificates", "primes", "campaign_progress", "double_checks",
                                          "proof_checks", "verified_primes", "worker_reliability", "integrity_audit",
                                          "campaign_plan", "campaign_feedback", "announcements", "fleet_advice",
                                          "campaign_sieve", "volunteer_credit")}
    graph = defs.resolve_asset_graph()
    assert graph.get(AssetKey("sieve_survivors")).parent_keys == {AssetKey("candidate_ranges"),
                                                                   AssetKey("campaign_sieve")}  # lineage of a block
    assert AssetKey("campaign_sieve") not in defs.resolve_job_def("campaign_job").asset_layer.executable_asset_keys
    policies = {graph.get(AssetKey(k)).backfill_policy for k in ("candidate_ranges", "sieve_survivors", "p_minus_1",
                                                                  "prp_results", "prp_proofs", "certificates")}
    assert policies == {None}  # DARKREACH_BLOCKS_PER_RUN unset: plain one-block runs (test_blocks_per_run: > 1)
    assert defs.resolve_sensor_def("results_sensor").job_name == "results_job"
    check_keys = defs.resolve_asset_graph().asset_check_keys
    assert {k.name for k in check_keys} == {"sieve_accounts_for_every_candidate", "every_p_minus_1_factor_divides",
                                            "every_survivor_tested_once",
                                            "every_proof_verifies", "every_prime_has_verified_certificate",
                                            "residues_match"}
    assert defs.resolve_sensor_def("campaign_files_sensor").job_name == "campaign_job"
    assert defs.resolve_sensor_def("announcement_verification_sensor").job_name == "double_check_job"
    double_check_job = defs.resolve_job_def("double_check_job")
    assert double_check_job.partitions_def is not None and double_check_job.partitions_def.name == "campaign_blocks"
    assert {j.name for j in defs.resolve_sensor_def("verification_sensor").jobs} == {"double_check_job",
                                                                                      "proof_check_job"}
    assert defs.resolve_job_def("proof_check_job").partitions_def.name == "campaign_blocks"
    assert defs.resolve_schedule_def("audit_schedule").job_name == "double_check_job"
    assert set(defs.resources) >= {"io_manager", "results_location", "campaign_registry", "block_progress"}


def test_dagster_definitions_validate(tmp_path, darkreach_home):
    env = {**os.environ, "DARKREACH_HOME": str(darkreach_home)}
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", str(REPO / "workspace.yaml")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "All code locations passed validation" in proc.stdout + proc.stderr
