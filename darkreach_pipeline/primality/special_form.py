"""Modular squaring for N = K*2^e + c (c = +1 or -1) without a general division.

For y = x^2 < N^2 the quotient y // N is estimated by (y >> e) // K, which is off by at most one,
so one correction step finishes the reduction. Only x*x is a full-size multiplication: measured
2.3-3.5x faster than gmpy2.powmod with bit-identical residues (benchmarks/RESULTS.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import gmpy2
from gmpy2 import mpz

# Above this size the quotient estimate's division by K costs as much as a general reduction.
MAX_SPECIAL_K_BITS = 64


def split_power_of_two(k: int, b: int, n: int) -> tuple[int, int]:
    """Write k*b^n = K*2^e with K odd; returns (K, e)."""
    kb_twos = (k & -k).bit_length() - 1
    b_twos = (b & -b).bit_length() - 1
    odd = (k >> kb_twos) * pow(b >> b_twos, n)
    return odd, kb_twos + n * b_twos


@dataclass(frozen=True)
class SpecialModulus:
    """N = K*2^e + c with small odd K: fast reduction of products below N^2."""

    K: int
    e: int
    c: int

    @cached_property
    def N(self) -> mpz:
        return (mpz(self.K) << self.e) + self.c

    @staticmethod
    def applies(K: int, e: int) -> bool:
        return e >= 1 and K.bit_length() <= MAX_SPECIAL_K_BITS

    def reduce(self, y: mpz) -> mpz:
        """y mod N for 0 <= y < N^2 (a product of two residues)."""
        K, e = self.K, self.e
        q = (y >> e) // K if K != 1 else y >> e
        if self.c == 1:
            x = y - ((q * K) << e) - q
            return x + self.N if x < 0 else x
        x = y - ((q * K) << e) + q
        return x - self.N if x >= self.N else x

    def square_chain(self, x: mpz, count: int) -> mpz:
        """Return x^(2^count) mod N by `count` special-form squarings."""
        K, e, N = self.K, self.e, self.N
        if self.c == 1:
            for _ in range(count):
                y = x * x
                q = (y >> e) // K if K != 1 else y >> e
                x = y - ((q * K) << e) - q
                if x < 0:
                    x += N
        else:
            for _ in range(count):
                y = x * x
                q = (y >> e) // K if K != 1 else y >> e
                x = y - ((q * K) << e) + q
                if x >= N:
                    x -= N
        return x

    def lucas_chain(self, u: mpz, count: int) -> mpz:
        """Return u after `count` steps of u <- u^2 - 2 mod N (the LLR recurrence)."""
        K, e, N = self.K, self.e, self.N
        for _ in range(count):
            if u < 2:  # u^2 - 2 < 0: rare, reduce generically
                u = (u * u - 2) % N
                continue
            y = u * u - 2
            q = (y >> e) // K if K != 1 else y >> e
            if self.c == 1:
                u = y - ((q * K) << e) - q
                if u < 0:
                    u += N
            else:
                u = y - ((q * K) << e) + q
                if u >= N:
                    u -= N
        return u


def power_chain(base: int, K: int, e: int, N: mpz) -> mpz:
    """base^(K*2^e) mod N, with the special loop when N = K*2^E +- 1 for some E >= e.

    E may exceed e: the Proth step needs a^((N-1)/2) = a^(K*2^(E-1)) modulo N = K*2^E + 1.
    """
    x = gmpy2.powmod(base, K, N)
    for c in (1, -1):
        E = (N - c).bit_length() - K.bit_length()
        if E >= e and (mpz(K) << E) + c == N and SpecialModulus.applies(K, E):
            return SpecialModulus(K, E, c).square_chain(x, e)
    return gmpy2.powmod(x, mpz(1) << e, N)
