"""Residue double checks with independent libraries, candidate by candidate.

The first test computes 3^(N-1) mod N with gmpy2 and the special-form loop; the double check
recomputes it with PARI/GP (cypari2), which shares no arithmetic with it. On a mismatch a third
library (python-flint) breaks the tie, so the wrong side is named, not just "they differ".
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from gmpy2 import mpz

from darkreach_pipeline.campaign import CampaignSpec
from darkreach_pipeline.forms import form_for
from darkreach_pipeline.primality.outcome import res64

MATCH = "match"
FIRST_WRONG = "first-wrong"
SECOND_WRONG = "second-wrong"
UNRESOLVED = "unresolved"


def pari_fermat_residue(N: mpz) -> int:
    import cypari2

    pari = _pari(cypari2)
    return int(pari.lift(pari.Mod(3, int(N)) ** (int(N) - 1)))


def flint_fermat_residue(N: mpz) -> int:
    import flint

    return int(pow(flint.fmpz(3), int(N) - 1, int(N)))


_PARI = None


def _pari(cypari2):
    global _PARI
    if _PARI is None:
        _PARI = cypari2.Pari()
        _PARI.allocatemem(1 << 28, silent=True)  # room for numbers of ~10^6 digits
    return _PARI


LIBRARIES: dict[str, Callable[[mpz], int]] = {"pari": pari_fermat_residue, "flint": flint_fermat_residue}


def library_versions() -> str:
    import cypari2
    import flint

    return f"pari {'.'.join(map(str, _pari(cypari2).version()))}; python-flint {flint.__version__}"


def double_check_frame(
    spec: CampaignSpec, results: pd.DataFrame, second: str = "pari", third: str = "flint",
    triple: bool = False, progress: Callable[[str, int, int], None] | None = None,
) -> pd.DataFrame:
    """Re-test every tested candidate of a block with `second`; on a mismatch (or always, with `triple`,
    for possible records) also with `third`, which breaks the tie."""
    form = form_for(spec)
    rows = []
    for i, row in enumerate(results.to_dict("records")):
        if progress:
            progress("double-check", i, len(results))
        value = int(row[spec.axis])
        N = form.number(value)
        again = res64(LIBRARIES[second](N))
        verdict, tie = MATCH, ""
        if triple or again != row["res64"]:
            tie = res64(LIBRARIES[third](N))
        if again != row["res64"] or (tie and tie != again):
            verdict = SECOND_WRONG if tie == row["res64"] else FIRST_WRONG if tie == again else UNRESOLVED
        rows.append({
            "campaign": spec.name, "block": row["block"], spec.axis: value, "expression": row["expression"],
            "result": row["result"], "worker_id": row.get("worker_id", ""), "res64": row["res64"],
            "second_library": second, "res64_second": again, "tiebreak_library": third if tie else "",
            "res64_tiebreak": tie, "verdict": verdict,
        })
    columns = ["campaign", "block", spec.axis, "expression", "result", "worker_id", "res64", "second_library",
               "res64_second", "tiebreak_library", "res64_tiebreak", "verdict"]
    return pd.DataFrame(rows, columns=columns)


def block_is_valid(checks: pd.DataFrame) -> bool:
    """The first worker's results hold when every residue matched (or the tie-break sided with it)."""
    return bool(checks["verdict"].isin([MATCH, SECOND_WRONG]).all())
