"""Audits of a block's stored results, as plain functions returning a list of problems (empty = pass).

They run on stored data only, so the same audit serves the asset checks, the CLI and tests.
"""

from __future__ import annotations

import re

import pandas as pd

from darkreach_pipeline.blocks import FACTOR, IMPORTED_REMOVAL, SURVIVOR
from darkreach_pipeline.campaign import CampaignSpec
from darkreach_pipeline.factoring.stage import P_MINUS_1_FACTOR
from darkreach_pipeline.stores.sieve_imports import ImportedBlock

RES64 = re.compile(r"^[0-9a-f]{16}$")
RESULTS = {"prime", "probable-prime", "composite"}


def sieve_coverage_problems(spec: CampaignSpec, block: int, sieved: pd.DataFrame) -> list[str]:
    lo, hi = spec.block_range(block)
    values = sieved[spec.axis].astype(int).tolist()
    problems = []
    if sorted(values) != list(range(lo, hi)):
        missing = sorted(set(range(lo, hi)) - set(values))[:5]
        doubled = sorted({v for v in values if values.count(v) > 1})[:5]
        problems.append(f"block covers {spec.axis} = {lo}..{hi - 1}: missing {missing}, doubled {doubled}")
    return problems


def factor_claim_problems(form, axis: str, sieved: pd.DataFrame) -> list[str]:
    """Every 'p divides N' claim is re-checked (N mod p from the form, never trusted from the sieve)."""
    problems = []
    struck = sieved[sieved["status"] == FACTOR]
    for value, p in zip(struck[axis].astype(int), struck["factor"].astype(int), strict=True):
        residue = form.residue_mod(value, p)
        if residue != 0 or p < 2:
            problems.append(f"{form.expression(value)}: claimed factor {p} does not divide it")
        elif form.is_tiny_prime_equal(value, p):
            problems.append(f"{form.expression(value)} = {p} is prime but was struck by itself")
    return problems


def imported_removal_problems(axis: str, sieved: pd.DataFrame, imported: ImportedBlock | None) -> list[str]:
    """A candidate removed without a factor is allowed only where the block's imported sieve file left it out:
    never when the block has no import, never for a number the file lists as a survivor."""
    removed = sieved.loc[sieved["status"] == IMPORTED_REMOVAL, axis].astype(int).tolist()
    if not removed:
        return []
    if imported is None:
        return [f"{len(removed)} candidates marked '{IMPORTED_REMOVAL}' (e.g. {removed[:5]}) but the block has no "
                "imported sieve file: they must be sieved here; rerun sieve_survivors"]
    listed = sorted(set(removed) & set(imported.survivors.tolist()))
    if listed:
        return [f"survivors of the imported file marked removed: {listed[:5]}; rerun sieve_survivors"]
    return []


def p_minus_1_problems(form, axis: str, sieved: pd.DataFrame, factored: pd.DataFrame) -> list[str]:
    """The P-1 stage's frame is the sieve's, row for row, but for survivors struck with a factor; every such factor
    is re-checked here: an integer f with 1 < f < N and N % f == 0 (N from the form, never trusted)."""
    if factored[axis].astype(int).tolist() != sieved[axis].astype(int).tolist():
        return ["the P-1 frame does not list the sieve's candidates in the sieve's order: rerun p_minus_1"]
    before, after = sieved["status"].to_numpy(dtype=str), factored["status"].to_numpy(dtype=str)
    changed = before != after
    wrong = changed & ((before != SURVIVOR) | (after != P_MINUS_1_FACTOR))
    problems = [f"{form.expression(int(v))}: status {b!r} became {a!r} at the P-1 stage (only survivors may be struck)"
                for v, b, a in zip(factored.loc[wrong, axis], before[wrong], after[wrong], strict=True)][:10]
    struck = factored[after == P_MINUS_1_FACTOR]
    for value, text in zip(struck[axis].astype(int), struck["p1_factor"].astype(str), strict=True):
        N = form.number(value)
        f = int(text) if text.isdigit() else 0
        if not (1 < f < N and N % f == 0):
            problems.append(f"{form.expression(value)}: P-1 factor {text!r} does not divide it properly")
    return problems


def tested_once_problems(axis: str, sieved: pd.DataFrame, results: pd.DataFrame) -> list[str]:
    survivors = sieved.loc[sieved["status"] == SURVIVOR, axis].astype(int).tolist()
    tested = results[axis].astype(int).tolist() if len(results) else []
    problems = []
    if sorted(tested) != sorted(survivors):
        problems.append(
            f"untested survivors {sorted(set(survivors) - set(tested))[:5]}, "
            f"tested non-survivors {sorted(set(tested) - set(survivors))[:5]}"
        )
    if len(set(tested)) != len(tested):
        problems.append(f"{len(tested) - len(set(tested))} candidates tested more than once")
    return problems


def result_problems(form, results: pd.DataFrame) -> list[str]:
    problems = []
    for row in results.to_dict("records"):
        if not RES64.match(str(row["res64"])):
            problems.append(f"{row['expression']}: malformed RES64 {row['res64']!r}")
        if row["result"] not in RESULTS:
            problems.append(f"{row['expression']}: unknown result {row['result']!r}")
        if row["result"] == "prime" and row["method"] not in form.proof_methods:
            problems.append(f"{row['expression']}: called prime by {row['method']}, which is not a proof")
    return problems


def certificate_problems(axis: str, results: pd.DataFrame, certs: pd.DataFrame) -> list[str]:
    found = results.loc[results["result"] != "composite", axis].astype(int).tolist() if len(results) else []
    certified = certs[axis].astype(int).tolist() if len(certs) else []
    problems = []
    if sorted(found) != sorted(certified):
        problems.append(f"primes without certificate row: {sorted(set(found) - set(certified))[:5]}, "
                        f"certificate rows without a prime: {sorted(set(certified) - set(found))[:5]}")
    if len(certs):
        for row in certs[certs["status"] == "proven"].to_dict("records"):
            if not row["verified"]:
                problems.append(f"{row['expression']}: proven but not verified")
        for row in certs[~certs["verified"]].to_dict("records"):
            problems.append(f"{row['expression']}: verification failed: {row['verification']}")
    return problems
