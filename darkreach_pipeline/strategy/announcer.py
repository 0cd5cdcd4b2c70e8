"""What to say when a prime is verified: its announcement, a Top 5000 submission draft when it qualifies, and
which blocks still need their extra (residue) verification before anything is submitted.

A number is announced only once verified (verification/verified_primes.py): `proven-verified` (a proof the
independent verifier accepted) or `prp-double-checked` (a probable prime whose residue a second library
reproduced; announced as a probable prime, never as proven). A Top 5000 draft is written only for a proven
prime at or above the snapshot's cut-off: the list takes proven primes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from darkreach_pipeline.forms import FORMS
from darkreach_pipeline.strategy.snapshot import ListsSnapshot
from darkreach_pipeline.verification.verified_primes import PENDING, PROVEN_VERIFIED

# How the Prime Pages label a prime of each form in its comment field (kbn primes carry no label).
LIST_LABELS = {"factorial": "Factorial", "primorial": "Primorial", "cullen": "Cullen", "woodall": "Woodall",
               "carol": "Carol", "kynea": "Kynea", "gfn": "Generalized Fermat", "twin": "Twin (p)",
               "sophie_germain": "Sophie Germain (p)", "repunit": "Generalized repunit", "palindromic": "Palindrome",
               "near_repdigit": "Near-repdigit, palindrome", "wagstaff": "Wagstaff", "kbn": ""}
PROOFS = {"proth": "Proth's theorem (N-1 = K*2^e factored)", "llr": "Lucas-Lehmer-Riesel test (N+1 = K*2^e)",
          "pocklington": "Pocklington's theorem (N-1 completely factored)",
          "morrison": "Morrison's theorem (N+1 completely factored)", "ecpp": "ECPP certificate (PARI primecert)",
          "bpsw-below-2^64": "BPSW, deterministic below 2^64"}


@dataclass(frozen=True)
class Announcement:
    campaign: str
    block: str  # partition key of the block that found it
    expression: str
    digits: int
    form: str
    status: str
    method: str
    proof: str
    top5000: bool
    top20: bool
    oeis: str
    text: str
    t5k_draft: str | None


def _present(row: Mapping[str, Any], key: str) -> bool:
    value = row.get(key)
    return value is not None and value == value  # a frame of several campaigns has NaN in others' columns


def form_columns(row: Mapping[str, Any]) -> tuple[dict[str, int], tuple[str, int] | None]:
    """The form's parameters and (axis, value) of a result row, for the variant of the form whose columns
    the row has."""
    for cls in FORMS.get(str(row["form"]), ()):
        if _present(row, cls.axis) and all(_present(row, p) for p in cls.param_names):
            return {p: int(row[p]) for p in cls.param_names}, (cls.axis, int(row[cls.axis]))
    return {}, None


def announce(row: Mapping[str, Any], snapshot: ListsSnapshot) -> Announcement:
    """The announcement of one verified prime (a verified_primes row) against the lists snapshot."""
    form, digits, method = str(row["form"]), int(row["digits"]), str(row["method"])
    proven = row["status"] == PROVEN_VERIFIED
    proof = PROOFS.get(method, method) if proven else f"probable prime ({method}), residue double-checked"
    top20_digits = snapshot.top20_min_digits(form)
    top5000 = digits >= snapshot.top5000_min_digits
    top20 = top20_digits is not None and digits >= top20_digits
    entry = snapshot.forms.get(form, {})
    params, axis = form_columns(row)
    sequence = snapshot.oeis_for(form, params)
    oeis = (f"{sequence['id']} ({sequence['terms']} = {axis[1]}; it extends the sequence if that is beyond the "
            "terms listed there: check the b-file)") if sequence and axis else "none known to the snapshot"
    rank = [f"Top 5000 cut-off {snapshot.top5000_min_digits:,} digits: {'above' if top5000 else 'below'}"]
    if top20_digits is not None:
        rank.append(f"{entry['list']} top 20 (20th has about {top20_digits:,} digits): "
                    f"{'enters' if top20 else 'below'}; record {entry['record']} ({entry['record_digits']:,} digits)"
                    f"{': NEW RECORD' if proven and digits > entry['record_digits'] else ''}")
    text = "\n".join([
        f"# {'Prime' if proven else 'Probable prime'} {row['expression']}",
        "",
        f"- digits: {digits:,}",
        f"- form: {form} ({LIST_LABELS.get(form) or 'k*b^n+-1'}), campaign {row['campaign']}, block {block_key(row)}",
        f"- how established: {proof}; {row.get('evidence', '')}".rstrip("; "),
        *(f"- rank: {line}" for line in rank),
        f"- OEIS: {oeis}",
        f"- ranks are against the {snapshot.label()}",
    ]) + "\n"
    draft = t5k_draft(row, proof) if proven and top5000 else None
    return Announcement(str(row["campaign"]), block_key(row), str(row["expression"]), digits, form,
                        str(row["status"]), method, proof, top5000, top20, oeis, text, draft)


def block_key(row: Mapping[str, Any]) -> str:
    """The partition key of the block (the block column is its index in the campaign)."""
    return f"{row['campaign']}/{int(row['block']):06d}" if "block" in row else str(row["campaign"])


def t5k_draft(row: Mapping[str, Any], proof: str) -> str:
    """A Top 5000 submission in the Prime Pages' fields: the prime in their syntax, its digits, the label of
    its form, the proof; the prover code is the submitter's own and is left for them to fill in."""
    return "\n".join([
        "# Top 5000 submission draft: submit at t5k.org (prover account, then the proof code's 'submit' page)",
        f"prime: {row['expression']}",
        f"digits: {int(row['digits'])}",
        f"comment: {LIST_LABELS.get(str(row['form']), '')}",
        f"proof: {proof}, re-checked by an independent verifier (darkreach proofs/certificate_check.py)",
        "prover code: <your proof code listing the programs used, e.g. created at t5k.org/bios/newcode.php>",
    ]) + "\n"


def announcements(verified: Iterable[Mapping[str, Any]], snapshot: ListsSnapshot) -> list[Announcement]:
    return [announce(row, snapshot) for row in verified if row["status"] != PENDING]


def verification_queue(verified: Iterable[Mapping[str, Any]], double_checked: set[str],
                       snapshot: ListsSnapshot) -> list[str]:
    """Blocks whose extra verification must be queued: every block holding a prime still pending, and every
    block holding a prime for a list (Top 5000 or a top 20) whose residues were not yet double-checked."""
    queue = set()
    for row in verified:
        key = block_key(row)
        if key in double_checked:
            continue
        top20 = snapshot.top20_min_digits(str(row["form"]))
        listed = int(row["digits"]) >= min(snapshot.top5000_min_digits, top20 or math.inf)
        if row["status"] == PENDING or listed:
            queue.add(key)
    return sorted(queue)
