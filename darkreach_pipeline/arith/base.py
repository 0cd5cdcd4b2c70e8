"""The one arithmetic interface every chain uses: residues mod N, whichever arithmetic holds them.

A Residue is opaque (an mpz for GMP, a digit array for an FFT arithmetic): only the arithmetic that made it
may read it. `square_chain` and `lucas_chain` are the engine's hot loops, from and to plain integers, so an
FFT arithmetic can keep its state in its transform buffers for the whole run. Every implementation returns
the same integers (bit-identical residues whichever arithmetic ran).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, TypeAlias

from gmpy2 import mpz

Residue: TypeAlias = Any


class RoundoffError(ArithmeticError):
    """A squaring's round-off passed the hard limit and no longer FFT length exists: no result is trusted."""


@dataclass
class ArithStats:
    """What an arithmetic has seen: the largest round-off of any product (0 for exact arithmetic) and how
    many times a product was redone at a longer FFT length."""

    max_roe: float = 0.0
    promotions: int = 0


class ModularArithmetic(ABC):
    """Arithmetic modulo N. Subclasses implement the element operations; the two chains default to them."""

    N: mpz
    name: str
    stats: ArithStats

    @abstractmethod
    def from_int(self, x: int) -> Residue: ...

    @abstractmethod
    def to_int(self, r: Residue) -> mpz:
        """The residue as an integer in [0, N)."""

    @abstractmethod
    def square(self, r: Residue) -> Residue: ...

    @abstractmethod
    def multiply(self, a: Residue, b: Residue) -> Residue: ...

    @abstractmethod
    def mul_small(self, r: Residue, c: int) -> Residue: ...

    @abstractmethod
    def sub_small(self, r: Residue, c: int) -> Residue: ...

    def square_chain(self, x: int, count: int) -> mpz:
        """x^(2^count) mod N."""
        r = self.from_int(x)
        for _ in range(count):
            r = self.square(r)
        return self.to_int(r)

    def binary_chain(self, x: int, digit: int, count: int, base: int) -> mpz:
        """x^(2^count) * base^digit mod N (digit < 2^count), left to right: for each bit of digit from the top,
        square, then multiply by the small base when the bit is set (the Gerbicz-Li chain's inner loop)."""
        r = self.from_int(x)
        for i in range(count - 1, -1, -1):
            r = self.square(r)
            if (digit >> i) & 1:
                r = self.mul_small(r, base)
        return self.to_int(r)

    def power(self, x: int, exponent: int) -> mpz:
        """x^exponent mod N for a short exponent (a Pietrzak proof's 64-bit challenges): a 4-bit window on this
        arithmetic's products, about log2(exponent) squarings + log2(exponent)/4 + 14 multiplications."""
        if exponent < 1:
            return mpz(1) % self.N
        base = self.from_int(x)
        table = [base, base]
        for _ in range(14):
            table.append(self.multiply(table[-1], base))
        out = None
        for shift in range(((exponent.bit_length() + 3) // 4) * 4 - 4, -4, -4):
            if out is not None:
                for _ in range(4):
                    out = self.square(out)
            digit = (exponent >> shift) & 15
            if digit:
                out = table[digit] if out is None else self.multiply(out, table[digit])
        return self.to_int(out)

    def lucas_chain(self, u: int, count: int) -> mpz:
        """u after `count` steps of u <- u^2 - 2 mod N (the LLR recurrence)."""
        r = self.from_int(u)
        for _ in range(count):
            r = self.sub_small(self.square(r), 2)
        return self.to_int(r)
