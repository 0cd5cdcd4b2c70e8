"""Classical primality proofs from a factored part of N-1 (Pocklington) or N+1 (Morrison).

n!+1, p#+1 and b^(2^m)+1 have N-1 fully factored; n!-1, p#-1 and Carol/Kynea numbers have N+1
(partly) factored. When the factored part F of N-1 or N+1 exceeds sqrt(N) (+1), one Fermat-style
condition per prime q of F proves N prime. The powers for all q come from one exponentiation
split down a product tree (x^(F/q) for every q costs ~log2(#q) exponentiations, not #q).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import gmpy2
from gmpy2 import mpz

from darkreach_pipeline.primality.outcome import COMPOSITE, PRIME, PROBABLE_PRIME

MAX_BASES = 60  # bases tried per prime of F before giving up (never needed for a prime in practice)


def factored_part(M: mpz, primes: Iterable[int]) -> tuple[mpz, dict[int, int]]:
    """F = the part of M made of `primes` (full prime powers), and its factorization {q: exponent}."""
    F, exponents = mpz(1), {}
    for q in sorted(set(int(q) for q in primes)):
        M, e = gmpy2.remove(M, q)
        if e:
            F *= mpz(q) ** e
            exponents[q] = e
    return F, exponents


def _split_powers(x: mpz, factors: list[tuple[int, int]], power, N: mpz) -> dict[int, mpz]:
    """{q: x^(F/q)} for F = prod q^e, by a product tree; power(x, k) raises x to k mod N."""
    if len(factors) == 1:
        q, e = factors[0]
        return {q: power(x, mpz(q) ** (e - 1))}
    half = len(factors) // 2
    left, right = factors[:half], factors[half:]
    out = _split_powers(power(x, _prod(right)), left, power, N)
    out.update(_split_powers(power(x, _prod(left)), right, power, N))
    return out


def _prod(factors: list[tuple[int, int]]) -> mpz:
    result = mpz(1)
    for q, e in factors:
        result *= mpz(q) ** e
    return result


def _settle(
    todo: list[tuple[int, int]], residues: dict[int, mpz], N: mpz, found: dict[int, Any], witness: Any
) -> list[tuple[int, int]] | None:
    """Sort the open primes q of F by gcd(residues[q], N): 1 settles q with `witness` (into `found`), N leaves q
    open for the next witness, anything else is a factor of N (None: N is composite)."""
    remaining = []
    for q, e in todo:
        g = gmpy2.gcd(residues[q], N)
        if g == 1:
            found[q] = witness
        elif g == N:
            remaining.append((q, e))
        else:
            return None
    return remaining


def pocklington(N: mpz, primes: Iterable[int]) -> tuple[str, dict]:
    """Prove N prime from N-1 = F*R with F^2 > N: for each q | F a base a with a^(N-1) = 1 and
    gcd(a^((N-1)/q) - 1, N) = 1. Returns (PRIME, certificate), (COMPOSITE, {}) or (PROBABLE_PRIME, {})
    when F is too small or no base was found (then nothing is claimed).

    Bases are primes with Jacobi symbol (a/N) = -1 first: for q = 2 only a non-residue can work,
    and for N = n!+1 every base <= n is a residue, so bases are searched past that point cheaply.
    """
    N = mpz(N)
    F, exponents = factored_part(N - 1, primes)
    if F * F <= N:
        return PROBABLE_PRIME, {}
    bases: dict[int, int] = {}
    todo = sorted(exponents.items())
    a = 1
    for _ in range(MAX_BASES):
        a = int(gmpy2.next_prime(a))
        while gmpy2.jacobi(a, N) != -1 and a < 10**6:
            if gmpy2.jacobi(a, N) == 0 and a < N:
                return COMPOSITE, {}
            a = int(gmpy2.next_prime(a))
        F_todo = _prod(todo)  # x = a^((N-1)/F_todo), so the tree gives a^((N-1)/q) for the q still open
        x = gmpy2.powmod(a, (N - 1) // F_todo, N)
        if gmpy2.powmod(x, F_todo, N) != 1:
            return COMPOSITE, {}
        powers = _split_powers(x, todo, lambda y, k: gmpy2.powmod(y, k, N), N)
        todo = _settle(todo, {q: powers[q] - 1 for q, _ in todo}, N, bases, a)
        if todo is None:
            return COMPOSITE, {}
        if not todo:
            return PRIME, {"method": "pocklington", "primes": sorted(exponents), "bases": {str(q): bases[q] for q in
                                                                                            sorted(bases)}}
    return PROBABLE_PRIME, {}


def _lucas_vq(pair: tuple[mpz, mpz], k: mpz, N: mpz) -> tuple[mpz, mpz]:
    """(V_k, Q^k) of the sequence with V_1 = pair[0], Q = pair[1]: V_jk(P, Q) = V_j(V_k(P, Q), Q^k)."""
    v, Q = pair
    if k == 0:
        return mpz(2), mpz(1)
    if (v * v - 4 * Q) % N == 0:  # degenerate (gmpy2 refuses D = 0): then V_k = 2 (v/2)^k
        half = v * gmpy2.invert(2, N) % N
        return 2 * gmpy2.powmod(half, k, N) % N, gmpy2.powmod(Q, k, N)
    return gmpy2.lucasv_mod(v, Q, k, N), gmpy2.powmod(Q, k, N)


def morrison(N: mpz, primes: Iterable[int]) -> tuple[str, dict]:
    """Prove N prime from N+1 = F*R with (F-1)^2 > N: one discriminant D with (D/N) = -1 and, for each
    q | F, a Lucas sequence (P, Q) with P^2 - 4Q = D, gcd(N, Q) = 1, N | U_(N+1) and
    gcd(U_((N+1)/q), N) = 1. The discriminant must be the same for all q (the F | p -+ 1 argument
    needs one (D/p)); P and Q may differ, so only the q that failed are retried with another P.

    For q = 2, U_((N+1)/2) = 0 exactly when (Q/N) = 1, so the first Q is a non-residue. V_jk(P,Q) =
    V_j(V_k, Q^k) and V_k^2 - 4Q^k = D*U_k^2 let one product tree give every gcd. Same return
    convention as pocklington().
    """
    N = mpz(N)
    F, exponents = factored_part(N + 1, primes)
    if (F - 1) ** 2 <= N or N % 2 == 0:
        return PROBABLE_PRIME, {}
    Q, P = 2, 1
    while gmpy2.jacobi(Q, N) != -1 and Q < 10**6:
        Q = int(gmpy2.next_prime(Q))
    while gmpy2.jacobi(P * P - 4 * Q, N) != -1 and P < 10**6:  # cheap; for n!-1 every small D is fixed
        if gmpy2.gcd(P * P - 4 * Q, N) not in (1, N):
            return COMPOSITE, {}
        P += 1
    D = P * P - 4 * Q
    pairs: dict[int, tuple[int, int]] = {}
    todo = sorted(exponents.items())
    Pq, Qq = P, Q
    for _ in range(MAX_BASES):
        if gmpy2.gcd(Qq, N) == 1:
            if gmpy2.lucasu_mod(Pq, Qq, N + 1, N) != 0:
                return COMPOSITE, {}
            part = _prod(todo)
            start = _lucas_vq((mpz(Pq), mpz(Qq)), (N + 1) // part, N)
            values = _split_powers(start, todo, lambda pair, k: _lucas_vq(pair, k, N), N)
            # V_k^2 - 4Q^k = D*U_k^2: its gcd with N is U_k's
            todo = _settle(todo, {q: v * v - 4 * Qk for q, (v, Qk) in values.items()}, N, pairs, (Pq, Qq))
            if todo is None:
                return COMPOSITE, {}
            if not todo:
                extra = {str(q): list(pq) for q, pq in sorted(pairs.items()) if pq != (P, Q)}
                return PRIME, {"method": "morrison", "primes": sorted(exponents), "P": P, "Q": Q,
                               **({"lucas": extra} if extra else {})}
        Pq += 2  # the same discriminant: Q = (P^2 - D) / 4
        Qq = (Pq * Pq - D) // 4
    return PROBABLE_PRIME, {}
