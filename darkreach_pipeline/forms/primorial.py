"""p#+c (c = +1 or -1) over p: primorial primes, p# = the product of the primes <= p.

The axis runs over every integer p of the range; values that are not prime are excluded (p# would
repeat the previous prime's number). N-1 = p# (c = +1) or N+1 = p# (c = -1) is completely factored,
so every probable prime gets a Pocklington or Morrison proof over the primes <= p. The sieve carries
p# mod q across the block for sieve primes q > p (sieve/carried_product.py), shared with n!+c.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache

import gmpy2
import numpy as np
from gmpy2 import mpz

from darkreach_pipeline.cost_model import ROUNDS_PAIRS_AND_PRODUCTS, balanced_depth, test_seconds
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.forms.product_base import ProductPlusMinusOne
from darkreach_pipeline.primality.prp import is_prime_small
from darkreach_pipeline.sieve.carried_product import sieve_seconds_per_prime, survival
from darkreach_pipeline.sieve.primes import small_primes

MAX_P = 5_000_000  # p# has 2.2 million digits: one test takes days (gmpy2), past the record 3267113#-1


@lru_cache(maxsize=8)
def _theta_table(limit: int) -> tuple[np.ndarray, np.ndarray]:
    primes = small_primes(limit)
    return primes, np.cumsum(np.log2(primes.astype(np.float64)))


def primorial_bits(p: float) -> float:
    """log2(p#) = theta(p)/ln 2, exact (a cached table of the primes up to the next power of two)."""
    if p < 2:
        return 0.0
    limit = 1 << max(16, int(p).bit_length())
    primes, logs = _theta_table(limit)
    return float(logs[np.searchsorted(primes, int(p), side="right") - 1])


class PrimorialForm(ProductPlusMinusOne):
    """Numbers p# + c for primes p; the block axis is p (non-primes are excluded)."""

    name = "primorial"
    axis = "p"
    symbol = "#"

    @classmethod
    def validate(cls, params: Mapping[str, int], p_min: int, p_max: int) -> None:
        cls.validate_sign(params)
        if p_max > MAX_P:
            digits = int(p_max / math.log(10))  # log10(p#) = theta(p)/ln 10, theta(p) ~ p
            raise CampaignError(
                "p_max", f"p_max = {p_max} gives numbers of about {digits:,} digits; one test would take weeks: "
                f"use p_max <= {MAX_P:,}",
            )
        first = int(gmpy2.next_prime(max(p_min, 2) - 1))
        if first > p_max:
            raise CampaignError("p_min", f"p = {p_min}..{p_max} holds no prime (p# only changes at primes): "
                                         "widen the range")
        if params["c"] == -1 and p_max < 3:
            raise CampaignError("p_max", f"p = {p_min}..{p_max} holds no candidate (2#-1 = 1): use p_max >= 3")

    @staticmethod
    def survival_fraction(depth: float) -> float:
        """Share of axis values tested: primes p (1/ln p) with no factor below depth (ln p/ln depth);
        about 1/ln(depth) whatever p, taken 10% high so runtime estimates are upper bounds."""
        return min(1.0, 1.1 / math.log(max(depth, 3)))

    @staticmethod
    def survival_at(p: float, depth: float) -> float:
        """The same share for axis values near p (used by the depth model)."""
        p = max(p, 3.0)
        return survival(p, depth) / math.log(p)

    @classmethod
    def auto_sieve_depth(cls, params: Mapping[str, int], p_min: int, p_max: int, block_size: int) -> int:
        """Depth where one more sieve prime costs as much as the tests it saves (cost_model.balanced_depth).

        Only the primes of a block are candidates and sieve steps: span/ln p of them.
        """
        p = max(3.0, p_min + 0.7 * (p_max - p_min))
        test = test_seconds(primorial_bits(p), cls.special_test(params))
        span = min(block_size, p_max - p_min + 1)
        return balanced_depth(lambda depth: span * cls.survival_at(p, depth), test,
                              cls.sieve_seconds_per_prime(params, p, span), rounds=ROUNDS_PAIRS_AND_PRODUCTS)

    @classmethod
    def sieve_seconds_per_prime(cls, params: Mapping[str, int], p: float, span: int) -> float:
        """CPU seconds one sieve prime costs over `span` values of p from near `p`: one remainder tree for the
        prefix primorial (paid once per sieve call), then one mulmod per prime p of the span (span/ln p of them)."""
        p = max(3.0, p)
        return sieve_seconds_per_prime(primorial_bits(p), max(1, round(span / math.log(p))))

    def bits(self, p: int) -> float:
        return max(1.0, primorial_bits(p))

    def product(self, p: int) -> mpz:
        return gmpy2.primorial(p) if p >= 2 else mpz(1)

    def product_mod(self, p: int, q: int) -> int:
        return 0 if q <= p else int(self.product(p) % q)

    def step(self, p: int) -> int:
        return p if p >= 2 and is_prime_small(p) else 1

    def proof_primes(self, p: int) -> list[int]:
        return [int(q) for q in small_primes(p)]

    def excluded(self, p: int) -> str | None:
        if p < 2 or not is_prime_small(p):
            return "p is not prime"
        return super().excluded(p)
