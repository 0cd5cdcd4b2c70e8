"""A block's Pietrzak proofs: stored beside its results (the prp_proofs asset), and reviewed result by result.

The review is what lets a proof replace a double check: every tested candidate of the block must have its
RES64 established, either by an accepted proof (proofs/pietrzak_verify.py, independent of the prover) or,
below 2^64 where no chain runs, by recomputing the residue directly (a single powmod). A proof the verifier
rejects makes the block invalid (it counts against its worker like a mismatched residue); a result without a
proof (3 | N, a test resumed from a checkpoint made without the kept residues) leaves the block to the usual
double check.

The review runs in a proof-check run of its own (the proof_checks asset, launched by the verification sensor),
never inside the daemon's tick: `check_block` is that run's whole decision, and its `double_check` field is what
the sensor reads back.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field

import gmpy2
import pandas as pd
from upath import UPath

from darkreach_pipeline.campaign import CampaignSpec
from darkreach_pipeline.forms import form_for
from darkreach_pipeline.forms.base import PrimeForm
from darkreach_pipeline.proofs.pietrzak_verify import verify_prp_proof
from darkreach_pipeline.stores.integrity import DamagedBlockError, block_path, identity, read_block

PROOF_COLUMNS = ("proof", "proof_note")  # carried by the test rows (and their checkpoints), stored apart
DIRECT_LIMIT = 1 << 64  # below this no chain runs: the residue itself is recomputed


def proof_fields(proof: bytes | None, note: str) -> dict[str, str]:
    """The proof columns of one test row: the proof as base64 (format: proofs/pietrzak.py), or why there is none."""
    return {"proof": base64.b64encode(proof).decode("ascii") if proof else "", "proof_note": "" if proof else note}


def split_proofs(frame: pd.DataFrame, axis: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the prp_results frame, the prp_proofs frame) of a block's test rows."""
    for column in PROOF_COLUMNS:
        if column not in frame:
            frame = frame.assign(**{column: ""})
    keys = ["campaign", "block", axis, "expression", "res64", "residue_type", "worker_id"]
    proofs = frame[[*keys, *PROOF_COLUMNS]].fillna({"proof": "", "proof_note": ""}).reset_index(drop=True)
    return frame.drop(columns=list(PROOF_COLUMNS)), proofs


@dataclass
class ProofReview:
    """What the proofs of a block establish: accepted, rejected (with the reason), or not proven (why)."""

    accepted: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    unproven: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every result of the block is established: the proofs may replace a double check."""
        return not self.rejected and not self.unproven

    def summary(self) -> str:
        return f"{len(self.accepted)} accepted, {len(self.rejected)} rejected, {len(self.unproven)} without proof"


def _base(residue_type: str) -> int | None:
    kind, _, base = str(residue_type).partition("-")
    return int(base) if kind == "fermat" and base.isdigit() else None


def _row_problem(form: PrimeForm, axis: str, row: Mapping, proof_row: Mapping | None) -> tuple[str, str]:
    """('accepted' | 'rejected' | 'unproven', the reason) for one test row."""
    value = int(row[axis])
    N = form.number(value)
    base = _base(row["residue_type"])
    if base is None:
        return "unproven", f"residue type {row['residue_type']!r} has no proof"
    if N < DIRECT_LIMIT:
        found = format(int(gmpy2.powmod(base, N - 1, N)) if N >= 2 else 0, "016x")
        return ("accepted", "recomputed directly") if found == row["res64"] else (
            "rejected", f"RES64 {row['res64']} but {base}^(N-1) mod N ends in {found}")
    if proof_row is None:
        return "unproven", "no row in prp_proofs"
    if not proof_row.get("proof"):
        return "unproven", str(proof_row.get("proof_note") or "no proof")
    try:
        proof = base64.b64decode(str(proof_row["proof"]), validate=True)
    except (binascii.Error, ValueError) as exc:
        return "rejected", f"proof is not base64: {exc}"
    verdict = verify_prp_proof(N, proof, base=base, res64=str(row["res64"]))
    return ("accepted" if verdict.accepted else "rejected"), verdict.reason


def review_proofs(form: PrimeForm, axis: str, results: pd.DataFrame, proofs: pd.DataFrame) -> ProofReview:
    """Check every result of a block against its proof (or directly below 2^64)."""
    review = ProofReview()
    by_value = {int(row[axis]): row for row in proofs.to_dict("records")} if len(proofs) else {}
    for row in results.to_dict("records"):
        verdict, reason = _row_problem(form, axis, row, by_value.get(int(row[axis])))
        entry = row["expression"] if verdict == "accepted" else f"{row['expression']}: {reason}"
        getattr(review, verdict).append(entry)
    return review


def stored_block_review(base_path: str, spec: CampaignSpec, partition_key: str,
                        storage_options: dict | None = None) -> tuple[ProofReview | None, str]:
    """(the review of a block's stored results against its stored proofs, or None with the reason when either
    file is missing or damaged: such a block gets its double check as before)."""
    base = UPath(base_path, **(storage_options or {}))
    frames = {}
    for asset in ("prp_results", "prp_proofs"):
        try:
            frames[asset] = read_block(block_path(base, asset, partition_key), identity(asset, partition_key))
        except FileNotFoundError:
            return None, f"no stored {asset}"
        except DamagedBlockError as exc:
            return None, f"{asset} damaged: {exc.reason}"
    return review_proofs(form_for(spec), spec.axis, frames["prp_results"], frames["prp_proofs"]), ""


@dataclass
class BlockProofCheck:
    """The outcome of checking one block by its proofs: what the run records and what the sensor reads back.

    validation: the worker's block is valid (every result established), invalid (a proof rejected) or None (not
    judged: a missing or damaged file, results without proof). double_check: "" when the proofs replace the double
    check, else why the block is still double-checked."""

    review: ProofReview | None
    validation: bool | None
    double_check: str

    def frame(self) -> pd.DataFrame:
        """One row per result: its expression (with the reason when not accepted) and the verdict."""
        rows = [] if self.review is None else [
            {"verdict": verdict, "result": entry}
            for verdict in ("accepted", "rejected", "unproven") for entry in getattr(self.review, verdict)]
        return pd.DataFrame(rows, columns=["verdict", "result"])

    def summary(self) -> str:
        return self.review.summary() if self.review is not None else self.double_check


def check_block(base_path: str, spec: CampaignSpec, partition_key: str, why: str,
                storage_options: dict | None = None) -> BlockProofCheck:
    """Review a block's stored proofs; `why` is the reason the block would be double-checked without them."""
    review, missing = stored_block_review(base_path, spec, partition_key, storage_options)
    if review is None:
        return BlockProofCheck(None, None, f"{why}; {missing}")
    if review.complete:
        return BlockProofCheck(review, True, "")
    if review.rejected:
        return BlockProofCheck(review, False, f"proof rejected: {review.rejected[0]}")
    return BlockProofCheck(review, None, f"{why}; {len(review.unproven)} results without proof")
