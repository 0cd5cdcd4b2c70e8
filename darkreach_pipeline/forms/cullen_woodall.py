"""Cullen numbers n*2^n + 1 and Woodall numbers n*2^n - 1 over n.

N = n*2^n +- 1 = K*2^e +- 1 with K the odd part of n and e = n + v2(n) (even n move their twos into
the exponent; n a power of two gives K = 1). K <= n < 2^e, so Proth's theorem (Cullen) and LLR
(Woodall) always apply: the test is primality/kbn.py's on k = n, b = 2 (Fermat base 3 with Gerbicz
checks on the special-form loop, then the proof); certificates go to the shared verify_proof.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import ClassVar

import gmpy2
import numpy as np
from gmpy2 import mpz

from darkreach_pipeline.cost_model import balanced_depth, test_seconds
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.forms.base import EULER_GAMMA, PrimeForm
from darkreach_pipeline.primality.kbn import kbn_test
from darkreach_pipeline.primality.options import DEFAULT_OPTIONS, TestOptions
from darkreach_pipeline.primality.outcome import TestOutcome
from darkreach_pipeline.primality.small_factors import prime_divisors
from darkreach_pipeline.sieve.stepwise import seconds_per_prime, sieve_cullen_woodall

MAX_N = 20_000_000  # ~20M-bit numbers: one test is days on one core (the largest known Woodall prime has n = 17016602)

# Once the sieve passes n, each prime p strikes whole families of n (a Cullen number is divisible by p at
# n = p-1, p-2, 2p-4, ...), so fewer candidates survive than random odd numbers would: survivors * ln(depth)
# measured at n = 2*10^5, depth 10^6 and 10^7: Cullen 0.58, Woodall 0.95 (below n: Mertens' 2e^-gamma = 1.12).
SURVIVAL_PAST_N = {1: 0.58, -1: 0.95}


def split_n(n: int) -> tuple[int, int]:
    """(K, e) with n*2^n = K*2^e, K odd (n >= 1)."""
    twos = (n & -n).bit_length() - 1
    return n >> twos, n + twos


class _CullenWoodall(PrimeForm):
    """n*2^n + c; subclasses fix c. No parameters: the block axis is n."""

    c: ClassVar[int]
    axis = "n"
    param_names = ()

    # ----- campaign ------------------------------------------------------------------------
    @classmethod
    def validate(cls, params: Mapping[str, int], n_min: int, n_max: int) -> None:
        if n_max > MAX_N:
            raise CampaignError(
                "n_max",
                f"must be <= {MAX_N} (N = n*2^n{cls.c:+d} has n bits: one test past that takes weeks), got "
                f"{n_max}; lower n_max",
            )

    @classmethod
    def auto_sieve_depth(cls, params: Mapping[str, int], n_min: int, n_max: int, block_size: int) -> int:
        """Depth where one more sieve prime costs as much as the tests it saves (cost_model.balanced_depth)."""
        n = n_min + 0.7 * (n_max - n_min)
        test = test_seconds(n + math.log2(max(n, 1)), cls.special_test(params))
        span = min(block_size, n_max - n_min + 1)

        def survivors(depth: float) -> float:
            per_log = SURVIVAL_PAST_N[cls.c] if depth > n else 2 * math.exp(-EULER_GAMMA)
            return span * min(1.0, per_log / math.log(depth))

        return balanced_depth(survivors, test, seconds_per_prime(span))

    @classmethod
    def special_test(cls, params: Mapping[str, int]) -> bool:
        return True  # K = the odd part of n: always the special loop

    def bits(self, n: int) -> float:
        return n + math.log2(n) if n >= 1 else 0.0

    # ----- numbers ---------------------------------------------------------------------------
    def number(self, n: int) -> mpz:
        return mpz(n) * (mpz(1) << n) + self.c

    def expression(self, n: int) -> str:
        return f"{n}*2^{n}{'+' if self.c == 1 else '-'}1"

    def parameters(self, n: int) -> dict[str, int]:
        return {"n": n}

    def binary_shape(self, n: int) -> tuple[int, int, int] | None:
        if n < 1:
            return None
        K, e = split_n(n)
        return K, e, self.c

    def excluded(self, n: int) -> str | None:
        """N < 2, or an algebraic factorization of N = x^m +- 1 (only above 2^64, where no factor is 1)."""
        if n == 0 or (n == 1 and self.c == -1):
            return "N < 2: neither prime nor composite"
        if self.bits(n) < 64:  # below 2^64 the deterministic test decides, small prime cases included
            return None
        K, e = split_n(n)
        for m in prime_divisors(e):
            root, exact = gmpy2.iroot(mpz(K), m)
            if not exact:
                continue
            # n*2^n = x^m with x = root*2^(e/m): x - 1 is a proper factor unless x = 2 (K = 1, m = e, prime e).
            if self.c == -1 and not (K == 1 and m == e):
                return f"algebraic: n*2^n = x^{m} (x = {root}*2^{e // m}), so x - 1 divides N"
            if self.c == 1 and m > 2:
                return f"algebraic: n*2^n = x^{m} (x = {root}*2^{e // m}), so x + 1 divides N (odd power)"
        if self.c == 1 and e % 4 == 2 and gmpy2.iroot(mpz(K), 4)[1]:
            return "algebraic: n*2^n = 4x^4, so N = (2x^2+2x+1)(2x^2-2x+1)"
        return None

    def sieve(
        self, lo: int, hi: int, prime_chunks: Iterable[np.ndarray], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        return sieve_cullen_woodall(self.c, lo, hi, prime_chunks, progress)

    def residue_mod(self, n: int, p: int) -> int:
        return (n % p * pow(2, n, p) + self.c) % p

    # ----- tests and proofs ----------------------------------------------------------------
    def test(self, n: int, options: TestOptions = DEFAULT_OPTIONS) -> TestOutcome:
        """primality/kbn.py's test of k = n, b = 2: the same N, Fermat base 3 (Gerbicz-checked), then Proth / LLR."""
        return kbn_test(n, 2, self.c, n, options)


class CullenForm(_CullenWoodall):
    """Cullen numbers n*2^n + 1 (OEIS A005849 lists the n giving primes)."""

    name = "cullen"
    c = 1
    proof_methods = frozenset({"proth", "bpsw-below-2^64"})


class WoodallForm(_CullenWoodall):
    """Woodall numbers n*2^n - 1 (OEIS A002234 lists the n giving primes)."""

    name = "woodall"
    c = -1
    proof_methods = frozenset({"llr", "bpsw-below-2^64"})

    def useless_bases(self, n: int) -> frozenset[int]:
        """n a power of two: N = 2^e - 1 is a Mersenne number, a base-2 probable prime whenever e is prime
        (the other e are excluded as algebraic), so base 2 says nothing."""
        return frozenset({2}) if n >= 1 and n & (n - 1) == 0 else frozenset()
