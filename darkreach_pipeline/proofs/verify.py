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


def verify_probable_prime(N: mpz) -> tuple[bool, str]:
    """Re-check a probable prime with strong tests in other bases than the test used (3)."""
    bases = (5, 7, 11)
    for a in bases:
        if not strong_probable_prime(N, a):
            return False, f"fails the strong test to base {a}: composite"
    return True, f"strong probable prime to bases {bases} (not a proof)"
