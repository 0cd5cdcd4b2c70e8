"""The one arithmetic interface every chain uses: residues mod N, whichever arithmetic holds them.

A Residue is opaque (an mpz for GMP, a digit array for an FFT arithmetic): only the arithmetic that made it
may read it. `square_chain` and `lucas_chain` are the engine's hot loops, from and to plain integers, so an
FFT arithmetic can keep its state in its transform buffers for the whole run. Every implementation returns
the same integers (bit-identical residues whichever arithmetic ran).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
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
        """x^exponent mod N for a short exponent (a Pietrzak proof's 64-bit challenges, P-1's stage 1 bits)."""
        if exponent < 1:
            return mpz(1) % self.N
        return self.to_int(self.power_residue(self.from_int(x), exponent))

    def power_residue(self, r: Residue, exponent: int) -> Residue:
        """r^exponent (exponent >= 1) on this arithmetic's own residues, by a sliding window (window_plan): about
        log2(exponent) squarings, log2(exponent)/(w+1) multiplications and a table of 2^(w-1) odd powers."""
        first, ops = window_plan(exponent)
        table = odd_powers(r, max(first, *(v for _, v in ops)) if ops else first, self.square, self.multiply)
        acc = table[first]
        for squarings, value in ops:
            for _ in range(squarings):
                acc = self.square(acc)
            if value:
                acc = self.multiply(acc, table[value])
        return acc

    def lucas_chain(self, u: int, count: int) -> mpz:
        """u after `count` steps of u <- u^2 - 2 mod N (the LLR recurrence)."""
        r = self.from_int(u)
        for _ in range(count):
            r = self.sub_small(self.square(r), 2)
        return self.to_int(r)


def window_bits(bits: int) -> int:
    """The window w minimising bits/(w+1) multiplications plus a table of 2^(w-1) odd powers (a product costs
    about a squaring): 3 for 64-bit exponents, 4-5 for a few hundred bits."""
    return min(range(1, 9), key=lambda w: bits / (w + 1) + (1 << (w - 1)))


def window_plan(exponent: int, w: int | None = None) -> tuple[int, list[tuple[int, int]]]:
    """Left-to-right sliding windows of `exponent` (>= 1): (first, [(squarings, value), ...]) such that starting
    from acc = x^first, acc <- acc^(2^squarings) * x^value (value odd, < 2^w, or 0: squarings only) ends at
    x^exponent."""
    w = w or window_bits(exponent.bit_length())
    i, first, pending, ops = exponent.bit_length() - 1, 0, 0, []
    while i >= 0:
        if not (exponent >> i) & 1:
            pending, i = pending + 1, i - 1
            continue
        j = max(i - w + 1, 0)
        while not (exponent >> j) & 1:
            j += 1
        value = (exponent >> j) & ((1 << (i - j + 1)) - 1)
        if first == 0:
            first = value
        else:
            ops.append((pending + i - j + 1, value))
        pending, i = 0, j - 1
    if pending:
        ops.append((pending, 0))
    return first, ops


def odd_powers(r: Residue, top: int, square: Callable[[Residue], Residue],
               multiply: Callable[[Residue, Residue], Residue]) -> dict[int, Residue]:
    """{v: r^v} for the odd v up to `top`: one squaring and a product per entry."""
    table = {1: r}
    if top > 1:
        r2 = square(r)
        for v in range(3, top + 1, 2):
            table[v] = multiply(table[v - 2], r2)
    return table
