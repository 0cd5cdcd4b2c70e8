"""The Launchpad's campaign config: one `register_<form>` job per form variant, whose config is a campaign file
of that form without its `form` key (the job says which form).

Typed per form, so "Scaffold missing config" fills in exactly the chosen form's fields (Dagster 1.13's scaffold
writes "<selector>" for a selector, so one job with a per-form selector could not do that):

    ops:
      register_twin_over_k_spec:
        config: {name: twin-k, n: 200, b: 2, k_min: 1, k_max: 200000, block_size: 50000}

Twin and Sophie Germain have two variants (`twin` over n, `twin_over_k` over k). The configs are built from the
form classes (forms/__init__.py), so a new form gets its job by itself. Values are validated by `parse_campaign`,
the same code and messages as a campaign file.
"""

from collections.abc import Mapping
from typing import Any

from dagster import Config
from pydantic import Field, create_model

from darkreach_pipeline.campaign import form_variant
from darkreach_pipeline.forms import FORM_CLASSES, FORMS
from darkreach_pipeline.forms.base import PrimeForm


def variant_key(cls: type[PrimeForm]) -> str:
    """The name of a form variant: the form's name for its first variant, `<form>_over_<key>` after."""
    key = cls.campaign_range_key()
    return cls.name if FORMS[cls.name][0] is cls else f"{cls.name}_over_{key}"


def _variant_config(cls: type[PrimeForm]) -> type[Config]:
    """A campaign file of this variant without `form`: its parameters and inclusive range (required whole
    numbers) between the keys every file has."""
    key = variant_key(cls)
    range_key = cls.campaign_range_key()
    fields: dict[str, Any] = {
        "name": (str, Field(description="1-63 characters of a-z 0-9 _ -: the prefix of the campaign's block keys"))}
    for param in cls.param_names:
        fields[param] = (int, Field(description=f"parameter {param} of {cls.name}"))
    fields[f"{range_key}_min"] = (int, Field(description=f"first {range_key} (inclusive)"))
    fields[f"{range_key}_max"] = (int, Field(description=f"last {range_key} (inclusive)"))
    fields.update(
        block_size=(int, Field(description="axis values per block (1..1,000,000)")),
        sieve_depth=(Any, Field(default="auto", description='"auto", or sieve primes up to this whole number')),
        description=(str, Field(default="", description="free text, at most 2,000 characters")),
        blocks_per_run=(int, Field(default=1, description="checked as in a file; not kept (README)")),
        gpu=(bool, Field(default=False, description="GPU-eligible: sieve and test steps go to GPU workers; not kept")),
        p_minus_1=(str, Field(default="off", description='"off", "auto" or "fixed": P-1 between sieve and tests')),
        p_minus_1_b1=(int | None, Field(default=None, description='P-1 bound B1, with p_minus_1 = "fixed"')),
        p_minus_1_b2=(int | None, Field(default=None, description='P-1 bound B2 >= B1, with p_minus_1 = "fixed"')),
    )
    doc = (cls.__doc__ or cls.name).strip().splitlines()[0]
    return create_model(f"{key.title().replace('_', '')}Campaign", __base__=Config, __doc__=doc, **fields)


VARIANT_CONFIGS: dict[str, type[Config]] = {variant_key(cls): _variant_config(cls) for cls in FORM_CLASSES}


def job_name(cls: type[PrimeForm]) -> str:
    return f"register_{variant_key(cls)}"


REGISTER_JOB_NAMES = frozenset(job_name(cls) for cls in FORM_CLASSES)


def op_name(cls: type[PrimeForm]) -> str:
    return f"{job_name(cls)}_spec"


def campaign_mapping(cls: type[PrimeForm], config: Config) -> dict[str, Any]:
    """The campaign-file mapping of a Launchpad config of this form, for `parse_campaign`."""
    return {"form": cls.name, **{k: v for k, v in config.model_dump().items() if v is not None}}


def launchpad_run_config(raw: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(the job, its run config) for a campaign file's mapping: what to launch in the Launchpad for that file.
    Values are not checked here: the job checks them (a key the form does not have, Dagster refuses)."""
    cls = form_variant(raw["form"], raw)
    config = {k: v for k, v in raw.items() if k != "form"}
    return job_name(cls), {"ops": {op_name(cls): {"config": config}}}
