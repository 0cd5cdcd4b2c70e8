"""Re-check a certificate by a path that shares no code with the test that produced it.

The tests square on the arithmetic layer (the weighted FFT from a few thousand bits, else the
special-form loop) and use gmpy2's Lucas and BPSW routines; the verifier squares K*2^e+-1 with a
shape reduction of its own (plain GMP, no FFT), uses gmpy2.powmod's generic Montgomery arithmetic
elsewhere, its own Lucas ladder, and a deterministic Miller-Rabin below 2^64. A certificate that
fails here is never reported as proven.
"""

from __future__ import annotations

import math
from typing import Any

import gmpy2
from gmpy2 import mpz

from darkreach_pipeline.primality.special_form import split_power_of_two

# Miller-Rabin with these bases is deterministic below 3.3e24 (Sorenson & Webster 2015).
MR_BASES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41)


def strong_probable_prime(N: int, a: int) -> bool:
    """One Miller-Rabin round to base a (N odd, > a), with generic powmod arithmetic."""
    d, s = N - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    x = gmpy2.powmod(a, d, N)
    if x in (1, N - 1):
        return True
    for _ in range(s - 1):
        x = x * x % N
        if x == N - 1:
            return True
    return False


def miller_rabin_deterministic(N: int) -> bool:
    if N < 2:
        return False
    for p in MR_BASES:
        if N % p == 0:
            return N == p
    return all(strong_probable_prime(N, a) for a in MR_BASES)


def shape_squarings(x: mpz, count: int, K: int, e: int, c: int, minus: int = 0) -> mpz:
    """count steps x <- x^2 - minus modulo N = K*2^e + c (c = +-1): the quotient of y by N is within one or
    two of (y >> e) // K, so a step is one full multiplication, as fast as the prover's GMP loop. Written
    apart from the prover's reduction (primality/special_form.py) so that the two share no code."""
    N = (mpz(K) << e) + c
    for _ in range(count):
        y = x * x - minus
        q = (y >> e) // K
        x = y - ((q * K) << e) - q * c
        while x < 0:
            x += N
        while x >= N:
            x -= N
    return x


def lucas_v(P: int, K: int, N: mpz) -> mpz:
    """V_K(P, 1) mod N by the ladder (V_j, V_{j+1}) -> (V_2j, V_2j+1) or (V_2j+1, V_2j+2)."""
    v0, v1 = mpz(2), mpz(P) % N
    for bit in bin(K)[2:]:
        if bit == "1":
            v0, v1 = (v0 * v1 - P) % N, (v1 * v1 - 2) % N
        else:
            v0, v1 = (v0 * v0 - 2) % N, (v0 * v1 - P) % N
    return v0


def lucas_vq(P: int, Q: int, k: int, N: mpz) -> tuple[mpz, mpz, mpz]:
    """(V_k, V_k+1, Q^k) of the Lucas sequence (P, Q) mod N, by the ladder over the bits of k."""
    v0, v1, qk = mpz(2), mpz(P) % N, mpz(1)
    for bit in bin(k)[2:] if k else "":
        if bit == "1":
            v0, v1, qk = (v0 * v1 - P * qk) % N, (v1 * v1 - 2 * qk * Q) % N, qk * qk * Q % N
        else:
            v0, v1, qk = (v0 * v0 - 2 * qk) % N, (v0 * v1 - P * qk) % N, qk * qk % N
    return v0, v1, qk


def lucas_u(P: int, Q: int, k: int, N: mpz) -> mpz:
    """U_k(P, Q) mod N = (2 V_k+1 - P V_k) / D, D = P^2 - 4Q."""
    v0, v1, _ = lucas_vq(P, Q, k, N)
    return (2 * v1 - P * v0) * gmpy2.invert(P * P - 4 * Q, N) % N


def _cofactor_powers(value, exponents: list[tuple[int, int]], raise_to) -> dict[int, Any]:
    """{q: value^(F/q)} for F = prod q^e: halve the list, raise to the other half's product, recurse.
    (The prover has its own tree; this one is kept separate on purpose.)"""
    if len(exponents) == 1:
        q, e = exponents[0]
        return {q: raise_to(value, q ** (e - 1))}
    middle = len(exponents) // 2
    low, high = exponents[:middle], exponents[middle:]
    out = _cofactor_powers(raise_to(value, math.prod(q**e for q, e in high)), low, raise_to)
    out.update(_cofactor_powers(raise_to(value, math.prod(q**e for q, e in low)), high, raise_to))
    return out


