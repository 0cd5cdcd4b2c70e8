"""The four stages of one block as plain functions on DataFrames (the Dagster assets call these).

candidates -> sieve -> tests -> certificates. Each stage's output is complete on its own, so the
audit checks (every candidate accounted for, every survivor tested once, every proof verified)
can run on stored data alone.
"""

from __future__ import annotations

import json
import platform
import secrets
import time
from collections.abc import Callable

import gmpy2
import numpy as np
import pandas as pd

from darkreach_pipeline import __version__
from darkreach_pipeline.campaign import CampaignSpec
from darkreach_pipeline.checkpoint_policy import BlockCheckpointer
from darkreach_pipeline.forms import form_for
from darkreach_pipeline.forms.base import PrimeForm
from darkreach_pipeline.primality.options import TestOptions
from darkreach_pipeline.primality.outcome import COMPOSITE, PRIME, PROBABLE_PRIME
from darkreach_pipeline.proofs.certificate_check import verify_probable_prime
from darkreach_pipeline.proofs.pietrzak import ProofRecorder
from darkreach_pipeline.sieve.primes import prime_chunks
from darkreach_pipeline.stores.costs import CostStore, max_runtime
from darkreach_pipeline.stores.sieve_imports import ImportedBlock
from darkreach_pipeline.verification.proof_check import PROOF_COLUMNS, proof_fields

Progress = Callable[[str, int, int], None]  # (stage, done, total)

SURVIVOR = "survivor"
FACTOR = "factor"
EXCLUDED = "excluded"
IMPORTED_REMOVAL = "removed-by-import"  # absent from an imported sieve file that gave no factor for it
REJECTED = "rejected"  # certificate status of a claim the independent verifier rejected: not a prime

# What a test's `seconds` are measured with: wall time (what a campaign takes). The ETA's accuracy test swaps in
# the thread's CPU time, so that other work on a shared machine does not move what it compares.
TEST_CLOCK = time.perf_counter


def software_versions() -> str:
    return (
        f"darkreach-pipeline {__version__}; gmpy2 {gmpy2.version()}; {gmpy2.mp_version()}; "
        f"python {platform.python_version()}"
    )


def decimal_digits(N: gmpy2.mpz) -> int:
    d = gmpy2.num_digits(N, 10)  # exact or one too many
    return d - 1 if d > 1 and N < gmpy2.mpz(10) ** (d - 1) else d


def candidate_frame(spec: CampaignSpec, block: int) -> pd.DataFrame:
    """Every axis value of the block, with the reason it needs no test (N < 2, algebraic factor)."""
    form = form_for(spec)
    lo, hi = spec.block_range(block)
    values = np.arange(lo, hi, dtype=np.int64)
    return pd.DataFrame(
        {
            spec.axis: values,
            "excluded": [form.excluded(int(v)) or "" for v in values],
        }
    )


def sieve_frame(
    spec: CampaignSpec, block: int, candidates: pd.DataFrame, progress: Progress | None = None,
    imported: ImportedBlock | None = None,
) -> pd.DataFrame:
    """Sieve the block to the campaign's depth: each candidate is a survivor, or struck with its factor.

    With an imported sieve file for the block, its survivors are the starting point: the candidates it removed
    are struck with the factor it gave (re-checked by the blocking check) or marked 'removed-by-import', and
    only primes above the file's depth, up to the campaign's, are sieved here."""
    form = form_for(spec)
    lo, hi = spec.block_range(block)
    values = candidates[spec.axis].to_numpy()
    if len(values) != hi - lo or (len(values) and (values[0] != lo or values[-1] != hi - 1)):
        raise ValueError(f"candidate_ranges for block {block} does not cover {lo}..{hi - 1}: rerun that asset")
    start = imported.sieved_to + 1 if imported is not None else 2
    total_primes = max(1, int(spec.sieve_depth / np.log(max(spec.sieve_depth, 3))))
    done = 0

    def on_chunk(count: int) -> None:
        nonlocal done
        done += count
        if progress:
            progress("sieve", min(done, total_primes), total_primes)

    factors = form.sieve(lo, hi, prime_chunks(start, spec.sieve_depth), on_chunk).astype(np.int64)
    excluded = candidates["excluded"].to_numpy(dtype=object)
    status = np.where(excluded != "", EXCLUDED, np.where(factors != 0, FACTOR, SURVIVOR)).astype(object)
    reason = excluded.copy()
    if imported is not None:
        listed = np.isin(values, imported.survivors)
        given = _given_factors(values, imported.factors)
        removed = (excluded == "") & ~listed
        factors = np.where(removed, given, factors)
        status[removed] = np.where(given[removed] != 0, FACTOR, IMPORTED_REMOVAL)
        reason[removed & (given == 0)] = f"not in the imported {imported.describe()}"
    if progress:
        progress("sieve", total_primes, total_primes)
    return pd.DataFrame(
        {
            spec.axis: values,
            "status": status.astype(str),
            "factor": factors.astype(np.int64),
            "reason": reason,
        }
    )


