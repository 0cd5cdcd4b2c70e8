"""Re-check a certificate by a path that shares no code with the test that produced it.

The tests use the special-form squaring loop and gmpy2's Lucas and BPSW routines; the verifier
uses gmpy2.powmod's generic Montgomery arithmetic, its own Lucas ladder, and a deterministic
Miller-Rabin below 2^64. A certificate that fails here is never reported as proven.
"""

from __future__ import annotations

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


def lucas_v(P: int, K: int, N: mpz) -> mpz:
    """V_K(P, 1) mod N by the ladder (V_j, V_{j+1}) -> (V_2j, V_2j+1) or (V_2j+1, V_2j+2)."""
    v0, v1 = mpz(2), mpz(P) % N
    for bit in bin(K)[2:]:
        if bit == "1":
            v0, v1 = (v0 * v1 - P) % N, (v1 * v1 - 2) % N
        else:
            v0, v1 = (v0 * v0 - 2) % N, (v0 * v1 - P) % N
    return v0


def lucas_u(P: int, Q: int, k: int, N: mpz) -> mpz:
    """U_k(P, Q) mod N from the ladder (V_j, V_j+1, Q^j): U_k = (2 V_k+1 - P V_k) / D, D = P^2 - 4Q."""
    v0, v1, qk = mpz(2), mpz(P) % N, mpz(1)
    for bit in bin(k)[2:] if k else "":
        if bit == "1":
            v0, v1, qk = (v0 * v1 - P * qk) % N, (v1 * v1 - 2 * qk * Q) % N, qk * qk * Q % N
        else:
            v0, v1, qk = (v0 * v0 - 2 * qk) % N, (v0 * v1 - P * qk) % N, qk * qk % N
    return (2 * v1 - P * v0) * gmpy2.invert(P * P - 4 * Q, N) % N


def _factored_part(M: mpz, primes: list[int]) -> tuple[mpz, str]:
    """The part of M made of the certificate's primes, each checked prime; '' or the reason it fails."""
    F = mpz(1)
    for q in primes:
        if q >= 3 * 10**24 or not miller_rabin_deterministic(q):
            return F, f"{q} is not a proven prime"
        if M % q:
            return F, f"{q} does not divide"
        while M % q == 0:
            M //= q
            F *= q
    return F, ""


def verify_pocklington(N: mpz, certificate: dict[str, Any]) -> tuple[bool, str]:
    """N-1 = F*R with F^2 > N, and per prime q of F a base a: a^(N-1) = 1, gcd(a^((N-1)/q) - 1, N) = 1."""
    primes = [int(q) for q in certificate["primes"]]
    bases = {int(q): int(a) for q, a in certificate["bases"].items()}
    F, problem = _factored_part(N - 1, primes)
    if problem:
        return False, f"N-1: {problem}"
    if F * F <= N:
        return False, "the factored part of N-1 is below sqrt(N)"
    for q in primes:
        a = bases.get(q)
        if a is None or gmpy2.powmod(a, N - 1, N) != 1:
            return False, f"base for {q} missing or a^(N-1) != 1"
        if gmpy2.gcd(gmpy2.powmod(a, (N - 1) // q, N) - 1, N) != 1:
            return False, f"gcd(a^((N-1)/{q}) - 1, N) != 1"
    return True, f"Pocklington: N-1 factored part of {F.bit_length()} bits, {len(primes)} primes"


def verify_morrison(N: mpz, certificate: dict[str, Any]) -> tuple[bool, str]:
    """N+1 = F*R with (F-1)^2 > N, one (P, Q) with (P^2-4Q / N) = -1, gcd(N, Q) = 1: N | U_(N+1) and
    gcd(U_((N+1)/q), N) = 1 for every prime q of F."""
    primes, P, Q = [int(q) for q in certificate["primes"]], int(certificate["P"]), int(certificate["Q"])
    F, problem = _factored_part(N + 1, primes)
    if problem:
        return False, f"N+1: {problem}"
    if (F - 1) ** 2 <= N:
        return False, "the factored part of N+1 is below sqrt(N)+1"
    if gmpy2.jacobi(P * P - 4 * Q, N) != -1 or gmpy2.gcd(Q, N) != 1:
        return False, f"(P^2-4Q / N) != -1 or gcd(Q, N) != 1 for P = {P}, Q = {Q}"
    if lucas_u(P, Q, N + 1, N) != 0:
        return False, "U_(N+1) != 0 mod N"
    for q in primes:
        if gmpy2.gcd(lucas_u(P, Q, (N + 1) // q, N), N) != 1:
            return False, f"gcd(U_((N+1)/{q}), N) != 1"
    return True, f"Morrison: N+1 factored part of {F.bit_length()} bits, P = {P}, Q = {Q}"


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
        return gmpy2.powmod(a, (N - 1) // 2, N) == N - 1, f"{a}^((N-1)/2) = -1 mod N"
    if method == "llr":
        P = int(certificate["P"])
        if c != -1 or K % 2 == 0 or K >= (1 << e) or e < 3:
            return False, "LLR needs N = K*2^e-1 with odd K < 2^e, e >= 3"
        if gmpy2.jacobi(P - 2, N) != 1 or gmpy2.jacobi(P + 2, N) != -1:
            return False, f"P = {P} does not satisfy Rodseth's Jacobi conditions"
        u = lucas_v(P, K, N)
        for _ in range(e - 2):
            u = (u * u - 2) % N
        return u == 0, f"LLR with P = {P}: u(e-2) = 0"
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
