"""The Fermat probable-prime test for numbers of no special binary shape (n!+-1, p#+-1, Wagstaff...)."""

from __future__ import annotations

from gmpy2 import mpz

from darkreach_pipeline.primality.gerbicz import ChainReport, Fault, checked_powmod
from darkreach_pipeline.primality.outcome import res64


def fermat_prp(
    N: mpz, base: int, *, check: bool = True, faults: list[Fault] | None = None, chain_run: dict | None = None
) -> tuple[bool, str, ChainReport]:
    """(N is a base-`base` Fermat PRP, RES64 of base^(N-1) mod N, the chain's report), Gerbicz-Li checked."""
    if N < 3 or base % N == 0:
        raise ValueError(f"the Fermat test needs N > 2 not dividing the base, got N = {N}, base = {base}")
    residue, report = checked_powmod(base, N - 1, N, check=check, faults=faults, chain_run=chain_run)
    return residue == 1, res64(residue), report
