"""Generalized Fermat numbers N = b^(2^m) + 1 over even b (m fixed): the GFN searches.

Every candidate gets a Gerbicz-checked Fermat base-3 test (3 is never a useless base: b is even, so
3 is no power of b's root). N - 1 = b^(2^m) is completely factored, so every probable prime is then
proven: with b = 2^s * r (r odd), N = K*2^e + 1 with K = r^(2^m), e = s*2^m, which is a Proth number
when r < 2^s (Pepin's test for the Fermat numbers); otherwise Pocklington over the primes of b.
Odd b gives an even N; b = c^d with odd d > 1 gives the factor c^(2^m) + 1; for m = 1, b = 2y^2
gives Aurifeuille's 4y^4 + 1 = (2y^2+2y+1)(2y^2-2y+1). No other algebraic factorization exists
(x^(2^m) + 1 is the irreducible cyclotomic polynomial of order 2^(m+1)).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

import gmpy2
import numpy as np
from gmpy2 import mpz

from darkreach_pipeline.arith.base import ModularArithmetic
from darkreach_pipeline.arith.select import arithmetic_for
from darkreach_pipeline.cost_model import balanced_depth, test_seconds
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.forms.base import EULER_GAMMA, PrimeForm
from darkreach_pipeline.primality.fermat import fermat_screen, probable_prime_outcome
from darkreach_pipeline.primality.options import DEFAULT_OPTIONS, TestOptions
from darkreach_pipeline.primality.outcome import COMPOSITE, PRIME, TestOutcome
from darkreach_pipeline.primality.proth import proth_test
from darkreach_pipeline.primality.small_factors import prime_divisors
from darkreach_pipeline.proofs.classical import pocklington
from darkreach_pipeline.sieve.gfn import sieve_gfn

MAX_M = 24  # b^(2^24)+1 is already 16.8M bits at b = 2; the largest GFN searches run at m <= 22
MAX_B = 2**62  # the axis is int64
MAX_BITS = 50_000_000  # one test stays feasible: the same bound as kbn's n <= 5*10^7 for base 2
# Sieve cost per prime up to the depth, generating the primes included (0.05 us): 0.04-0.2 us measured
# for m = 4..10 and blocks of 10^4-10^5 b (benchmarks/RESULTS.md, "GFN sieve"), about flat in m and R.
SIEVE_US_PER_PRIME = 0.2

# Bateman-Horn constants C_m of b^(2^m)+1 (C_1 = 1.3728 is Landau's n^2+1 constant): the product over
# odd primes p <= P of (1 - w(p)/p)/(1 - 1/p), w(p) = 2^m roots if p = 1 mod 2^(m+1), else 0, with
# P = 10^8 (m <= 8) or 2^32 (m >= 9, the deepest sieve) and Mertens for the 1/(1 - 1/p) part.
GFN_CONSTANTS = (0.0, 1.373, 2.679, 2.093, 3.671, 3.613, 3.942, 3.109, 7.435, 7.489, 8.020, 7.226, 8.427,
                 8.468, 8.008, 5.800, 11.19, 10.99, 13.00, 13.07, 14.48, 15.98, 17.21, 16.92, 15.58)


def _odd_power_root(b: int) -> tuple[int, int] | None:
    """(c, d) with b = c^d for an odd prime d, if b is such a power."""
    for d in range(3, max(3, b.bit_length()) + 1, 2):
        if gmpy2.is_prime(d):
            root, exact = gmpy2.iroot(mpz(b), d)
            if exact:
                return int(root), d
    return None


class GfnForm(PrimeForm):
    """Numbers b^(2^m) + 1 for fixed m; the block axis is b (odd b are excluded)."""

    name = "gfn"
    axis = "b"
    param_names = ("m",)
    proof_methods = frozenset({"proth", "pocklington", "bpsw-below-2^64"})

    def __init__(self, m: int):
        self.m = m
        self.exponent = 1 << m

    # ----- campaign ------------------------------------------------------------------------
    @classmethod
    def validate(cls, params: Mapping[str, int], b_min: int, b_max: int) -> None:
        m = params["m"]
        if not 1 <= m <= MAX_M:
            raise CampaignError("m", f"must be between 1 and {MAX_M} (N = b^(2^m)+1), got {m}")
        if b_min < 2:
            raise CampaignError("b_min", f"must be >= 2 (b = 0 and 1 give N = 1 and 2, not GFNs), got {b_min}")
        if b_max > MAX_B:
            raise CampaignError("b_max", f"must be <= 2^62 = {MAX_B}, got {b_max}")
        bits = (1 << m) * math.log2(b_max)
        if bits > MAX_BITS:
            largest = math.floor(2 ** (MAX_BITS / (1 << m)))
            raise CampaignError(
                "b_max",
                f"b_max = {b_max} gives numbers of {bits:,.0f} bits at m = {m}, over the limit of {MAX_BITS:,} "
                f"bits for one test; use b_max <= {largest}" + (" or a smaller m" if largest < b_min else ""),
            )

    @classmethod
    def survival_at(cls, m: int, depth: float) -> float:
        """Share of axis values (odd b included) surviving a sieve to `depth`.

        Even b only, and primes p = 1 mod 2^(m+1) strike 2^m residues each: by Mertens in progressions
        the survivors among even b are 2 e^-gamma C_m / ln(depth), so e^-gamma C_m / ln(depth) per b.
        """
        return min(0.5, math.exp(-EULER_GAMMA) * GFN_CONSTANTS[m] / math.log(max(depth, 3)))

    @staticmethod
    def survival_fraction(depth: float) -> float:
        """m is not known here: the largest C_m, so runtime estimates are upper bounds (survival_at is exact)."""
        return min(0.5, math.exp(-EULER_GAMMA) * max(GFN_CONSTANTS) / math.log(max(depth, 3)))

    @classmethod
    def auto_sieve_depth(cls, params: Mapping[str, int], b_min: int, b_max: int, block_size: int) -> int:
        """Depth where one more sieve prime costs as much as the tests it saves (cost_model.balanced_depth).

        Test: generic (not special-form) modular squarings, cost_model's generic constant. Sieve:
        SIEVE_US_PER_PRIME whatever m (one prime in 2^m is eligible and has 2^m roots).
        """
        m = params["m"]
        b = b_min + 0.7 * (b_max - b_min)
        test = test_seconds((1 << m) * math.log2(max(b, 2)), cls.special_test(params))
        span = min(block_size, b_max - b_min + 1)
        return balanced_depth(lambda depth: span * cls.survival_at(m, depth), test, SIEVE_US_PER_PRIME * 1e-6)

    # ----- numbers ---------------------------------------------------------------------------
    def bits(self, b: int) -> float:
        return self.exponent * math.log2(b) if b >= 2 else 1.0

    def number(self, b: int) -> mpz:
        return mpz(b) ** self.exponent + 1

    def expression(self, b: int) -> str:
        return f"{b}^{self.exponent}+1"

    def parameters(self, b: int) -> dict[str, int]:
        return {"m": self.m, "b": b}

    def excluded(self, b: int) -> str | None:
        """Why b needs no test: N < 2, N even, or an algebraic factor (none of them has a factor 1)."""
        if b == 0:
            return "N = 1: neither prime nor composite"
        if b == 1:
            return None  # N = 2, prime: the deterministic test says so
        if b % 2:
            return "b odd: b^(2^m)+1 is even"
        power = _odd_power_root(b)
        if power is not None:
            c, d = power
            return f"algebraic: b = {c}^{d} with {d} odd, so {c}^{self.exponent}+1 divides N"
        if self.m == 1:
            y, exact = gmpy2.iroot(mpz(b // 2), 2)
            if exact and y > 1:
                return f"algebraic: b = 2*{y}^2, so N = 4*{y}^4+1 = (2*{y}^2+2*{y}+1)(2*{y}^2-2*{y}+1)"
        return None

    def sieve(
        self, lo: int, hi: int, prime_chunks: Iterable[np.ndarray], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        return sieve_gfn(self.m, lo, hi, prime_chunks, progress)

    def residue_mod(self, b: int, p: int) -> int:
        """N mod p without building N (re-checks factor claims)."""
        return (pow(b, self.exponent, p) + 1) % p

    # ----- tests and proofs ----------------------------------------------------------------
    def useless_bases(self, b: int) -> frozenset[int]:
        """Small bases a = g^i with b = g^j: g has order dividing j*2^(m+1), which divides i*(N-1) here
        (2 for the Fermat numbers b = 2^s: F5..F8 pass base 2)."""
        g, j = b, 1
        for d in range(2, max(2, b.bit_length()) + 1):
            root, exact = gmpy2.iroot(mpz(b), d)
            if exact:
                g, j = int(root), d
        out = set()
        modulus = j << (self.m + 1)
        power, i = g, 1
        while power <= 64 and b >= 2:
            if i * pow(b, self.exponent, modulus) % modulus == 0:
                out.add(power)
            power, i = power * g, i + 1
        return frozenset(out)

    def binary_shape(self, b: int) -> tuple[int, int, int] | None:
        """N = K*2^e + 1 with K = r^(2^m), e = s*2^m for b = 2^s*r (always this shape)."""
        if b < 1:
            return None
        s = (b & -b).bit_length() - 1
        return (b >> s) ** self.exponent, s * self.exponent, 1

    def test(self, b: int, options: TestOptions = DEFAULT_OPTIONS) -> TestOutcome:
        """Fermat base 3 (Gerbicz-checked, its RES64 recorded), then Proth/Pepin or Pocklington.

        `chain_run`, `check` and `faults` go to the Fermat test (checkpoints, fault injection); the proof
        step is checked too but never resumed (it only runs for the rare probable primes).
        """
        N = self.number(b)
        arith = self._arithmetic(b, N)
        outcome, residue, checked = fermat_screen(N, options=options, arith=arith)
        if outcome is not None:
            return outcome
        s = (b & -b).bit_length() - 1
        r = b >> s
        if r < (1 << s):
            return proth_test(N, r ** self.exponent, s * self.exponent, residue, checked, check=options.check,
                              arith=arith)
        status, certificate = pocklington(N, prime_divisors(b))
        if status == PRIME:
            return TestOutcome(PRIME, "pocklington", residue, certificate=certificate, **checked)
        if status == COMPOSITE:
            return TestOutcome(COMPOSITE, "pocklington", residue, **checked)
        return probable_prime_outcome(N, residue, checked)

    def _arithmetic(self, b: int, N: mpz) -> ModularArithmetic:
        """arith.select's choice for N = b^(2^m)+1: the weighted FFT when b is a power of two, the base-b
        transform for other even b up to its float64 limit, else the generic FFT or GMP."""
        K, e, c = self.binary_shape(b)
        return arithmetic_for(N, K, e, c, gfn=(b, self.m))
