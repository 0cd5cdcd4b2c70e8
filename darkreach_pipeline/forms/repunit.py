"""Generalized repunits (b^n-1)/(b-1) over prime n, for a fixed base b.

R_n is tested only for prime n: for n = a*c, R_a divides R_n (and R_a > 1). For b = d^r with r prime,
R_n(d) divides R_n(b) for every prime n != r, so perfect-power bases are refused by validation and
excluded per n when a form is built for one anyway.

No proof applies for b > 2 (N-1 = b*R_{n-1}(b) is factored only as far as b, far below sqrt(N)), so
a candidate is a Gerbicz-checked Fermat test (its RES64 is the row's), then a strong BPSW test, and
at most a probable prime. Every repunit passes base b (b^n = 1 mod N and n | N-1) and, N-1 being even,
+-b^j: the Fermat base is 3, or 2 when b is a power of 3 (2 is then no power of b). Below 2^64 the
answer is exact. b = 2 gives the Mersenne numbers 2^n-1 = 1*2^n-1: the kbn Gerbicz-checked
special-form Fermat test and Lucas-Lehmer-Riesel proof apply (primality/kbn.py), so those are delegated to it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

import gmpy2
import numpy as np
from gmpy2 import mpz

from darkreach_pipeline.cost_model import test_seconds
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.forms.base import PrimeForm
from darkreach_pipeline.primality.fermat import fermat_screen, probable_prime_outcome
from darkreach_pipeline.primality.kbn import kbn_test
from darkreach_pipeline.primality.options import DEFAULT_OPTIONS, TestOptions
from darkreach_pipeline.primality.outcome import TestOutcome
from darkreach_pipeline.sieve.order import order_sieve_depth, order_survival, sieve_by_order

MAX_B = 2**31  # as kbn; the sieve needs b < 2^32
MAX_BITS = 50_000_000  # one test stays feasible: the same bound as kbn's n <= 5*10^7 for base 2


def prime_roots(b: int) -> dict[int, int]:
    """{r: d} for every prime r with b = d^r."""
    out = {}
    for r in range(2, max(2, b.bit_length()) + 1):
        if gmpy2.is_prime(r):
            root, exact = gmpy2.iroot(mpz(b), r)
            if exact:
                out[r] = int(root)
    return out


def is_power_of(x: int, b: int) -> bool:
    """Is x = b^j for some j >= 1?"""
    while x > 1 and x % b == 0:
        x //= b
    return x == 1


class RepunitForm(PrimeForm):
    """Numbers (b^n-1)/(b-1) for a fixed base b; the block axis is n (prime n only)."""

    name = "repunit"
    axis = "n"
    param_names = ("b",)
    proof_methods = frozenset({"bpsw-below-2^64", "llr"})  # llr: b = 2 (Mersenne), primality/kbn.py

    def __init__(self, b: int):
        self.b = b
        self._roots = prime_roots(b)
        self._base = 2 if is_power_of(b, 3) else 3

    # ----- campaign ------------------------------------------------------------------------
    @classmethod
    def validate(cls, params: Mapping[str, int], n_min: int, n_max: int) -> None:
        b = params["b"]
        if b < 2 or b > MAX_B:
            raise CampaignError("b", f"must be between 2 and 2^31, got {b}")
        roots = prime_roots(b)
        if roots:
            r, d = min(roots.items())
            raise CampaignError(
                "b", f"b = {b} = {d}^{r} is a perfect power: (b^n-1)/(b-1) has the factor ({d}^n-1)/({d}-1) for "
                f"every prime n != {r}, so at most n = {r} can be prime; search a base that is not a perfect "
                f"power (e.g. b = {d} covers these numbers' factors)"
            )
        bits = n_max * math.log2(b)
        if bits > MAX_BITS:
            raise CampaignError(
                "n_max", f"n_max = {n_max} gives numbers of {bits:,.0f} bits in base {b}, over the limit of "
                f"{MAX_BITS:,} bits for one test; use n_max <= {math.floor(MAX_BITS / math.log2(b))}"
            )
        if gmpy2.next_prime(max(n_min, 2) - 1) > n_max:
            raise CampaignError(
                "n_min", f"n = {n_min}..{n_max} holds no prime, and only prime n can give a prime: widen the range"
            )

    @staticmethod
    def survival_fraction(depth: float) -> float:
        """Share of axis values tested after a sieve to `depth`: prime n (1/ln n) with no factor below
        depth (ln(2n)/ln(depth): factors are 2kn+1, the Mersenne heuristic), about 1.1/ln(depth)."""
        return min(0.5, 1.1 / math.log(max(depth, 3)))

    survival_at = staticmethod(order_survival)  # the same share for axis values near n (the depth model's)

    @classmethod
    def auto_sieve_depth(cls, params: Mapping[str, int], n_min: int, n_max: int, block_size: int) -> int:
        """Depth where one more sieve prime costs as much as the tests it saves (cost_model.balanced_depth).

        Test: a generic Fermat powmod (cost_model's generic constant), special-form for b = 2.
        """
        b = params["b"]
        n = max(3.0, n_min + 0.7 * (n_max - n_min))
        test = test_seconds(n * math.log2(b), cls.special_test(params))
        span = min(block_size, n_max - n_min + 1)
        return order_sieve_depth(n, span, test, cls.survival_at)

    @classmethod
    def special_test(cls, params: Mapping[str, int]) -> bool:
        """b = 2: the Mersenne numbers 2^n-1, tested by LLR on the special-form loop."""
        return params["b"] == 2

    # ----- numbers ---------------------------------------------------------------------------
    def bits(self, n: int) -> float:
        return max(1.0, n * math.log2(self.b) - math.log2(self.b - 1))

    def number(self, n: int) -> mpz:
        return (mpz(self.b) ** n - 1) // (self.b - 1)

    def expression(self, n: int) -> str:
        return f"2^{n}-1" if self.b == 2 else f"({self.b}^{n}-1)/{self.b - 1}"

    def parameters(self, n: int) -> dict[str, int]:
        return {"b": self.b, "n": n}

    def excluded(self, n: int) -> str | None:
        """N < 2 (n = 0, 1), or an algebraic factor > 1: R_a for n = a*c, R_n(d) for b = d^r, n != r."""
        if n < 2:
            return "N < 2: neither prime nor composite"
        if not gmpy2.is_prime(n):
            a = next(q for q in range(2, n) if n % q == 0)
            return f"algebraic: n = {a}*{n // a}, so ({self.b}^{a}-1)/{self.b - 1} divides N"
        for r, d in self._roots.items():
            if n != r:
                return f"algebraic: b = {d}^{r}, so ({d}^{n}-1)/{d - 1} divides N"
        return None

    def sieve(
        self, lo: int, hi: int, prime_chunks: Iterable[np.ndarray], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """A prime q divides R_n (n prime) iff ord_q(b) = n (so q = 1 mod 2n for odd n), or q = n | b-1."""
        exponents = {n: n for n in range(max(lo, 2), hi) if self.excluded(n) is None}
        small = {n: int(self.number(n)) for n in exponents if (n - 1) * math.log2(self.b) < 33}  # N > b^(n-1)
        known = {n: n for n in exponents if (self.b - 1) % n == 0}
        return sieve_by_order(lo, hi, exponents, self.b, 1, prime_chunks, progress,
                              numbers_below_2_32=small, known_divisors=known)

    def residue_mod(self, n: int, q: int) -> int:
        """N mod q without building N: n mod q when b = 1 mod q, else (b^n-1)/(b-1) mod q."""
        if (self.b - 1) % q == 0:
            return n % q
        return (pow(self.b, n, q) - 1) * pow(self.b - 1, -1, q) % q

    def binary_shape(self, n: int) -> tuple[int, int, int] | None:
        return (1, n, -1) if self.b == 2 else None

    # ----- tests ---------------------------------------------------------------------------
    def fermat_base(self, n: int) -> int:
        """3, or 2 when b is a power of 3 (then 3 is a power of b and every repunit passes it)."""
        return self._base

    def useless_bases(self, n: int) -> frozenset[int]:
        """b^j (j >= 1): b^n = 1 mod N and n divides N-1, so every repunit passes them."""
        out, power = set(), self.b
        while power <= 1 << 16:
            out.add(power)
            power *= self.b
        return frozenset(out or {self.b})

    def test(self, n: int, options: TestOptions = DEFAULT_OPTIONS) -> TestOutcome:
        """Fermat test (shared Gerbicz-checked fermat_prp) then strong BPSW: a probable prime at most.
        b = 2: primality/kbn.py's test of 1*2^n-1 (Fermat base 3, then an LLR proof)."""
        if self.b == 2:
            return kbn_test(1, 2, -1, n, options)
        N = self.number(n)
        outcome, residue, checked = fermat_screen(N, self._base, options=options)
        return outcome or probable_prime_outcome(N, residue, checked)

