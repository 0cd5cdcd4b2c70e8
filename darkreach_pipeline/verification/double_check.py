"""Residue double checks with independent libraries, candidate by candidate.

The first test computes 3^(N-1) mod N with gmpy2 (special-form loop, Gerbicz-checked). The double
check recomputes it with other big-integer code: for N = K*2^e+-1 with small K, the same
special-form algorithm written on python-flint's integers (as fast as the first test, so sampling
stays cheap); otherwise PARI/GP. On a mismatch the other library breaks the tie, so the wrong side
is named, not just "they differ".
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from gmpy2 import mpz

from darkreach_pipeline.campaign import CampaignSpec
from darkreach_pipeline.forms import form_for
from darkreach_pipeline.primality.outcome import res64
from darkreach_pipeline.primality.prp import DETERMINISTIC_LIMIT
from darkreach_pipeline.primality.special_form import SpecialModulus

MATCH = "match"
FIRST_WRONG = "first-wrong"
SECOND_WRONG = "second-wrong"
UNRESOLVED = "unresolved"


def pari_fermat_residue(N: mpz, base: int = 3) -> int:
    import cypari2

    pari = _pari(cypari2)
    return int(pari.lift(pari.Mod(base, int(N)) ** (int(N) - 1)))


def flint_fermat_residue(N: mpz, base: int = 3) -> int:
    import flint

    return int(pow(flint.fmpz(base), int(N) - 1, int(N)))


_PARI = None


def _pari(cypari2):
    global _PARI
    if _PARI is None:
        _PARI = cypari2.Pari()
        _PARI.allocatemem(1 << 28, silent=True)  # room for numbers of ~10^6 digits
    return _PARI


def flint_special_residue(K: int, e: int, c: int) -> int:
    """3^(N-1) mod N for N = K*2^e + c by the special-form loop on FLINT integers (not gmpy2)."""
    import flint

    N = (flint.fmpz(K) << e) + c
    x = pow(flint.fmpz(3), K, N)
    for _ in range(e):  # x = 3^(K*2^e) = 3^(N - c)
        y = x * x
        q = (y >> e) // K
        if c == 1:
            x = y - ((q * K) << e) - q
            if x < 0:
                x += N
        else:
            x = y - ((q * K) << e) + q
            if x >= N:
                x -= N
    if c == 1:
        return int(x)
    n = int(N)
    return int(x) * pow(9, -1, n) % n  # CPython's own inverse: 3^(N+1) / 9


def _special_form(form, value: int, N: mpz) -> tuple[int, int, int] | None:
    """(K, e, c) when N = K*2^e + c with small K, base 3, and the special loop can double-check it."""
    shape = form.binary_shape(value)
    if shape is None or form.fermat_base(value) != 3:
        return None
    K, e, c = shape
    if SpecialModulus.applies(K, e) and N >= DETERMINISTIC_LIMIT and (c == 1 or N % 3):
        return K, e, c
    return None


# name -> residue function (form, axis value, N) -> base^(N-1) mod N, base = form.fermat_base(value)
LIBRARIES: dict[str, Callable] = {
    "pari": lambda form, value, N: pari_fermat_residue(N, form.fermat_base(value)),
    "flint": lambda form, value, N: flint_fermat_residue(N, form.fermat_base(value)),
    "flint-special": lambda form, value, N: flint_special_residue(*_special_form(form, value, N)),
}


def second_opinion(form, value: int, N: mpz) -> tuple[str, str, str]:
    """(library, its RES64, the tie-break library) for one candidate."""
    second, third = ("flint-special", "pari") if _special_form(form, value, N) else ("pari", "flint")
    return second, res64(LIBRARIES[second](form, value, N)), third


def library_versions() -> str:
    import cypari2
    import flint

    return f"pari {'.'.join(map(str, _pari(cypari2).version()))}; python-flint {flint.__version__}"


def double_check_frame(
    spec: CampaignSpec, results: pd.DataFrame, triple: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> pd.DataFrame:
    """Re-test every tested candidate of a block with a second library; on a mismatch (or always, with
    `triple`, for possible records) also with a third, which breaks the tie."""
    form = form_for(spec)
    rows = []
    for i, row in enumerate(results.to_dict("records")):
        if progress:
            progress("double-check", i, len(results))
        value = int(row[spec.axis])
        N = form.number(value)
        second, again, third = second_opinion(form, value, N)
        verdict, tie = MATCH, ""
        if triple or again != row["res64"]:
            tie = res64(LIBRARIES[third](form, value, N))
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
