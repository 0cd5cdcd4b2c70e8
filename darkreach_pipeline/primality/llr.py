"""Lucas-Lehmer-Riesel test for N = K*2^e - 1, K odd, K < 2^e, with Rodseth's start value."""

from __future__ import annotations

import gmpy2
from gmpy2 import mpz

from darkreach_pipeline.arith.base import RoundoffError
from darkreach_pipeline.arith.gmp import GMPArithmetic
from darkreach_pipeline.arith.select import arithmetic_for
from darkreach_pipeline.primality.fermat import probable_prime_outcome
from darkreach_pipeline.primality.outcome import COMPOSITE, PRIME, TestOutcome

MAX_P = 10_000


def llr_applies(K: int, e: int) -> bool:
    return K % 2 == 1 and e >= 3 and K < (1 << e)


def rodseth_p(N: mpz) -> int | None:
    """P with Jacobi(P-2, N) = +1 and Jacobi(P+2, N) = -1, chosen as LLR does: P = 4 when it qualifies
    (always when 3 does not divide K and 3 does not divide N), else the smallest such P >= 3.

    Trying 4 first matters: the smallest qualifying P is 3 whenever Jacobi(5, N) = -1, also for K
    not divisible by 3 (2^7-1), where LLR and the docstring use P = 4.
    """
    for P in (4, *range(3, MAX_P)):
        if gmpy2.jacobi(P - 2, N) == 1 and gmpy2.jacobi(P + 2, N) == -1:
            return P
    return None


def llr_is_prime(K: int, e: int, P: int) -> bool:
    """Run u0 = V_K(P, 1), u <- u^2 - 2 (e-2 times); N is prime iff the last u is 0.

    No Gerbicz check covers a V^2 - 2 chain, and LLR runs only on Fermat probable primes, so a "composite"
    from an FFT arithmetic (or its round-off failing at every length) is redone in GMP before it is believed:
    an FFT error can never lose a prime here (a false "prime" is caught by the independent verifier)."""
    N = (mpz(K) << e) - 1
    u = gmpy2.lucasv_mod(P, 1, K, N)
    arith = arithmetic_for(N, K, e, -1)
    if not isinstance(arith, GMPArithmetic):
        try:
            if arith.lucas_chain(u, e - 2) == 0:
                return True
        except RoundoffError:
            pass
    return GMPArithmetic(N, K, e, -1).lucas_chain(u, e - 2) == 0


def llr_test(N: mpz, K: int, e: int, residue: str, checked: dict) -> TestOutcome:
    """LLR proof of a Fermat probable prime N = K*2^e - 1, K < 2^e; a labelled PRP when no P qualifies."""
    P = rodseth_p(N)
    if P is None:
        return probable_prime_outcome(N, residue, checked)
    if llr_is_prime(K, e, P):
        return TestOutcome(PRIME, "llr", residue, certificate={"method": "llr", "P": P}, **checked)
    return TestOutcome(COMPOSITE, "llr", residue, **checked)
