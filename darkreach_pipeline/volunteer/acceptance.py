"""Whether a volunteer's result for a unit (one block) can be accepted, and on what grounds.

Nothing the client says is taken on trust that the server can check: the candidates and their exclusions are
derived from the campaign, every sieve strike is re-checked (p divides N), the tested set must equal the
survivors, every prime or probable prime must pass the independent verifier (the certificates stage's own
function), and every residue must be established by its Pietrzak proof (or recomputed below 2^64).
Which results need more than that is decided by the project's trust rules (stores/reliability.py), not here:
a trusted worker's block needs nothing more unless it is sampled or a possible record; an untrusted one's is
accepted on complete proofs (when the rules allow proofs to stand in for a double check), otherwise it waits
for a quorum of two matching results from different workers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from darkreach_pipeline import blocks
from darkreach_pipeline.campaign import CampaignSpec
from darkreach_pipeline.checks import factor_claim_problems, result_problems, tested_once_problems
from darkreach_pipeline.forms import form_for
from darkreach_pipeline.primality.outcome import COMPOSITE
from darkreach_pipeline.stores.reliability import (
    WorkerRecord,
    needs_double_check,
    proofs_may_replace_double_check,
)
from darkreach_pipeline.verification.proof_check import ProofReview, review_proofs, split_proofs
from darkreach_pipeline.volunteer.protocol import ResultSubmission

VOLUNTEER_HOST = "volunteer"  # the `host` of a volunteer's test rows (its worker id is the client's UUID)
FERMAT_ONE = "0000000000000001"

Verdict = Literal["accepted", "pending", "rejected"]


@dataclass
class Examination:
    """What the server established about one submitted result."""

    problems: list[str] = field(default_factory=list)  # any problem rejects the result (a wrong result)
    review: ProofReview = field(default_factory=ProofReview)  # every residue against its proof
    rows: list[dict] = field(default_factory=list)  # the test rows, every derivable field derived here
    max_digits: int = 0  # of the primes and PRPs (what makes a block a possible record)
    max_bits: float = 0.0  # of the block's largest tested candidate
    primes: int = 0
    digest: str = ""  # what two workers must agree on for a quorum

    @property
    def wrong(self) -> bool:
        return bool(self.problems or self.review.rejected)

    def reason(self) -> str:
        found = self.problems + [f"residue rejected: {entry}" for entry in self.review.rejected]
        more = f" (and {len(found) - 3} more)" if len(found) > 3 else ""
        return "; ".join(found[:3]) + more


def examine(spec: CampaignSpec, block: int, submission: ResultSubmission, worker_id: str,
            worker_name: str) -> Examination:
    """Check a submission against the campaign; never raises on hostile content (problems are listed). The rows
    carry the volunteer as their worker: its UUID and `volunteer:NAME` as host."""
    form = form_for(spec)
    axis = spec.axis
    lo, hi = spec.block_range(block)
    out = Examination()
    outside = sorted({v for v, _ in submission.struck if not lo <= v < hi}
                     | {t.value for t in submission.tests if not lo <= t.value < hi})
    if outside:
        out.problems.append(f"values outside the unit's range {lo}..{hi - 1}: {outside[:5]}")
        return out
    struck = dict(submission.struck)
    if len(struck) != len(submission.struck):
        out.problems.append("a value is struck by the sieve more than once")
    candidates = blocks.candidate_frame(spec, block)
    excluded = candidates["excluded"].to_numpy(dtype=object)
    values = candidates[axis].astype(int).tolist()
    sieved = pd.DataFrame({
        axis: values,
        "status": [blocks.EXCLUDED if x else blocks.FACTOR if v in struck else blocks.SURVIVOR
                   for v, x in zip(values, excluded, strict=True)],
        "factor": [0 if x else struck.get(v, 0) for v, x in zip(values, excluded, strict=True)],
    })
    out.problems += factor_claim_problems(form, axis, sieved)
    host = f"{VOLUNTEER_HOST}:{worker_name}"
    out.rows = [blocks.result_row(form, spec, block, t.value, {
        **t.model_dump(exclude={"value"}), "worker_id": worker_id, "host": host}) for t in submission.tests]
    frame = blocks.result_frame(spec, out.rows)
    out.problems += tested_once_problems(axis, sieved, frame)
    out.problems += result_problems(form, frame)
    out.problems += [f"{row['expression']}: reported composite, but its Fermat residue is 1 (a probable prime)"
                     for row in out.rows if row["result"] == COMPOSITE and row["res64"] == FERMAT_ONE
                     and str(row["residue_type"]).startswith("fermat")]
    if out.problems:
        return out
    # The proofs first (about 1% of a test each): a false prime or PRP claim is caught by its residue before the
    # independent verifier spends a whole test on it.
    out.review = review_proofs(form, axis, *split_proofs(frame, axis))
    if out.review.rejected:
        return out
    found = frame[frame["result"] != COMPOSITE]
    certificates = blocks.certificate_frame(spec, frame)
    out.problems += [f"{row['expression']}: {row['verification']}"
                     for row in certificates.to_dict("records") if not row["verified"]]
    out.primes = len(found)
    out.max_digits = int(found["digits"].max()) if len(found) else 0
    out.max_bits = max((form.bits(int(v)) for v in frame[axis]), default=0.0)
    agreed = sorted((int(r[axis]), r["result"], r["res64"]) for r in out.rows)
    out.digest = hashlib.sha256(repr((agreed, sorted(struck))).encode()).hexdigest()
    return out


def decide(exam: Examination, record: WorkerRecord, unit_id: str) -> tuple[Verdict, str]:
    """accepted / pending (a quorum is needed) / rejected, with the reason, by the project's trust rules."""
    if exam.wrong:
        return "rejected", f"wrong result: {exam.reason()}"
    reason = needs_double_check(record, unit_id, exam.max_digits)
    if reason is None:
        return "accepted", f"trusted worker ({record.streak} valid in a row), not sampled; {exam.review.summary()}"
    if exam.review.complete and proofs_may_replace_double_check(record, unit_id, exam.max_digits):
        return "accepted", f"every residue established by its proof ({exam.review.summary()})"
    return "pending", f"{reason}; proofs: {exam.review.summary()}: waiting for a matching result from another worker"


def volunteered_frame(spec: CampaignSpec, block: int, sieved: pd.DataFrame, rows: list[dict],
                      test_here: Callable[[pd.DataFrame], pd.DataFrame]) -> pd.DataFrame:
    """The block's test rows (prp_results with the proof columns) from an accepted volunteer result, so the
    block's run does not test again what a volunteer's verified result established. Rows of numbers this run's
    sieve struck are left out; a survivor the result lacks (none for an accepted result, whose tested set was
    the survivors of the same sieve) is tested here by `test_here` (the block's normal test stage)."""
    axis = spec.axis
    survivors = set(sieved.loc[sieved["status"] == blocks.SURVIVOR, axis].astype(int))
    taken = [row for row in rows if int(row[axis]) in survivors]
    missing = survivors - {int(row[axis]) for row in taken}
    frames = [blocks.result_frame(spec, taken)]
    if missing:
        frames.append(test_here(sieved[sieved[axis].astype(int).isin(missing)]))
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return frame.sort_values(axis, kind="stable").reset_index(drop=True)