def _given_factors(values: np.ndarray, factors: dict[int, int]) -> np.ndarray:
    """The factor an import gave for each value, 0 where it gave none (vectorised: blocks hold 10^5+ values)."""
    if not factors:
        return np.zeros(len(values), dtype=np.int64)
    keys = np.fromiter(factors.keys(), dtype=np.int64, count=len(factors))
    primes = np.fromiter(factors.values(), dtype=np.int64, count=len(factors))
    order = np.argsort(keys)
    keys, primes = keys[order], primes[order]
    at = np.minimum(np.searchsorted(keys, values), len(keys) - 1)
    return np.where(keys[at] == values, primes[at], 0).astype(np.int64)


def test_frame(
    spec: CampaignSpec,
    block: int,
    sieved: pd.DataFrame,
    progress: Progress | None = None,
    checkpointer: BlockCheckpointer | None = None,
    worker: tuple[str, str] = ("", ""),
) -> pd.DataFrame:
    """Test every survivor once; one row per test with its result, method, RES64, cost, worker and the Pietrzak
    proof of its residue made during the test (columns `proof`, `proof_note`: verification/proof_check.py
    splits them off into prp_proofs).

    With a checkpointer, finished rows and the verified state of a long test are saved as the block
    runs, and a rerun resumes from them: no candidate lost, none recorded twice.
    """
    form = form_for(spec)
    survivors = sieved.loc[sieved["status"] == SURVIVOR, spec.axis].astype(int).tolist()
    versions = software_versions()
    restored: dict[int, dict] = {}
    if checkpointer is not None:
        checkpointer.total = len(survivors)
        checkpoint = checkpointer.resume()
        if checkpoint is not None:
            restored = trusted_rows(spec, checkpoint.rows, checkpointer.log)
    rows = []
    try:
        for i, value in enumerate(survivors):
            if progress:
                progress("test", i, len(survivors))
            if value in restored:
                rows.append(restored[value])
                continue
            start = TEST_CLOCK()
            recorder = ProofRecorder()
            hooks = checkpointer.chain_hooks(value) if checkpointer is not None else {}
            outcome = form.test(value, TestOptions(chain_run={**hooks, "proof": recorder}))
            seconds = TEST_CLOCK() - start
            row = result_row(form, spec, block, value, {
                "result": outcome.result,
                "method": outcome.method,
                "res64": outcome.res64,
                "residue_type": outcome.residue_type,
                "certificate": json.dumps(outcome.certificate, sort_keys=True),
                "seconds": seconds,
                "gerbicz_checks": outcome.checks,
                "rollbacks": outcome.rollbacks,
                "arithmetic": outcome.arithmetic,
                "max_roundoff": outcome.max_roundoff,
                "software": versions,
                "worker_id": worker[0],
                "host": worker[1],
                **proof_fields(recorder.proof, recorder.reason),
            })
            rows.append(row)
            if checkpointer is not None:
                checkpointer.finished(row)
    except BaseException:  # interrupted (SIGTERM, SIGINT, run terminated): keep what is done
        if checkpointer is not None:
            checkpointer.save()
        raise
    if progress:
        progress("test", len(survivors), len(survivors))
    return result_frame(spec, rows)


def result_row(form: PrimeForm, spec: CampaignSpec, block: int, value: int, fields: dict) -> dict:
    """A test row: what the campaign decides (expression, digits, parameters) derived here, the test's own
    fields (result, method, RES64, ..., proof) from `fields` (a local test or a volunteer's report)."""
    return {"campaign": spec.name, "block": block, "form": spec.form, **form.parameters(value),
            "expression": form.expression(value), "digits": decimal_digits(form.number(value)), **fields}


