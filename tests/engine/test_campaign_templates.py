"""Every campaign template in campaigns/ runs through the same block pipeline (blocks.py) and audits
(checks.py) that the Dagster assets call, whatever its form: one block each, results against PARI/GP.

The sieve's strikes are proven by the audit (each claimed factor divides and is not the number
itself); every survivor's verdict is compared with PARI's BPSW and gmpy2 (which must agree) on every member.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from oracles import NEVER, is_prime_two_oracles, run_blocks

from darkreach_pipeline import blocks
from darkreach_pipeline.campaign import load_campaign
from darkreach_pipeline.forms import FORMS

TEMPLATES = sorted((Path(__file__).resolve().parents[2] / "campaigns").glob("*.toml"))


def test_every_form_has_a_template():
    forms = {load_campaign(path).form for path in TEMPLATES}
    assert forms == set(FORMS), f"forms without a template: {set(FORMS) - forms}"


@pytest.mark.parametrize("path", TEMPLATES, ids=[p.stem for p in TEMPLATES])
def test_template_block_through_the_pipeline(path):
    run = run_blocks(load_campaign(path), block_numbers=[0])  # audited as the asset checks audit a block
    spec, form, sieved, results, certs = run.spec, run.form, run.sieved, run.results, run.certs

    survivors = sieved.loc[sieved["status"] == blocks.SURVIVOR, spec.axis].astype(int).tolist()
    expected = {v for v in survivors if all(is_prime_two_oracles(int(N), NEVER) for N in form.members(v))}
    found = set(results.loc[results["result"] != "composite", spec.axis].astype(int))
    assert found == expected
    assert expected, f"{path.name}: block 0 holds no prime, so it proves little; choose a range that does"
    proven = certs[certs["status"] == "proven"]
    assert proven["verified"].all()
    for row in results[results["result"] == "prime"].to_dict("records"):
        assert row["method"] in form.proof_methods
