"""The Launchpad: a register job per form, typed config, every template registers through it, one-line errors."""

from __future__ import annotations

import tomllib

import pytest
from conftest import REPO
from dagster import DagsterInstance, DagsterInvalidConfigError

from assets.launchpad import VARIANT_CONFIGS, job_name, launchpad_run_config, op_name, variant_key
from darkreach_pipeline import settings
from darkreach_pipeline.campaign import COMMON_KEYS, load_campaign
from darkreach_pipeline.forms import FORM_CLASSES
from darkreach_pipeline.stores.registry import CampaignRegistry

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
TEMPLATES = sorted(p.name for p in (REPO / "campaigns").glob("*.toml"))


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    """One in-memory instance and one home for the module: each test registers campaigns of its own names."""
    home = tmp_path_factory.mktemp("launchpad-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DARKREACH_HOME", str(home))
        for name in ("DAGSTER_HOME", "DARKREACH_DATA", "DARKREACH_REGISTRY_URL", "DARKREACH_CHECKPOINTS"):
            patch.delenv(name, raising=False)
        inst = DagsterInstance.ephemeral()
        yield inst
        inst.dispose()


def execute(instance, launch: tuple[str, dict]):
    """A register job exactly as the UI's Launchpad gets it (from `defs`)."""
    from darkreach_pipeline.definitions import build_resources, defs

    name, run_config = launch
    return defs.resolve_job_def(name).execute_in_process(run_config={**run_config, **QUIET}, instance=instance,
                                                         resources=build_resources(), raise_on_error=False)


def failures(result) -> list:
    return [e.event_specific_data for e in result.all_events if e.is_step_failure]


def test_a_register_job_per_form_with_exactly_its_fields():
    """Each form variant has its job, whose config is a campaign file of that form without `form`: its parameters
    and range keys are required Ints, so "Scaffold missing config" fills in exactly those (and name, block_size)."""
    from darkreach_pipeline.definitions import defs

    assert len(VARIANT_CONFIGS) == len(FORM_CLASSES)
    for cls in FORM_CLASSES:
        job = defs.resolve_job_def(job_name(cls))
        schema = job.run_config_schema.config_type.fields["ops"].config_type.fields[op_name(cls)]
        fields = schema.config_type.fields["config"].config_type.fields
        key = cls.campaign_range_key()
        own = {*cls.param_names, f"{key}_min", f"{key}_max"}
        assert set(fields) == own | set(COMMON_KEYS) - {"form"}, cls
        assert {k for k, f in fields.items() if f.is_required} == own | {"name", "block_size"}, cls
        assert all(fields[k].config_type.key == "IntSourceType" for k in own), cls
    assert {variant_key(c) for c in FORM_CLASSES} >= {"twin", "twin_over_k", "sophie_germain", "sophie_germain_over_k"}


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_registers_from_the_launchpad(template, instance):
    """Each campaign file, as Launchpad run config, registers the same spec as the file, with its blocks."""
    path = REPO / "campaigns" / template
    raw = tomllib.loads(path.read_text())
    result = execute(instance, launchpad_run_config(raw))
    assert result.success, failures(result)
    spec = load_campaign(path)
    assert CampaignRegistry(settings.registry_url()).get(spec.name) == spec
    assert set(spec.partition_keys()) <= set(instance.get_dynamic_partitions("campaign_blocks"))


def test_blocks_per_run_is_accepted_and_checked_like_a_file(instance):
    raw = {"name": "lp-bpr", "form": "wagstaff", "p_min": 3, "p_max": 200, "block_size": 50, "sieve_depth": 1000}
    assert execute(instance, launchpad_run_config({**raw, "blocks_per_run": 4})).success
    refused = execute(instance, launchpad_run_config({**raw, "name": "lp-bpr2", "blocks_per_run": 1001}))
    assert not refused.success
    [failure] = failures(refused)
    assert failure.user_failure_data.description == "campaign field 'blocks_per_run': must be <= 1000, got 1001"


def test_a_refused_value_fails_with_the_files_one_line_message(instance):
    """The message the UI shows is the campaign file's message on one line, with no chained error around it."""
    raw = {"name": "lp-twin", "form": "twin", "k": 6, "b": 2, "n_min": 1, "n_max": 100, "block_size": 50}
    with pytest.raises(Exception) as from_file:
        from darkreach_pipeline.campaign import parse_campaign

        parse_campaign(raw)
    result = execute(instance, launchpad_run_config(raw))
    assert not result.success
    [failure] = failures(result)
    expected = str(from_file.value)
    assert failure.user_failure_data.description == expected and "\n" not in expected
    assert failure.error.message.strip().endswith(expected) and "\n" not in failure.error.message.strip()
    assert failure.error.cause is None
    assert "lp-twin" not in CampaignRegistry(settings.registry_url()).names()


def test_a_field_of_another_form_is_refused_before_the_run(instance):
    """Dagster checks the typed config at launch: the Launchpad marks the field, and no run starts."""
    raw = {"name": "lp-gfn", "form": "gfn", "m": 6, "b_min": 2, "b_max": 100, "block_size": 50, "k": 3}
    with pytest.raises(DagsterInvalidConfigError, match="k"):
        execute(instance, launchpad_run_config(raw))
    missing = launchpad_run_config({"name": "lp-gfn", "form": "gfn", "b_min": 2, "b_max": 100, "block_size": 50})
    with pytest.raises(DagsterInvalidConfigError, match='"m"'):
        execute(instance, missing)
