"""Proth's theorem: N = K*2^e + 1, K odd, K < 2^e is prime iff a^((N-1)/2) = -1 for a non-residue a.

The proof step of every form whose probable primes have that shape (kbn, Cullen, twins' second member, GFN).
"""

from __future__ import annotations

import gmpy2
from gmpy2 import mpz

from darkreach_pipeline.arith.base import ModularArithmetic
from darkreach_pipeline.primality.fermat import probable_prime_outcome
from darkreach_pipeline.primality.gerbicz import GerbiczChain, Reducer, checked_powmod
from darkreach_pipeline.primality.outcome import COMPOSITE, PRIME, TestOutcome
from darkreach_pipeline.primality.special_form import SpecialModulus

MAX_WITNESS = 10_000


def proth_applies(K: int, e: int) -> bool:
    return K % 2 == 1 and e >= 1 and K < (1 << e)


def proth_witness(N: mpz) -> int | None:
    """Smallest a >= 3 with Jacobi(a, N) = -1, as LLR/PFGW choose it; None if there is none.

    A perfect square has no non-residue at all (3*2^3+1 = 25): checked first, so the search
    always ends.
    """
    if gmpy2.is_square(N):
        return None
    for a in range(3, MAX_WITNESS):
        j = gmpy2.jacobi(a, N)
        if j == -1:
            return a
        if j == 0 and a < N:  # a shares a factor with N
            return None
    return None


def proth_test(
    N: mpz, K: int, e: int, residue: str, checked: dict, *, half: mpz | None = None, check: bool = True,
    arith: ModularArithmetic | None = None,
) -> TestOutcome:
    """Proth's theorem for a Fermat probable prime N = K*2^e + 1, K < 2^e: a^((N-1)/2) = -1 for the witness a.

    `half` is 3^((N-1)/2) when the Fermat chain passed through it (reused when the witness is 3). The step is
    Gerbicz-checked: on the special-form loop for small K, else a Gerbicz-Li powmod on `arith` (GFN: the
    base-b transform). `residue` and `checked` are the Fermat test's RES64 and counts, kept on the outcome.
    """
    a = proth_witness(N)
    if a is None and (gmpy2.is_square(N) or gmpy2.gcd(N, gmpy2.primorial(MAX_WITNESS)) > 1):
        return TestOutcome(COMPOSITE, "proth", residue, **checked)
    if a is None:  # no small non-residue (never seen for a prime): no proof, fall back to BPSW
        return probable_prime_outcome(N, residue, checked)
    if a == 3 and half is not None:
        h = half
    elif SpecialModulus.applies(K, e):
        h = GerbiczChain(Reducer(N, K, e, 1), a, K, e - 1, check=check).run()
    else:
        h, _ = checked_powmod(a, (N - 1) // 2, N, check=check, arith=arith)
    if h == N - 1:
        return TestOutcome(PRIME, "proth", residue, certificate={"method": "proth", "witness": a}, **checked)
    return TestOutcome(COMPOSITE, "proth", residue, **checked)
