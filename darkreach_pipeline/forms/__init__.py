"""The prime forms. Each form is one class with the same small protocol (see KbnForm):
validate its parameters, enumerate and exclude candidates, sieve a block, test one candidate."""

from __future__ import annotations

from typing import TYPE_CHECKING

from darkreach_pipeline.forms.kbn import KbnForm

if TYPE_CHECKING:
    from darkreach_pipeline.campaign import CampaignSpec

FORMS: dict[str, type[KbnForm]] = {KbnForm.name: KbnForm}


def form_for(spec: CampaignSpec) -> KbnForm:
    return FORMS[spec.form](**spec.params)