def result_frame(spec: CampaignSpec, rows: list[dict]) -> pd.DataFrame:
    """The prp_results frame (with the proof columns) of a block's test rows, columns in their stored order."""
    form = form_for(spec)
    columns = [
        "campaign", "block", "form", *form.param_names, spec.axis, "expression", "digits", "result", "method",
        "res64", "residue_type", "certificate", "seconds", "gerbicz_checks", "rollbacks", "arithmetic", "max_roundoff",
        "software", "worker_id", "host", *PROOF_COLUMNS,
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({"block": "int64", spec.axis: "int64", "digits": "int64", "seconds": "float64",
                         "gerbicz_checks": "int64", "rollbacks": "int64", "max_roundoff": "float64"})


def trusted_rows(spec: CampaignSpec, rows: list[dict], log: Callable[[str], None]) -> dict[int, dict]:
    """The rows of a checkpoint (its MAC already verified) that are kept, by axis value: composites only, and
    only if one of them picked at random gives the same result and RES64 when tested again. A prime or PRP
    claim from a checkpoint is never trusted: it is tested (and proven) again. A failed spot check discards
    every row: the block is tested from scratch."""
    kept = {int(row[spec.axis]): row for row in rows if row.get("result") == COMPOSITE}
    if len(kept) < len(rows):
        log(f"{len(rows) - len(kept)} prime/PRP claims in the checkpoint are tested again (never taken from it)")
    if kept:
        value = secrets.choice(sorted(kept))
        outcome = form_for(spec).test(value)
        row = kept[value]
        if (outcome.result, outcome.res64) != (row["result"], row["res64"]):
            log(f"checkpoint spot check failed: {row.get('expression', value)} recorded as {row['result']} "
                f"(RES64 {row['res64']}), tested again {outcome.result} (RES64 {outcome.res64}): every row of the "
                "checkpoint is ignored and the block tested again")
            return {}
    return kept


def certificate_frame(spec: CampaignSpec, results: pd.DataFrame) -> pd.DataFrame:
    """One row per prime or probable prime, with its evidence re-checked by the independent verifier.

    A claim the verifier rejects (a proof, or a probable prime failing the independent PRP test) gets status
    'rejected' with the reason: never reported as proven or probable. The certificates check then fails, the
    block is not finished, and the next run re-tests its numbers.
    """
    form = form_for(spec)
    found = results[results["result"].isin([PRIME, PROBABLE_PRIME])]
    rows = []
    for row in found.to_dict("records"):
        value = int(row[spec.axis])
        if row["result"] == PRIME:
            try:
                ok, note = form.verify(value, json.loads(row["certificate"]))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:  # a malformed certificate proves nothing
                ok, note = False, f"malformed certificate ({type(exc).__name__}: {exc})"
            status = "proven" if ok else REJECTED
            if not ok:
                note = f"proof rejected by the verifier: {note}"
        else:
            ok, note = verify_probable_prime(form.members(value), form.useless_bases(value))
            status = "prp" if ok else REJECTED
        rows.append(
            {
                **{key: row[key] for key in ("campaign", "block", "form", *form.param_names, spec.axis)},
                "expression": row["expression"],
                "digits": row["digits"],
                "status": status,
                "method": row["method"],
                "certificate": row["certificate"],
                "verified": bool(ok),
                "verification": note,
            }
        )
    columns = [
        "campaign", "block", "form", *form.param_names, spec.axis, "expression", "digits", "status", "method",
        "certificate", "verified", "verification",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns).astype({"verified": bool})



def block_estimate_seconds(spec: CampaignSpec, block: int, costs: CostStore) -> float:
    """Expected seconds of the block's tests: its expected survivors x the measured (else modelled) cost per test."""
    form = form_for(spec)
    lo, hi = spec.block_range(block)
    return (hi - lo) * form.survival_fraction(spec.sieve_depth) * costs.seconds_per_test(spec.form,
                                                                                          form.bits((lo + hi) // 2))


def block_max_runtime(spec: CampaignSpec, block: int, costs: CostStore) -> int:
    """Seconds a block's run may take before it counts as hung: max(120, 3 x estimated duration)."""
    return max_runtime(1, block_estimate_seconds(spec, block, costs))
