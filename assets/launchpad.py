"""The Launchpad's campaign config: a campaign file as run config, typed per form.

The common keys of a campaign file stay at the top; `form` is a selector with one entry per form variant
(`twin` runs over n, `twin_over_k` over k), each holding exactly that variant's parameters and range keys,
so the UI's config editor and "Scaffold missing config" show the fields of the chosen form:

    ops:
      register_campaign_spec:
        config:
          name: twin-k
          form:
            twin_over_k: {n: 200, b: 2, k_min: 1, k_max: 200000}
          block_size: 50000

The entries are built from the form classes (forms/__init__.py), so a new form appears here by itself. Values
are validated by `parse_campaign`, the same code and messages as a campaign file.
"""

from collections.abc import Mapping
from typing import Any, Literal, Union

from dagster import Config
from pydantic import Field, create_model

from darkreach_pipeline.campaign import COMMON_KEYS, form_variant
from darkreach_pipeline.forms import FORM_CLASSES, FORMS
from darkreach_pipeline.forms.base import PrimeForm

VARIANT = "variant"  # the discriminator: the selector key (dropped from the schema Dagster shows)


def variant_key(cls: type[PrimeForm]) -> str:
    """The selector key of a form variant: the form's name for its first variant, `<form>_over_<key>` after."""
    key = cls.campaign_range_key()
    return cls.name if FORMS[cls.name][0] is cls else f"{cls.name}_over_{key}"


def _variant_config(cls: type[PrimeForm]) -> type[Config]:
    """One variant's typed fields: its parameters and its inclusive range, all required whole numbers."""
    key = variant_key(cls)
    range_key = cls.campaign_range_key()
    fields: dict[str, Any] = {VARIANT: (Literal[key], key)}  # type: ignore[valid-type]
    for param in cls.param_names:
        fields[param] = (int, Field(description=f"parameter {param} of {cls.name}"))
    fields[f"{range_key}_min"] = (int, Field(description=f"first {range_key} (inclusive)"))
    fields[f"{range_key}_max"] = (int, Field(description=f"last {range_key} (inclusive)"))
    doc = (cls.__doc__ or cls.name).strip().splitlines()[0]
    return create_model(f"{key.title().replace('_', '')}Campaign", __base__=Config, __doc__=doc, **fields)


VARIANT_CONFIGS: dict[str, type[Config]] = {variant_key(cls): _variant_config(cls) for cls in FORM_CLASSES}
FormConfig = Union[tuple(VARIANT_CONFIGS.values())]  # noqa: UP007 (a Union built from a tuple)


class CampaignConfig(Config):
    """A campaign file as run config (README: 'Campaign files'); `form` holds the chosen form's own fields."""

    name: str = Field(description="1-63 characters of a-z 0-9 _ -: the prefix of the campaign's block keys")
    form: FormConfig = Field(discriminator=VARIANT,  # type: ignore[valid-type]
                             description="the form, and its parameters and range (one entry)")
    block_size: int = Field(description="axis values per block (1..1,000,000)")
    sieve_depth: Any = Field(default="auto", description='"auto", or sieve primes up to this whole number')
    description: str = Field(default="", description="free text, at most 2,000 characters")
    blocks_per_run: int = Field(default=1, description="blocks per run where the file is read (README)")


def campaign_mapping(config: CampaignConfig) -> dict[str, Any]:
    """The campaign-file mapping of a Launchpad config, for `parse_campaign`."""
    variant = config.form.model_dump()
    key = variant.pop(VARIANT)
    cls = next(c for c in FORM_CLASSES if variant_key(c) == key)
    raw = {"name": config.name, "form": cls.name, **variant, "block_size": config.block_size,
           "sieve_depth": config.sieve_depth, "description": config.description}
    if config.blocks_per_run != 1:
        raw["blocks_per_run"] = config.blocks_per_run
    return raw


def launchpad_run_config(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The register_campaign run config of a campaign file's mapping (what the Launchpad takes for that file).
    Values are not checked here: the job checks them. A key of neither the form nor the file goes into the form's
    entry, where Dagster refuses it."""
    cls = form_variant(raw["form"], raw)
    config: dict[str, Any] = {k: v for k, v in raw.items() if k in COMMON_KEYS and k != "form"}
    config["form"] = {variant_key(cls): {k: v for k, v in raw.items() if k not in COMMON_KEYS}}
    return {"ops": {"register_campaign_spec": {"config": config}}}
