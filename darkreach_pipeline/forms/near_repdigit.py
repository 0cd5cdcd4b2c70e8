"""Near-repdigit palindromes (darkreach's definition): N = 10^(2k+1) - 1 - d*(10^(k+m) + 10^(k-m)).

2k+1 nines with the two digits at distance m from the middle lowered to 9-d (d in 1..8, m in 1..k),
e.g. k = 2, d = 1, m = 1: 98989. The campaign range is the digit count 2k+1 (odd, >= 3); the block
axis is a global candidate index over (k, d, m) in that order, index = 4k(k-1) + (d-1)k + (m-1).

Trivial factors are excluded with their reason: d = 3, 6 (digit sum 9(2k+1) - 2d divisible by 3);
m = k puts 9-d last, so d = 1, 5, 7 make N even and d = 4 ends it in 5; d = 1 with k+m odd is a
multiple of 11 (alternating digit sum). No algebraic factorization of this family is known to us.
Proofs: ECPP up to ECPP_MAX_DIGITS, probable prime above. N+1 = 10^(k-m) * (...) has a known
factored part 10^(k-m) < sqrt(N), so Morrison's N+1 test never applies; the BLS cube-root variant
(F >= N^(1/3) for small m) is left out, those primes stay probable primes above ECPP_MAX_DIGITS.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

import numpy as np
from gmpy2 import mpz

from darkreach_pipeline.cost_model import balanced_depth, test_seconds
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.forms.base import EULER_GAMMA, PrimeForm
from darkreach_pipeline.primality.options import DEFAULT_OPTIONS, TestOptions
from darkreach_pipeline.primality.outcome import TestOutcome
from darkreach_pipeline.proofs.ecpp import prp_then_ecpp
from darkreach_pipeline.sieve.digits import U64, check_primes, exact_divisors, pow_mod, power_table, record_first

MAX_DIGITS = 200_001  # a Fermat test of ~660,000 bits takes about an hour on one core
MAX_D = 8
EXACT_K = 4  # k <= 4: N < 10^9 < 2^32 can equal a sieve prime, so it is sieved exactly
SIEVE_CELLS = 1 << 21

# Cost model (see PalindromicForm): per-row pipeline work, Fermat ~bits^2 log bits, and the sieve's
# cost per candidate and prime, measured here (CPU time): 8 ns at k = 60, 4.2 ns at k = 500 and
# 5000, 5.1 ns at k = 20000 (power tables of 10^(k+-m) plus one compare per (d, m) cell).
ROW_SECONDS = 6e-5
SIEVE_SECONDS_PER_CANDIDATE_PRIME = 5e-9


def first_index(k: int) -> int:
    """Index of the first candidate with 2k+1 digits (8 candidates per unit of k before it)."""
    return 4 * k * (k - 1)


def _quotient(A: np.ndarray, d: int, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x with d*x = A mod p where p does not divide d, mask of the primes dividing d).

    Turns the sieve's test d*S = A into a bare compare S = A/d; x = (A + j*p)/d for the j < d
    that makes the division exact (d <= 8, so A + j*p < 2^35)."""
    x = np.zeros_like(A)
    for j in range(d - 1, -1, -1):
        candidate = A + U64(j) * p
        exact = candidate % U64(d) == 0
        x[exact] = candidate[exact] // U64(d)
    return x % p, (U64(d) % p) == 0


