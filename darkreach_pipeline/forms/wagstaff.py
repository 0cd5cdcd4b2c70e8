"""Wagstaff numbers (2^p+1)/3 over odd primes p.

No primality proof is known for this form (N-1 and N+1 have no large known factored part), so a
candidate is at most a probable prime: a Gerbicz-checked Fermat test to base 3 (its RES64 is the
row's), then a strong BPSW test. Base 2 is useless: 2^p = -1 mod N and 2p | N-1, so every Wagstaff
number, prime or not, is a (strong) base-2 probable prime; the BPSW's strong base-2 half is passed
for free and its strong Lucas half is what adds evidence. Below 2^64 (p <= 65) the answer is exact.
p not an odd prime: p = 1 gives N = 1, even p a non-integer, and p = a*c gives the factor (2^a+1)/3.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

import gmpy2
import numpy as np
from gmpy2 import mpz

from darkreach_pipeline.arith.base import ModularArithmetic
from darkreach_pipeline.arith.gmp import GMPArithmetic
from darkreach_pipeline.arith.select import arithmetic_for
from darkreach_pipeline.cost_model import test_seconds
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.forms.base import PrimeForm
from darkreach_pipeline.primality.fermat import fermat_screen, probable_prime_outcome
from darkreach_pipeline.primality.options import DEFAULT_OPTIONS, TestOptions
from darkreach_pipeline.primality.outcome import TestOutcome
from darkreach_pipeline.sieve.order import order_sieve_depth, order_survival, sieve_by_order

MAX_BITS = 50_000_000  # one test stays feasible: the same bound as kbn's n <= 5*10^7 for base 2
MAX_P = MAX_BITS
NOT_ODD_PRIME = "p is not an odd prime"


def _odd_primes(lo: int, hi: int) -> list[int]:
    """Odd primes in [lo, hi)."""
    return [p for p in range(max(lo, 3), hi) if gmpy2.is_prime(p)]


class WagstaffForm(PrimeForm):
    """Numbers (2^p+1)/3 for odd primes p; the block axis is p."""

    name = "wagstaff"
    axis = "p"
    param_names = ()
    proof_methods = frozenset({"bpsw-below-2^64"})

    # ----- campaign ------------------------------------------------------------------------
    @classmethod
    def validate(cls, params: Mapping[str, int], p_min: int, p_max: int) -> None:
        if p_max > MAX_P:
            raise CampaignError(
                "p_max", f"must be <= {MAX_P:,} (N has about p bits; one test of a larger one is not feasible), "
                f"got {p_max}"
            )
        if gmpy2.next_prime(max(p_min, 3) - 1) > p_max:
            raise CampaignError(
                "p_min", f"p = {p_min}..{p_max} holds no odd prime, so no Wagstaff number: widen the range"
            )

    @staticmethod
    def survival_fraction(depth: float) -> float:
        """Share of axis values tested after a sieve to `depth`: prime p (1/ln p) with no factor below
        depth (ln(2p)/ln(depth), the Mersenne heuristic: factors are 2kp+1). The product is
        (1 + ln 2/ln p)/ln(depth): 1.1/ln(depth) bounds it for p >= 1000."""
        return min(0.5, 1.1 / math.log(max(depth, 3)))

    survival_at = staticmethod(order_survival)  # the same share for axis values near p (the depth model's)

    @classmethod
    def auto_sieve_depth(cls, params: Mapping[str, int], p_min: int, p_max: int, block_size: int) -> int:
        """Depth where one more sieve prime costs as much as the tests it saves (cost_model.balanced_depth).

        Test: a generic Fermat powmod (cost_model's generic constant, 2.5x the special-form one) of p bits.
        """
        p = max(3.0, p_min + 0.7 * (p_max - p_min))
        span = min(block_size, p_max - p_min + 1)
        return order_sieve_depth(p, span, test_seconds(p, cls.special_test(params)), cls.survival_at)

    # ----- numbers ---------------------------------------------------------------------------
    def bits(self, p: int) -> float:
        return max(1.0, p - math.log2(3))

    def number(self, p: int) -> mpz:
        """(2^p+1)/3 (exact for odd p; the floor otherwise, which is never tested)."""
        return ((mpz(1) << p) + 1) // 3

    def expression(self, p: int) -> str:
        return f"(2^{p}+1)/3"

    def parameters(self, p: int) -> dict[str, int]:
        return {"p": p}

    def excluded(self, p: int) -> str | None:
        """p = 1: N = 1; p even: 3 does not divide 2^p+1; p = a*c composite: (2^a+1)/3 divides N."""
        if p < 3 or not gmpy2.is_prime(p):
            return NOT_ODD_PRIME
        return None

    def sieve(
        self, lo: int, hi: int, prime_chunks: Iterable[np.ndarray], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """q != 3 divides N iff ord_q(2) = 2p (q = 1 mod 2p); 3 never divides N for p >= 5 (9 does not
        divide 2^p+1), and the N a sieve prime could equal (p = 5, 7, 11...) are never struck by it."""
        primes = _odd_primes(lo, hi)
        small = {p: int(self.number(p)) for p in primes if p < 34}  # (2^33+1)/3 < 2^32
        return sieve_by_order(lo, hi, {p: p for p in primes}, 2, -1, prime_chunks, progress,
                              numbers_below_2_32=small)

    def residue_mod(self, p: int, q: int) -> int:
        """N mod q without building N: (2^p+1)/3 = (2^p+1)*3^-1 mod q; for q = 3, from 2^p+1 mod 9."""
        if p % 2 == 0 or p < 1:
            return int(self.number(p) % q)
        if q == 3:
            return (pow(2, p, 9) + 1) % 9 // 3
        return (pow(2, p, q) + 1) * pow(3, -1, q) % q

    # ----- tests ---------------------------------------------------------------------------
    def useless_bases(self, p: int) -> frozenset[int]:
        """2^p = -1 mod N and 2p divides N-1: every Wagstaff number passes base 2 and its powers."""
        return frozenset({2, 4, 8, 16, 32, 64})

    def test(self, p: int, options: TestOptions = DEFAULT_OPTIONS) -> TestOutcome:
        """Fermat base 3 through the shared Gerbicz-checked fermat_prp, then strong BPSW: probable prime."""
        N = self.number(p)
        outcome, residue, checked = fermat_screen(N, options=options,
                                                  arith=self._arithmetic(p))
        if outcome is not None:
            return outcome
        return probable_prime_outcome(N, residue, checked)

    @staticmethod
    def _arithmetic(p: int) -> ModularArithmetic | None:
        """Arithmetic modulo 2^p+1 = 3N when arith.select puts that on the weighted FFT (k = 1, c = +1, as LLR
        tests Wagstaff numbers); None (GMP modulo N itself) below the crossover."""
        arith = arithmetic_for((mpz(1) << p) + 1, 1, p, 1) if p >= 5 else None
        return None if arith is None or isinstance(arith, GMPArithmetic) else arith

