"""The Fermat probable-prime test for numbers of no special binary shape (n!+-1, p#+-1, Wagstaff...),
and the stages every generic test shares: the exact answer below 2^64, the Gerbicz-checked Fermat
screen, and the strong BPSW test that labels a probable prime when no proof applies."""

from __future__ import annotations

import gmpy2
from gmpy2 import mpz

from darkreach_pipeline.arith.base import ModularArithmetic
from darkreach_pipeline.primality.gerbicz import ChainReport, Fault, checked_powmod
from darkreach_pipeline.primality.options import DEFAULT_OPTIONS, TestOptions
from darkreach_pipeline.primality.outcome import COMPOSITE, PRIME, PROBABLE_PRIME, TestOutcome, res64
from darkreach_pipeline.primality.prp import DETERMINISTIC_LIMIT, is_bpsw_probable_prime, is_prime_small


def fermat_prp(
    N: mpz, base: int, *, check: bool = True, faults: list[Fault] | None = None, chain_run: dict | None = None,
    arith: ModularArithmetic | None = None,
) -> tuple[bool, str, ChainReport]:
    """(N is a base-`base` Fermat PRP, RES64 of base^(N-1) mod N, the chain's report), Gerbicz-Li checked
    (on `arith`, which may work modulo a multiple of N; default: arith.select's choice for N)."""
    if N < 3 or base % N == 0:
        raise ValueError(f"the Fermat test needs N > 2 not dividing the base, got N = {N}, base = {base}")
    residue, report = checked_powmod(base, N - 1, N, check=check, faults=faults, chain_run=chain_run, arith=arith)
    return residue == 1, res64(residue), report


def deterministic_outcome(N: mpz, base: int = 3) -> TestOutcome:
    """N < 2^64: BPSW is exact there (a proof); the row still records the Fermat residue."""
    prime = N >= 2 and is_prime_small(int(N))
    residue = res64(gmpy2.powmod(base, N - 1, N)) if N >= 2 else res64(0)
    return TestOutcome(PRIME if prime else COMPOSITE, "bpsw-below-2^64", residue, residue_type=f"fermat-{base}",
                       certificate={"method": "bpsw-below-2^64"} if prime else {})


def fermat_screen(
    N: mpz, base: int = 3, *, options: TestOptions = DEFAULT_OPTIONS, arith: ModularArithmetic | None = None,
) -> tuple[TestOutcome | None, str, dict]:
    """First stage of a generic test: (the final outcome, or None when N is a probable prime and a proof
    may follow; the RES64; the row's residue type and Gerbicz counts for the outcome that follows)."""
    if N < DETERMINISTIC_LIMIT:
        return deterministic_outcome(N, base), "", {}
    probable, residue, report = fermat_prp(N, base, check=options.check, faults=options.faults,
                                           chain_run=options.chain_run, arith=arith)
    checked = {"residue_type": f"fermat-{base}", **report.outcome_fields()}
    if not probable:
        return TestOutcome(COMPOSITE, f"fermat-{base}", residue, **checked), residue, checked
    return None, residue, checked


def probable_prime_outcome(N: mpz, residue: str, checked: dict) -> TestOutcome:
    """No proof applies or none came out: a strong BPSW test on top of the Fermat test, labelled PRP."""
    kind = checked.get("residue_type", "fermat-3")
    if is_bpsw_probable_prime(N):
        return TestOutcome(PROBABLE_PRIME, f"{kind}+bpsw", residue,
                           certificate={"method": "prp", "tests": [kind, "strong-bpsw"]}, **checked)
    return TestOutcome(COMPOSITE, "bpsw", residue, **checked)
