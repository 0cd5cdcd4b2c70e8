"""GMP arithmetic: the special-form shift reduction for K*2^e+-1 with small K, else a general `% N`.

Bit-identical to the engine's loops before the arithmetic layer existed (it calls the same SpecialModulus).
"""

from __future__ import annotations

import gmpy2
from gmpy2 import mpz

from darkreach_pipeline.arith.base import ArithStats, ModularArithmetic
from darkreach_pipeline.primality.special_form import SpecialModulus


class GMPArithmetic(ModularArithmetic):
    """Residues are mpz in [0, N)."""

    name = "gmp"

    def __init__(self, N: int, K: int | None = None, e: int | None = None, c: int | None = None):
        self.N = mpz(N)
        if self.N < 2:
            raise ValueError(f"modulus N must be >= 2, got {N}")
        self.special = (
            SpecialModulus(K, e, c)
            if K is not None and e is not None and c in (1, -1) and SpecialModulus.applies(K, e)
            else None
        )
        if self.special is not None and self.special.N != self.N:
            raise ValueError(f"K*2^e+c = {K}*2^{e}{c:+d} does not equal N: pass the modulus's own K, e, c")
        self.stats = ArithStats()

    def _reduce(self, y: mpz) -> mpz:
        return self.special.reduce(y) if self.special else y % self.N

    def from_int(self, x: int) -> mpz:
        return mpz(x) % self.N

    def to_int(self, r: mpz) -> mpz:
        return r

    def square(self, r: mpz) -> mpz:
        return self._reduce(r * r)

    def multiply(self, a: mpz, b: mpz) -> mpz:
        return self._reduce(a * b)

    def mul_small(self, r: mpz, c: int) -> mpz:
        return r * c % self.N

    def sub_small(self, r: mpz, c: int) -> mpz:
        return (r - c) % self.N

    def square_chain(self, x: int, count: int) -> mpz:
        x = mpz(x) % self.N
        if self.special:
            return self.special.square_chain(x, count)
        return pow(x, mpz(1) << count, self.N) if count else x

    def binary_chain(self, x: int, digit: int, count: int, base: int) -> mpz:
        x, reduce = mpz(x) % self.N, self._reduce
        for i in range(count - 1, -1, -1):
            x = reduce(x * x)
            if (digit >> i) & 1:
                x = x * base % self.N
        return x

    def power(self, x: int, exponent: int) -> mpz:
        """gmpy2.powmod for a modulus of no special shape (any exponent: a negative one inverts, as P-1's stage 2
        relies on); the special-form window of the base class otherwise."""
        return super().power(x, exponent) if self.special else gmpy2.powmod(x, exponent, self.N)

    def power_residue(self, r: mpz, exponent: int) -> mpz:
        """The special-form sliding window of the base class; gmpy2.powmod (Montgomery) for a modulus of no special
        shape."""
        return super().power_residue(r, exponent) if self.special else gmpy2.powmod(r, exponent, self.N)

    def lucas_chain(self, u: int, count: int) -> mpz:
        u = mpz(u) % self.N
        if self.special:
            return self.special.lucas_chain(u, count)
        return super().lucas_chain(u, count)
