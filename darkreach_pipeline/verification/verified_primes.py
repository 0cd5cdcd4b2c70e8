"""The verification status of every prime found, with its evidence, and the Top5000 export."""

from __future__ import annotations

import json

import pandas as pd

from darkreach_pipeline.formats.results import PRP_RESIDUE
from darkreach_pipeline.verification.double_check import MATCH
from darkreach_pipeline.verification.external import RESIDUE_MATCH

PROVEN_VERIFIED = "proven-verified"
PRP_DOUBLE_CHECKED = "prp-double-checked"
PENDING = "pending"
FERMAT_PRP_RESIDUE = PRP_RESIDUE


def verified_primes_frame(certificates: pd.DataFrame, double_checks: pd.DataFrame,
                          external: pd.DataFrame | None = None) -> pd.DataFrame:
    """proven-verified: a proof the independent verifier accepted. prp-double-checked: a probable prime
    whose Fermat residue (1) a second library, or another program (an imported PFGW result whose base-3
    residue matched ours: verification/external.py), reproduced. pending: anything still waiting.

    Rows are matched by campaign and expression: the frames hold every campaign, whose axes differ (n, p, b...),
    so an axis column is missing or NaN in other forms' rows."""
    if not len(certificates):
        return pd.DataFrame(columns=["campaign", "expression", "digits", "status", "evidence"])
    checked = {}
    if len(double_checks):
        for row in double_checks.to_dict("records"):
            checked[(row["campaign"], row["expression"])] = row
    reproduced = {}
    if external is not None and len(external):
        for row in external[(external["verdict"] == RESIDUE_MATCH)
                            & (external["their_res64"] == FERMAT_PRP_RESIDUE)].to_dict("records"):
            reproduced[(row["campaign"], row["expression"])] = row
    rows = []
    for cert in certificates.to_dict("records"):
        key = (cert["campaign"], cert["expression"])
        if cert["status"] == "proven" and cert["verified"]:
            status, evidence = PROVEN_VERIFIED, f"{cert['method']}: {cert['verification']}"
        else:
            dc = checked.get(key)
            if cert["status"] == "prp" and dc is not None and dc["verdict"] == MATCH \
                    and dc["res64_second"] == FERMAT_PRP_RESIDUE:
                status = PRP_DOUBLE_CHECKED
                evidence = f"{cert['method']}; Fermat residue 1 reproduced by {dc['second_library']}"
            elif cert["status"] == "prp" and key in reproduced:
                other = reproduced[key]
                status = PRP_DOUBLE_CHECKED
                evidence = (f"{cert['method']}; Fermat residue 1 reproduced by {other['program']} (imported from "
                            f"{other['source']}, sha256 {other['source_sha256'][:12]})")
            else:
                status, evidence = PENDING, cert.get("verification", "") or "awaiting double check"
        rows.append({**cert, "status": status, "evidence": evidence})
    return pd.DataFrame(rows)


def top5000_text(primes: pd.DataFrame) -> str:
    """One line per prime: expression, decimal digits, how it was established (Prime Pages submission)."""
    lines = ["# expression  digits  proof"]
    for row in primes.sort_values("digits", ascending=False).to_dict("records"):
        if row["status"] == PENDING:
            continue
        certificate = json.loads(row.get("certificate") or "{}")
        detail = {"proth": f"Proth, witness {certificate.get('witness')}",
                  "llr": f"LLR, P = {certificate.get('P')}"}.get(row["method"], row["method"])
        kind = "PRP" if row["status"] == PRP_DOUBLE_CHECKED else detail
        lines.append(f"{row['expression']}  {row['digits']}  {kind}")
    return "\n".join(lines) + "\n"
