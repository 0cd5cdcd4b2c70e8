"""n!+c (c = +1 or -1) over n: factorial primes (forms/product_base.py: what primorials share).

N-1 = n! (c = +1) or N+1 = n! (c = -1) is completely factored by construction, so every probable
prime gets a classical proof: Pocklington over the primes <= n for n!+1, Morrison (Lucas
sequences) for n!-1. The sieve carries n! mod q across the block (sieve/carried_product.py).
Pitfalls: for N = n!+1 prime, every a <= n is a quadratic residue mod N (q | N-1 and N = 1 mod 8),
so a^((N-1)/2) = 1 for all of them and a Pocklington base must exceed n; for N = n!-1 every q <= n
is a residue too, so D = P^2-4 = (P-2)(P+2) is a square for P <= n-2 and Morrison's (P, Q) must
reach past that (proofs/classical.py searches by Jacobi symbol, which handles both).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

import gmpy2
import numpy as np
from gmpy2 import mpz

from darkreach_pipeline.cost_model import ROUNDS_PAIRS_AND_PRODUCTS, balanced_depth, test_seconds
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.forms.product_base import SMALL_BITS, ProductPlusMinusOne
from darkreach_pipeline.primality.prp import is_prime_small
from darkreach_pipeline.sieve.carried_product import (
    sieve_seconds_per_prime,
    survival,
)
from darkreach_pipeline.sieve.primes import small_primes

MAX_N = 500_000  # n! has 2.6 million digits: one test takes days (gmpy2), just past the record 422429!+1


class FactorialForm(ProductPlusMinusOne):
    """Numbers n! + c; the block axis is n."""

    name = "factorial"
    axis = "n"
    symbol = "!"

    @classmethod
    def validate(cls, params: Mapping[str, int], n_min: int, n_max: int) -> None:
        cls.validate_sign(params)
        if n_max > MAX_N:
            raise CampaignError(
                "n_max", f"n_max = {n_max} gives numbers of {digits_of_factorial(n_max):,} digits; one test would "
                f"take weeks: use n_max <= {MAX_N:,}",
            )
        if params["c"] == -1 and n_max <= 2:
            raise CampaignError("n_max", f"n = {n_min}..{n_max} holds no candidate (n!-1 < 2 there): use n_max >= 3")

    @staticmethod
    def survival_fraction(depth: float) -> float:
        """n is not known here: the largest n a campaign may use, so runtime estimates are upper bounds
        (survival_at is the model's exact share)."""
        return survival(MAX_N, depth)

    @staticmethod
    def survival_at(n: float, depth: float) -> float:
        """Share of n near `n` left by a sieve to `depth`: primes q <= n never divide n!+-1."""
        return survival(max(n, 2.0), depth)

    @classmethod
    def auto_sieve_depth(cls, params: Mapping[str, int], n_min: int, n_max: int, block_size: int) -> int:
        """Depth where one more sieve prime costs as much as the tests it saves (cost_model.balanced_depth).

        Test: a generic Fermat powmod; sieve per prime: the remainder tree for (lo-1)! plus one mulmod
        per n of the block (constants in sieve/carried_product.py, measured in benchmarks/RESULTS.md).
        """
        n = n_min + 0.7 * (n_max - n_min)
        test = test_seconds(factorial_bits(n), cls.special_test(params))
        span = min(block_size, n_max - n_min + 1)
        return balanced_depth(lambda depth: span * cls.survival_at(n, depth), test,
                              cls.sieve_seconds_per_prime(params, n, span), rounds=ROUNDS_PAIRS_AND_PRODUCTS)

    @classmethod
    def sieve_seconds_per_prime(cls, params: Mapping[str, int], n: float, span: int) -> float:
        """CPU seconds one sieve prime costs over `span` values of n from near `n`: one remainder tree for the
        prefix product (n-1)! (paid once per sieve call: per block, or once per campaign-wide segment), then one
        mulmod per n."""
        return sieve_seconds_per_prime(factorial_bits(n), span)

    def bits(self, n: int) -> float:
        return max(1.0, factorial_bits(n))

    def product(self, n: int) -> mpz:
        return gmpy2.fac(n)

    def product_mod(self, n: int, q: int) -> int:
        return 0 if q <= n else int(gmpy2.fac(n) % q)

    def step(self, n: int) -> int:
        return max(n, 1)

    def proof_primes(self, n: int) -> list[int]:
        return [int(q) for q in small_primes(n)]

    def sieve(
        self, lo: int, hi: int, prime_chunks: Iterable[np.ndarray], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """The carried-product sieve, plus Wilson's factor at any depth: q = n+1 prime divides n!+1
        ((q-1)! = -1) and q = n+2 prime divides n!-1 ((q-2)! = 1); never when N = q itself."""
        factors = super().sieve(lo, hi, prime_chunks, progress)
        shift = 1 if self.c == 1 else 2
        for i, n in enumerate(range(lo, hi)):
            q = n + shift
            if factors[i] == 0 and self.excluded(n) is None and q < 2**63 and is_prime_small(q):
                if self.bits(n) > SMALL_BITS or int(self.number(n)) != q:
                    factors[i] = q
        return factors


def factorial_bits(n: float) -> float:
    """log2(n!) (lgamma), 0 for n < 2."""
    return math.lgamma(n + 1) / math.log(2) if n >= 2 else 0.0


def digits_of_factorial(n: int) -> int:
    return int(math.lgamma(n + 1) / math.log(10)) + 1
