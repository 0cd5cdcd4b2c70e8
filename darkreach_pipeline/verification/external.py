"""Results of another program (LLR's lresults.txt, PFGW's logs) held against this product's own, candidate by
candidate: a cross-software double check.

- A residue of the same type as ours (PFGW's Fermat base-3 RES64, 'fermat-3') is compared residue by residue:
  'residue-match' is an independent reproduction of our result; a mismatch is broken by PARI/GP and the wrong
  side named ('ours-wrong' / 'theirs-wrong').
- Any other result (LLR's Proth and Lucas residues, a bare 'is prime!') is compared by verdict only
  ('verdict-match'); a disagreement is broken the same way.
- A candidate this product has not tested is 'not-tested-here'; one it removed with a verified factor but the
  other program calls prime is 'theirs-wrong' (the factor is the proof).

The rows are stored as results from another program (columns `program`, `source`, `source_sha256`), never
mixed with prp_results.
"""

from __future__ import annotations

import pandas as pd
from upath import UPath

from darkreach_pipeline.blocks import FACTOR
from darkreach_pipeline.campaign import CampaignSpec
from darkreach_pipeline.factoring.stage import P_MINUS_1_FACTOR
from darkreach_pipeline.formats import FormatError
from darkreach_pipeline.formats.results import COMPOSITE, FERMAT_3, PRP_RESIDUE, ExternalResult
from darkreach_pipeline.forms import form_for
from darkreach_pipeline.primality.outcome import res64
from darkreach_pipeline.sieve_import import campaign_shape
from darkreach_pipeline.stores.integrity import write_block
from darkreach_pipeline.verification.double_check import pari_fermat_residue

RESIDUE_MATCH = "residue-match"
VERDICT_MATCH = "verdict-match"
OURS_WRONG = "ours-wrong"
THEIRS_WRONG = "theirs-wrong"
NOT_TESTED_HERE = "not-tested-here"
EXTERNAL_CHECKS = "external_checks"  # stored as <data>/external_checks/<campaign>/<file sha256[:16]>.parquet
COLUMNS = ["campaign", "block", "n", "expression", "program", "source", "source_sha256", "line", "their_result",
           "their_residue_type", "their_res64", "our_result", "our_res64", "verdict", "note"]


def _composite(result: str) -> bool:
    return result == COMPOSITE


def cross_check_frame(spec: CampaignSpec, results: list[ExternalResult], ours: pd.DataFrame, sieved: pd.DataFrame,
                      source: str, source_sha256: str, factored: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per imported result with its verdict against our prp_results (and the sieve and P-1 stages, for
    removed ones; factored: the p_minus_1 frames, where blocks have them)."""
    form = form_for(spec)
    shape = campaign_shape(spec)
    tested = {int(r["n"]): r for r in ours.to_dict("records")} if len(ours) else {}
    struck = ({int(n): f"{int(p)} divides it (the sieve's factor, verified)"
               for n, p, s in zip(sieved["n"], sieved["factor"], sieved["status"], strict=True) if s == FACTOR}
              if len(sieved) else {})
    if factored is not None and len(factored):
        rows_p1 = factored[factored["status"] == P_MINUS_1_FACTOR]
        struck.update({int(n): f"{f} divides it (P-1's factor, verified)"
                       for n, f in zip(rows_p1["n"], rows_p1["p1_factor"], strict=True)})
    rows = []
    for r in results:
        t = r.term
        if (t.k, t.b, t.c) != shape or not spec.axis_min <= t.n <= spec.axis_max:
            raise FormatError(source, r.line, f"{t.expression()} is not a candidate of campaign '{spec.name}' "
                              f"({form.expression(spec.axis_min)} .. {form.expression(spec.axis_max)})")
        n = t.n
        block = (n - spec.axis_min) // spec.block_size
        mine = tested.get(n)
        verdict, note = NOT_TESTED_HERE, ""
        if mine is None:
            if n in struck and not _composite(r.result):
                verdict, note = THEIRS_WRONG, struck[n]
        elif r.residue_type == FERMAT_3 and mine["residue_type"] == FERMAT_3:
            verdict = RESIDUE_MATCH if r.res64 == mine["res64"] else _tie_break(form, n, mine["res64"])
            if verdict != RESIDUE_MATCH:
                note = f"PARI/GP residue decides: {note_residue(form, n)}"
        elif _composite(r.result) == _composite(mine["result"]):
            verdict = VERDICT_MATCH
        else:
            truth = note_residue(form, n)
            prp = truth == PRP_RESIDUE
            verdict = OURS_WRONG if prp == _composite(mine["result"]) else THEIRS_WRONG
            note = f"PARI/GP Fermat base-3 residue {truth}: {'probable prime' if prp else 'composite'}"
        rows.append({"campaign": spec.name, "block": block, "n": n, "expression": form.expression(n),
                     "program": r.program, "source": source, "source_sha256": source_sha256, "line": r.line,
                     "their_result": r.result, "their_residue_type": r.residue_type, "their_res64": r.res64,
                     "our_result": mine["result"] if mine is not None else "",
                     "our_res64": mine["res64"] if mine is not None else "", "verdict": verdict, "note": note})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.astype({"block": "int64", "n": "int64", "line": "int64"})


def note_residue(form, n: int) -> str:
    return res64(pari_fermat_residue(form.number(n), form.fermat_base(n)))


def _tie_break(form, n: int, ours: str) -> str:
    """Residues differ: PARI/GP recomputes ours; whoever it does not reproduce is wrong."""
    return THEIRS_WRONG if note_residue(form, n) == ours else OURS_WRONG


def block_validations(checks: pd.DataFrame, ours: pd.DataFrame) -> dict[str, bool]:
    """{block partition key: valid} for the blocks this import checks independently: every tested candidate of
    the block reproduced residue by residue (valid), or any candidate where ours was wrong (invalid)."""
    out: dict[str, bool] = {}
    if not len(checks) or not len(ours):
        return out
    for block, rows in checks.groupby("block"):
        key = f"{rows['campaign'].iloc[0]}/{int(block):06d}"
        if (rows["verdict"] == OURS_WRONG).any():
            out[key] = False
            continue
        tested = set(ours.loc[ours["block"] == block, "n"].astype(int))
        reproduced = set(rows.loc[rows["verdict"] == RESIDUE_MATCH, "n"].astype(int))
        if tested and tested <= reproduced:
            out[key] = True
    return out


def store_external_checks(base_path: str, frame: pd.DataFrame, campaign: str, source_sha256: str) -> str:
    """Store one imported file's rows (sealed with a checksum, like block results); importing the same file
    again replaces them. Returns the stored file's path."""
    ident = f"{EXTERNAL_CHECKS}/{campaign}/{source_sha256[:16]}"
    path = UPath(base_path) / f"{ident}.parquet"
    write_block(path, frame, ident)
    return str(path)
