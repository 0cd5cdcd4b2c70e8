"""k*b^n + c (c = +1 or -1) over n: Proth, Riesel and generalized forms.

Every candidate gets a Fermat base-3 test (its RES64 matches PFGW's for the same N). The rare
probable primes are then proven where a theorem applies: Proth for K*2^e+1 and LLR for K*2^e-1
with K < 2^e (k*b^n = K*2^e, K odd); below 2^64 BPSW is deterministic. Anything else stays a
probable prime and is labelled so. The test itself is primality/kbn.py's, shared with every
form of this shape.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import gmpy2
import numpy as np
from gmpy2 import mpz

from darkreach_pipeline.cost_model import balanced_depth, test_seconds
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.forms.base import PrimeForm
from darkreach_pipeline.forms.kbn_limits import MAX_N, check_b, check_k, check_k_not_divisible_by_b
from darkreach_pipeline.primality.kbn import kbn_number, kbn_test
from darkreach_pipeline.primality.options import DEFAULT_OPTIONS, TestOptions
from darkreach_pipeline.primality.outcome import TestOutcome
from darkreach_pipeline.primality.small_factors import small_factors
from darkreach_pipeline.primality.special_form import split_power_of_two
from darkreach_pipeline.proofs.certificate_check import verify_kbn
from darkreach_pipeline.sieve.kbn import seconds_per_prime, sieve_kbn


class KbnForm(PrimeForm):
    """Numbers k*b^n + c for fixed k, b, c; the block axis is n."""

    name = "kbn"
    axis = "n"
    param_names = ("k", "b", "c")
    proof_methods = frozenset({"proth", "llr", "bpsw-below-2^64"})

    def __init__(self, k: int, b: int, c: int):
        self.k, self.b, self.c = k, b, c
        self._b_factors = small_factors(b)
        # k = k0 * prod(q^f_q) over the primes q of b (and 2), with k0 coprime to both.
        self._k_exponents: dict[int, int] = {}
        k0 = k
        for q in set(self._b_factors) | {2}:
            f = 0
            while k0 % q == 0:
                k0 //= q
                f += 1
            self._k_exponents[q] = f
        self._k0 = k0

    # ----- campaign validation -------------------------------------------------------------
    @classmethod
    def validate(cls, params: Mapping[str, int], n_min: int, n_max: int) -> None:
        k, b, c = params["k"], params["b"], params["c"]
        check_k("k", k)
        check_b(b)
        if c not in (1, -1):
            raise CampaignError("c", f"must be +1 or -1 (the sign in k*b^n+c), got {c}")
        check_k_not_divisible_by_b(k, b, n_min, n_max, "number")
        if n_max > MAX_N:
            raise CampaignError("n_max", f"must be <= {MAX_N}, got {n_max}")

    @classmethod
    def auto_sieve_depth(cls, params: Mapping[str, int], n_min: int, n_max: int, block_size: int) -> int:
        """Depth where one more sieve prime costs as much as the tests it saves (algorithms.md 7.5).

        A deterministic model, so the same campaign gets the same depth on every machine; its
        constants were measured here (benchmarks/RESULTS.md).
        """
        k, b = params["k"], params["b"]
        n = n_min + 0.7 * (n_max - n_min)
        test = test_seconds(n * math.log2(b) + math.log2(k), cls.special_test(params))
        span = min(block_size, n_max - n_min + 1)
        return balanced_depth(lambda depth: span * cls.survival_fraction(depth), test,
                              cls.sieve_seconds_per_prime(params, n, span))

    @classmethod
    def sieve_seconds_per_prime(cls, params: Mapping[str, int], n: float, span: int) -> float:
        """CPU seconds one BSGS sieve prime costs over `span` consecutive n (any n: the cost grows with the span
        only, about span^0.38, which is why one sieve over many blocks is cheaper than each block alone)."""
        return seconds_per_prime(span)

    @classmethod
    def special_test(cls, params: Mapping[str, int]) -> bool:
        """b a power of two: the chain squares on the special-form loop; other b step x -> x^b generically."""
        return params["b"] & (params["b"] - 1) == 0

    def bits(self, n: int) -> float:
        return n * math.log2(self.b) + math.log2(self.k)

    # ----- numbers ---------------------------------------------------------------------------
    def number(self, n: int) -> mpz:
        return kbn_number(self.k, self.b, self.c, n)

    def expression(self, n: int) -> str:
        head = f"{self.b}^{n}" if self.k == 1 else f"{self.k}*{self.b}^{n}"
        return f"{head}{'+' if self.c == 1 else '-'}1"

    def parameters(self, n: int) -> dict[str, int]:
        return {"k": self.k, "b": self.b, "c": self.c, "n": n}

    def _is_power(self, n: int, d: int, twos_removed: int = 0) -> bool:
        """Is k*b^n / 2^twos_removed a perfect d-th power? Decided from exponents, N is never built."""
        for q in self._k_exponents:
            exponent = self._k_exponents[q] + n * self._b_factors.get(q, 0) - (twos_removed if q == 2 else 0)
            if exponent < 0 or exponent % d:
                return False
        return bool(gmpy2.iroot(mpz(self._k0), d)[1])

    def excluded(self, n: int) -> str | None:
        """Why n needs no test: N < 2, or an algebraic factorization (kept when a factor is 1)."""
        if self.k * self.b**min(n, 64) + self.c < 2:
            return "N < 2: neither prime nor composite"
        if n * math.log2(self.b) < 66:  # N < 2^64-ish: the deterministic test is cheaper than thinking
            return None
        if self.c == -1 and self._is_power(n, 2):
            return "algebraic: k*b^n = x^2, so N = (x-1)(x+1)"
        if self._is_power(n, 3):
            return "algebraic: k*b^n = x^3, so N = (x%s1)(x^2%sx+1)" % (("+", "-") if self.c == 1 else ("-", "+"))
        if self.c == 1 and self._is_power(n, 4, twos_removed=2):
            return "algebraic: k*b^n = 4x^4, so N = (2x^2+2x+1)(2x^2-2x+1)"
        return None

    def sieve(
        self, lo: int, hi: int, prime_chunks: Iterable[np.ndarray], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        return sieve_kbn(self.k, self.b, self.c, lo, hi, prime_chunks, progress)

    # ----- testing ---------------------------------------------------------------------------
    def test(self, n: int, options: TestOptions = DEFAULT_OPTIONS) -> TestOutcome:
        """primality/kbn.py: Fermat base 3 (Gerbicz-checked), then Proth / LLR for the probable primes."""
        return kbn_test(self.k, self.b, self.c, n, options)

    def verify_certificate(self, n: int, certificate: dict[str, Any]) -> tuple[bool, str]:
        """proofs/certificate_check.py on the k, b, c, n shape itself (it shares no code with test())."""
        return verify_kbn(self.k, self.b, self.c, n, certificate)

    def binary_shape(self, n: int) -> tuple[int, int, int] | None:
        K, e = split_power_of_two(self.k, self.b, n)
        return K, e, self.c

    def residue_mod(self, n: int, p: int) -> int:
        """N mod p without building N (re-checks factor claims)."""
        return (self.k % p * pow(self.b, n, p) + self.c) % p