def _factored_part(M: mpz, primes: list[int]) -> tuple[list[tuple[int, int]], mpz, str]:
    """[(q, exponent)] and F for the certificate's primes in M, each checked prime; '' or why it fails."""
    exponents, F = [], mpz(1)
    for q in primes:
        if q >= 3 * 10**24 or not miller_rabin_deterministic(q):
            return exponents, F, f"{q} is not a proven prime"
        e = 0
        while M % q == 0:
            M //= q
            e += 1
        if not e:
            return exponents, F, f"{q} does not divide"
        exponents.append((q, e))
        F *= mpz(q) ** e
    return exponents, F, ""


def _by_witness(primes: list[int], witness_of) -> dict[Any, list[int]]:
    groups: dict[Any, list[int]] = {}
    for q in primes:
        groups.setdefault(witness_of(q), []).append(q)
    return groups


def verify_pocklington(N: mpz, certificate: dict[str, Any]) -> tuple[bool, str]:
    """N-1 = F*R with F^2 > N, and per prime q of F a base a: a^(N-1) = 1, gcd(a^((N-1)/q) - 1, N) = 1.
    The powers of one base for all its primes come from one tree of exponentiations."""
    primes = [int(q) for q in certificate["primes"]]
    bases = {int(q): int(a) for q, a in certificate["bases"].items()}
    exponents, F, problem = _factored_part(N - 1, primes)
    if problem:
        return False, f"N-1: {problem}"
    if F * F <= N:
        return False, "the factored part of N-1 is below sqrt(N)"
    if any(q not in bases for q in primes):
        return False, "a prime of F has no base"
    powers = dict(exponents)
    for a, group in _by_witness(primes, bases.get).items():
        part = math.prod(q ** powers[q] for q in group)
        x = gmpy2.powmod(a, (N - 1) // part, N)
        if gmpy2.powmod(x, part, N) != 1:
            return False, f"{a}^(N-1) != 1 mod N"
        tree = _cofactor_powers(x, [(q, powers[q]) for q in group], lambda y, k: gmpy2.powmod(y, k, N))
        for q, y in tree.items():
            if gmpy2.gcd(y - 1, N) != 1:
                return False, f"gcd({a}^((N-1)/{q}) - 1, N) != 1"
    return True, f"Pocklington: N-1 factored part of {F.bit_length()} bits, {len(primes)} primes"


def verify_morrison(N: mpz, certificate: dict[str, Any]) -> tuple[bool, str]:
    """N+1 = F*R with (F-1)^2 > N, and one discriminant D with (D/N) = -1: for each prime q of F a
    sequence (P, Q) with P^2 - 4Q = D, gcd(Q, N) = 1, N | U_(N+1), gcd(U_((N+1)/q), N) = 1.
    ("P", "Q" is the pair of every q not listed in "lucas".) gcd(U_k, N) = gcd(V_k^2 - 4Q^k, N)
    because V_k^2 - 4Q^k = D U_k^2 and gcd(D, N) = 1, so one tree of V values serves all q."""
    primes, P, Q = [int(q) for q in certificate["primes"]], int(certificate["P"]), int(certificate["Q"])
    pairs = {int(q): (int(pq[0]), int(pq[1])) for q, pq in certificate.get("lucas", {}).items()}
    exponents, F, problem = _factored_part(N + 1, primes)
    if problem:
        return False, f"N+1: {problem}"
    if (F - 1) ** 2 <= N:
        return False, "the factored part of N+1 is below sqrt(N)+1"
    D = P * P - 4 * Q
    if gmpy2.jacobi(D, N) != -1:
        return False, f"(D / N) != -1 for D = {D}"
    powers = dict(exponents)
    for (Pq, Qq), group in _by_witness(primes, lambda q: pairs.get(q, (P, Q))).items():
        if Pq * Pq - 4 * Qq != D or gmpy2.gcd(Qq, N) != 1:
            return False, f"P = {Pq}, Q = {Qq}: another discriminant, or gcd(Q, N) != 1"
        if lucas_u(Pq, Qq, N + 1, N) != 0:
            return False, f"U_(N+1) != 0 mod N for P = {Pq}, Q = {Qq}"
        part = math.prod(q ** powers[q] for q in group)
        v, _, qk = lucas_vq(Pq, Qq, (N + 1) // part, N)

        def raise_to(pair, k):  # V_jk(P, Q) = V_j(V_k, Q^k)
            v1, q1 = pair
            return lucas_vq(v1, q1, k, N)[0], gmpy2.powmod(q1, k, N)

        for q, (vq, qq) in _cofactor_powers((v, qk), [(q, powers[q]) for q in group], raise_to).items():
            if gmpy2.gcd(vq * vq - 4 * qq, N) != 1:
                return False, f"gcd(U_((N+1)/{q}), N) != 1"
    return True, f"Morrison: N+1 factored part of {F.bit_length()} bits, D = {D}"


def verify_proof(N: mpz, certificate: dict[str, Any]) -> tuple[bool, str]:
    """Is `certificate` a valid proof that N is prime? Every number the certificate relies on is derived
    from N itself (Proth's K*2^e+1 and LLR's K*2^e-1 from the powers of two of N-1 and N+1)."""
    N = mpz(N)
    method = certificate.get("method")
    if N < 2:
        return False, "N < 2"
    try:
        if method in ("proth", "llr"):
            c = 1 if method == "proth" else -1
            e = gmpy2.bit_scan1(N - c)
            return verify_kbn(int((N - c) >> e), 2, c, int(e), certificate)
        if method == "bpsw-below-2^64":
            return verify_kbn(int(N - 1), 1, 1, 0, certificate)
        if method == "ecpp":  # PARI's primecertisvalid; imported here so cypari2 loads only when needed
            from darkreach_pipeline.proofs.ecpp import verify_ecpp

            return verify_ecpp(N, certificate.get("certificate"))
        if method in ("pocklington", "morrison"):
            return (verify_pocklington if method == "pocklington" else verify_morrison)(N, certificate)
    except (KeyError, TypeError, ValueError) as exc:
        return False, f"malformed {method} certificate: {exc!r}"
    return False, f"no proof: method {method!r} is not a primality proof"


def verify_kbn(k: int, b: int, c: int, n: int, certificate: dict[str, Any]) -> tuple[bool, str]:
    """Is `certificate` a valid proof that k*b^n + c is prime? Returns (ok, reason)."""
    N = mpz(k) * mpz(b) ** n + c
    K, e = split_power_of_two(k, b, n)
    method = certificate.get("method")
    if method == "bpsw-below-2^64":
        if N >= 2**64:
            return False, "N is not below 2^64"
        return (miller_rabin_deterministic(int(N)), "deterministic Miller-Rabin, 13 bases")
    if method == "proth":
        a = int(certificate["witness"])
        if c != 1 or K % 2 == 0 or K >= (1 << e):
            return False, "Proth's theorem needs N = K*2^e+1 with odd K < 2^e"
        half = shape_squarings(gmpy2.powmod(a, K, N), e - 1, K, e, 1)
        return half == N - 1, f"{a}^((N-1)/2) = -1 mod N"
    if method == "llr":
        P = int(certificate["P"])
        if c != -1 or K % 2 == 0 or K >= (1 << e) or e < 3:
            return False, "LLR needs N = K*2^e-1 with odd K < 2^e, e >= 3"
        if gmpy2.jacobi(P - 2, N) != 1 or gmpy2.jacobi(P + 2, N) != -1:
            return False, f"P = {P} does not satisfy Rodseth's Jacobi conditions"
        return shape_squarings(lucas_v(P, K, N), e - 2, K, e, -1, minus=2) == 0, f"LLR with P = {P}: u(e-2) = 0"
    return False, f"no proof: method {method!r} is not a primality proof"


def verify_probable_prime(numbers: list[mpz], useless: frozenset[int] = frozenset()) -> tuple[bool, str]:
    """Re-check probable primes with strong tests in three bases other than the test's (3) and
    other than the bases every number of the form passes."""
    bases = tuple(a for a in (5, 7, 11, 13, 17, 19) if a not in useless)[:3]
    for N in numbers:
        for a in bases:
            if N != a and not strong_probable_prime(N, a):
                return False, f"fails the strong test to base {a}: composite"
    return True, f"strong probable prime to bases {bases} (not a proof)"
