"""A result line from another program, whatever the program: the candidate, the verdict, the residue."""

from __future__ import annotations

from dataclasses import dataclass

from darkreach_pipeline.formats.terms import Term

PRIME, PROBABLE_PRIME, COMPOSITE = "prime", "probable-prime", "composite"
PRP_RESIDUE = "0000000000000001"  # the Fermat residue of a probable prime: base^(N-1) = 1 mod N
FERMAT_3 = "fermat-3"  # 3^(N-1) mod N: the residue this product computes (and PFGW prints for its 3-PRP test)


@dataclass(frozen=True)
class ExternalResult:
    """One test done by another program. `residue_type` says what `res64` is a residue of (e.g. 'fermat-3',
    'llr-proth', 'llr-lucas'); only a residue of the same type as ours can be compared residue by residue."""

    term: Term
    program: str
    result: str  # prime / probable-prime / composite
    residue_type: str
    res64: str  # 16 lower-case hex digits, or "" when the program printed none
    line: int
