"""The prime forms. Each form is one class implementing the PrimeForm protocol (forms/base.py):
validate its parameters, enumerate and exclude candidates, sieve a block, test, verify.

A form name may have several variants that differ in their axis (a twin search over n with k
fixed, or over k with n fixed); the campaign file's range keys pick the variant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from darkreach_pipeline.forms.base import PrimeForm
from darkreach_pipeline.forms.carol_kynea import CarolForm, KyneaForm
from darkreach_pipeline.forms.cullen_woodall import CullenForm, WoodallForm
from darkreach_pipeline.forms.factorial import FactorialForm
from darkreach_pipeline.forms.gfn import GfnForm
from darkreach_pipeline.forms.kbn import KbnForm
from darkreach_pipeline.forms.near_repdigit import NearRepdigitForm
from darkreach_pipeline.forms.palindromic import PalindromicForm
from darkreach_pipeline.forms.primorial import PrimorialForm
from darkreach_pipeline.forms.repunit import RepunitForm
from darkreach_pipeline.forms.sophie_germain import SophieGermainForm, SophieGermainOverKForm
from darkreach_pipeline.forms.twin import TwinForm, TwinOverKForm
from darkreach_pipeline.forms.wagstaff import WagstaffForm

if TYPE_CHECKING:
    from darkreach_pipeline.campaign import CampaignSpec

FORM_CLASSES: list[type[PrimeForm]] = [
    KbnForm,
    CullenForm, WoodallForm,
    FactorialForm,
    PrimorialForm,
    GfnForm,
    PalindromicForm,
    NearRepdigitForm,
    WagstaffForm,
    RepunitForm,
    CarolForm, KyneaForm,
    TwinForm, TwinOverKForm,
    SophieGermainForm, SophieGermainOverKForm,
    # new forms: one line each
]

FORMS: dict[str, tuple[type[PrimeForm], ...]] = {}
for _cls in FORM_CLASSES:
    FORMS[_cls.name] = (*FORMS.get(_cls.name, ()), _cls)


def form_class(name: str, range_key: str) -> type[PrimeForm]:
    """The variant of form `name` whose campaign range is `<range_key>_min/_max`."""
    for cls in FORMS[name]:
        if cls.campaign_range_key() == range_key:
            return cls
    raise KeyError(f"form {name!r} has no variant over {range_key!r}")


def form_for(spec: CampaignSpec) -> PrimeForm:
    return form_class(spec.form, spec.range_key)(**spec.params)
