"""Carol numbers (2^n-1)^2 - 2 and Kynea numbers (2^n+1)^2 - 2 over n.

N = 4^n -+ 2^(n+1) - 1, so N + 1 = 2^(n+1) * (2^(n-1) -+ 1) is more than half factored: 2^(n+1) > sqrt(N) + 1,
and Morrison's N+1 theorem (a Lucas sequence with Jacobi(D, N) = -1) proves a probable prime with the
single known prime 2. Every candidate first gets a Gerbicz-checked Fermat base-3 test (its RES64).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import ClassVar

import numpy as np
from gmpy2 import mpz

from darkreach_pipeline.cost_model import balanced_depth, test_seconds
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.forms.base import PrimeForm
from darkreach_pipeline.primality.fermat import fermat_screen, probable_prime_outcome
from darkreach_pipeline.primality.options import DEFAULT_OPTIONS, TestOptions
from darkreach_pipeline.primality.outcome import COMPOSITE, PRIME, TestOutcome
from darkreach_pipeline.proofs.classical import morrison
from darkreach_pipeline.sieve.stepwise import seconds_per_prime, sieve_carol_kynea

MAX_N = 10_000_000  # N has 2n bits: 20M-bit numbers, days per test on one core (the largest known are n ~ 10^6)

# Only primes q = +-1 mod 8 can divide x^2 - 2, and then for about 2/q of the n: survivors * ln(depth) measured
# with sieve_carol_kynea at n = 2*10^5, depth 10^3..10^7 (2.51..2.61), against 1.12 for random odd numbers.
SURVIVAL_PER_LOG = 2.57


class _CarolKynea(PrimeForm):
    """(2^n + sign)^2 - 2; subclasses fix the sign (-1 Carol, +1 Kynea). No parameters: the axis is n."""

    sign: ClassVar[int]
    axis = "n"
    param_names = ()
    proof_methods = frozenset({"morrison", "bpsw-below-2^64"})

    # ----- campaign ------------------------------------------------------------------------
    @classmethod
    def validate(cls, params: Mapping[str, int], n_min: int, n_max: int) -> None:
        if n_max > MAX_N:
            raise CampaignError(
                "n_max",
                f"must be <= {MAX_N} ({cls.name} numbers have 2n bits: one test past that takes weeks), got "
                f"{n_max}; lower n_max",
            )

    @staticmethod
    def survival_fraction(depth: float) -> float:
        return min(1.0, SURVIVAL_PER_LOG / math.log(max(depth, 3)))

    @classmethod
    def auto_sieve_depth(cls, params: Mapping[str, int], n_min: int, n_max: int, block_size: int) -> int:
        """Depth where one more sieve prime costs as much as the tests it saves (cost_model.balanced_depth).

        The Fermat test runs on a generic modulus (N + 1 = K*2^e with K of n bits: no special loop), 2.5x the
        special-form cost (cost_model); the proof runs on primes only and is left out.
        """
        n = n_min + 0.7 * (n_max - n_min)
        test = test_seconds(2 * n, cls.special_test(params))
        span = min(block_size, n_max - n_min + 1)
        return balanced_depth(lambda depth: span * cls.survival_fraction(depth), test, seconds_per_prime(span))

    def bits(self, n: int) -> float:
        return 2.0 * n

    # ----- numbers ---------------------------------------------------------------------------
    def number(self, n: int) -> mpz:
        x = (mpz(1) << n) + self.sign
        return x * x - 2

    def expression(self, n: int) -> str:
        return f"(2^{n}{'+' if self.sign == 1 else '-'}1)^2-2"

    def parameters(self, n: int) -> dict[str, int]:
        return {"n": n}

    def binary_shape(self, n: int) -> tuple[int, int, int] | None:
        """N = K*2^(n+1) - 1 with K = 2^(n-1) -+ 1, odd for n >= 2."""
        if n < 2:
            return None
        return (1 << (n - 1)) + self.sign, n + 1, -1

    def excluded(self, n: int) -> str | None:
        N = self.number(n)
        if N < 2:
            return f"N < 2: {self.expression(n)} = {N}, neither prime nor composite"
        return None  # x^2 - 2 has no algebraic factorization

    def sieve(
        self, lo: int, hi: int, prime_chunks: Iterable[np.ndarray], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        return sieve_carol_kynea(self.sign, lo, hi, prime_chunks, progress)

    def residue_mod(self, n: int, p: int) -> int:
        x = (pow(2, n, p) + self.sign) % p
        return (x * x - 2) % p

    # ----- tests and proofs ----------------------------------------------------------------
    def test(self, n: int, options: TestOptions = DEFAULT_OPTIONS) -> TestOutcome:
        """Fermat base 3 (Gerbicz-checked, its RES64), then Morrison's N+1 proof from N + 1 = 2^(n+1) * K."""
        N = self.number(n)
        outcome, residue, checked = fermat_screen(N, options=options)
        if outcome is not None:
            return outcome
        result, certificate = morrison(N, [2])
        if result == PRIME:
            return TestOutcome(PRIME, "morrison", residue, certificate=certificate, **checked)
        if result == COMPOSITE:
            return TestOutcome(COMPOSITE, "morrison", residue, **checked)
        return probable_prime_outcome(N, residue, checked)



class CarolForm(_CarolKynea):
    """Carol numbers (2^n-1)^2 - 2 (OEIS A091515 lists the n giving primes)."""

    name = "carol"
    sign = -1


class KyneaForm(_CarolKynea):
    """Kynea numbers (2^n+1)^2 - 2 (OEIS A091513 lists the n giving primes)."""

    name = "kynea"
    sign = 1