class NearRepdigitForm(PrimeForm):
    """10^(2k+1) - 1 - d*(10^(k+m) + 10^(k-m)); the axis is a candidate index over (k, d, m)."""

    name = "near_repdigit"
    axis = "candidate"
    range_key = "digits"
    param_names = ()
    proof_methods = frozenset({"bpsw-below-2^64", "ecpp"})

    # ----- campaign ------------------------------------------------------------------------
    @classmethod
    def validate(cls, params: Mapping[str, int], digits_min: int, digits_max: int) -> None:
        if digits_max < 3:
            raise CampaignError("digits_max", f"near-repdigits have an odd digit count >= 3, got {digits_max}")
        if digits_min == digits_max and digits_min % 2 == 0:
            raise CampaignError(
                "digits_min",
                f"near-repdigits have an odd digit count (2k+1), got {digits_min}: use "
                f"digits_min = digits_max = {digits_min + 1}",
            )
        if digits_max > MAX_DIGITS:
            raise CampaignError(
                "digits_max", f"must be <= {MAX_DIGITS} (one test of a larger number takes hours), got {digits_max}"
            )

    @classmethod
    def axis_bounds(cls, params: Mapping[str, int], digits_min: int, digits_max: int) -> tuple[int, int]:
        k_min = max(1, digits_min // 2)  # the smallest k with 2k+1 >= digits_min
        k_max = (digits_max - 1) // 2
        return first_index(k_min), first_index(k_max + 1) - 1

    @staticmethod
    def survival_fraction(depth: float) -> float:
        """Mertens for numbers free of 2, 3 and 5 (most candidates are), times the 6 of 8 values of d
        that are not multiples of 3 (the excluded ones count as candidates here)."""
        return min(1.0, 0.75 * math.exp(-EULER_GAMMA) / math.log(max(depth, 3)) * 2 * 1.5 * 1.25)

    @classmethod
    def auto_sieve_depth(cls, params: Mapping[str, int], axis_min: int, axis_max: int, block_size: int) -> int:
        """Depth where one more prime costs as much as the tests it saves (as for palindromes)."""
        form = cls()
        bits = form.bits(axis_min + int(0.7 * (axis_max - axis_min)))
        test = ROW_SECONDS + (test_seconds(bits, cls.special_test(params)) if bits > 64 else 0.0)
        depth = balanced_depth(cls.survival_fraction, test, SIEVE_SECONDS_PER_CANDIDATE_PRIME, start=1e4)
        k_max = form.locate(axis_max)[0]
        if k_max <= 9:  # N < 10^19: past sqrt(N) the sieve leaves only primes
            depth = min(depth, math.isqrt(10 ** (2 * k_max + 1)) + 1)
        return int(depth)

    # ----- numbers ---------------------------------------------------------------------------
    @staticmethod
    def locate(value: int) -> tuple[int, int, int]:
        """(k, d, m) of a candidate index."""
        if value < 0:
            raise ValueError(f"candidate index must be >= 0, got {value}")
        k = (1 + math.isqrt(value + 1)) // 2
        d, m = divmod(value - first_index(k), k)
        return k, d + 1, m + 1

    def number(self, value: int) -> mpz:
        k, d, m = self.locate(value)
        ten = mpz(10)
        return ten ** (2 * k + 1) - 1 - d * (ten ** (k + m) + ten ** (k - m))

    def bits(self, value: int) -> float:
        """log2 N = log2(10^(k+m) * (10^(k+1-m) - d) - small), without building N."""
        k, d, m = self.locate(value)
        e = k + 1 - m
        return (k + m) * math.log2(10) + (e * math.log2(10) if e > 15 else math.log2(10**e - d))

    def expression(self, value: int) -> str:
        k, d, m = self.locate(value)
        if k <= 10:
            return str(self.number(value))
        return f"10^{2 * k + 1}-1-{d}*(10^{k + m}+10^{k - m})"

    def parameters(self, value: int) -> dict[str, int]:
        return {"candidate": value}

    def residue_mod(self, value: int, p: int) -> int:
        """N mod p from powers of 10, without building N."""
        k, d, m = self.locate(value)
        return (pow(10, 2 * k + 1, p) - 1 - d * (pow(10, k + m, p) + pow(10, k - m, p))) % p

    def excluded(self, value: int) -> str | None:
        """Trivial factors that hold for the whole (d, m) pattern; N >= 191 is never equal to them."""
        k, d, m = self.locate(value)
        if d % 3 == 0:
            return f"3 | N: the digit sum 9*{2 * k + 1}-2*{d} is a multiple of 3"
        if m == k and d in (1, 5, 7):
            return f"2 | N: the last digit is {9 - d}"
        if m == k and d == 4:
            return "5 | N: the last digit is 5"
        if d == 1 and (k + m) % 2:
            return "11 | N: the alternating digit sum is 0 mod 11 (d = 1, k+m odd)"
        return None

    # ----- sieve -----------------------------------------------------------------------------
    def sieve(
        self, lo: int, hi: int, prime_chunks: Iterable[np.ndarray], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Smallest sieve prime dividing each candidate lo..hi-1 (0: survivor).

        Per k: A = 10^(2k+1) - 1 and S(m) = 10^(k+m) + 10^(k-m) mod p (power tables over the m the
        block needs), then p | N  <=>  d*S(m) = A (mod p): one multiply and compare per cell.
        """
        factors = np.zeros(max(0, hi - lo), dtype=U64)
        groups = []
        value = lo
        while value < hi:
            k = self.locate(value)[0]
            end = min(hi, first_index(k + 1))
            groups.append((k, value, end))
            value = end
        for chunk in prime_chunks:
            chunk = check_primes(chunk)
            for k, first, end in groups:
                view = factors[first - lo : end - lo]
                if k <= EXACT_K:
                    values = np.array([int(self.number(v)) for v in range(first, end)], dtype=U64)
                    exact_divisors(values, chunk, view)
                else:
                    self._sieve_k(k, first, end, chunk, view)
            if progress is not None:
                progress(len(chunk))
        return factors.astype(np.int64)

    def _sieve_k(self, k: int, first: int, end: int, primes: np.ndarray, factors: np.ndarray) -> None:
        """Candidates first..end-1, all with 2k+1 digits (N > 2^32: no prime can equal one)."""
        within = np.arange(first, end, dtype=np.int64) - first_index(k)
        d_of, m_of = within // k + 1, within % k + 1
        m_lo, m_hi = int(m_of.min()), int(m_of.max())
        rows = m_hi - m_lo + 1
        batch = max(64, SIEVE_CELLS // (3 * rows))
        for s in range(0, len(primes), batch):
            p = primes[s : s + batch]
            A = (pow_mod(10, 2 * k + 1, p) + p - U64(1)) % p
            up = power_table(10, k + m_lo, rows, p)  # 10^(k+m), m = m_lo..m_hi
            down = power_table(10, k - m_hi, rows, p)[::-1]  # 10^(k-m), same m order
            S = (up + down) % p
            for d in np.unique(d_of).tolist():
                idx = np.flatnonzero(d_of == d)  # consecutive candidates, m increasing
                target, divides_d = _quotient(A, d, p)
                hit = S[m_of[idx[0]] - m_lo : m_of[idx[-1]] - m_lo + 1] == target
                hit[:, divides_d] = (A[divides_d] == 0)[None, :]  # p | d: p | N iff p | A
                record_first(hit, p, factors, idx)

    # ----- tests and proofs ----------------------------------------------------------------
    def test(self, value: int, options: TestOptions = DEFAULT_OPTIONS) -> TestOutcome:
        """Fermat base 3 (Gerbicz-checked), strong BPSW, then ECPP or a labelled probable prime."""
        return prp_then_ecpp(self.number(value), options)

