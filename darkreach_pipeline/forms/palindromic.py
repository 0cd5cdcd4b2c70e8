"""Base-b palindromic primes with a given number of digits, searched exhaustively.

Only palindromes that can be prime are enumerated:
- 1 digit: the numbers 2..b-1 (each decided by the deterministic test);
- 2 digits: only "11" = b+1 (every 2-digit palindrome a*(b+1) is a multiple of it);
- even digit counts >= 4: none, every such palindrome is divisible by b+1 (b = -1 mod b+1);
- odd digit counts 2h+1 >= 3: leading (= last) digit coprime to b, the others free: a leading digit
  sharing a prime with b makes that prime divide N.
The campaign range is a digit count; the block axis is a global candidate index (0 = the first
1-digit candidate), increasing with N inside each digit count, so the index names the number on
its own. Candidates are sieved from their digits (sieve/digits.py), Fermat-tested to base 3,
and proven by ECPP (PARI's primecert) up to ECPP_MAX_DIGITS; below 2^64 the test is deterministic.
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Callable, Iterable, Mapping

import gmpy2
import numpy as np
from gmpy2 import mpz

from darkreach_pipeline.cost_model import balanced_depth, test_seconds
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.forms.base import EULER_GAMMA, PrimeForm
from darkreach_pipeline.primality.options import DEFAULT_OPTIONS, TestOptions
from darkreach_pipeline.primality.outcome import TestOutcome
from darkreach_pipeline.proofs.ecpp import prp_then_ecpp
from darkreach_pipeline.sieve.digits import (
    U64,
    check_primes,
    digit_columns,
    exact_divisors,
    grid_divisors,
    power_table,
    weighted_residues,
)

DIGIT_CHARS = "0123456789abcdefghijklmnopqrstuvwxyz"
MAX_BASE = len(DIGIT_CHARS)
MAX_INDEX = 2**62  # candidate indexes stay well inside int64
EXACT_LIMIT = 2**32  # below this N can equal a sieve prime: sieve the exact value instead
SIEVE_CELLS = 1 << 21  # residues held per prime batch

# Cost model constants, measured here (CPU time, loaded 2-core box): a test below 2^64 costs the
# pipeline's per-row work (6-8e-5 s through test_frame); above, Fermat costs ~bits^2 log bits. The
# digit sieve costs 1.6-1.9 ns per candidate and prime (base 10 d = 15, 21; base 2 d = 47; 10^5-10^6
# candidates against the 9592 primes below 10^5).
ROW_SECONDS = 6e-5
SIEVE_SECONDS_PER_CANDIDATE_PRIME = 1.8e-9


def leading_digits(base: int) -> tuple[int, ...]:
    """Leading digits a palindrome of >= 3 digits may have: coprime to the base (a = last digit)."""
    return tuple(a for a in range(1, base) if math.gcd(a, base) == 1)


def candidate_count(base: int, digits: int) -> int:
    """Candidates with this many base-b digits (see the module docstring for why)."""
    if digits == 1:
        return base - 2
    if digits == 2:
        return 1
    if digits % 2 == 0:
        return 0
    return len(leading_digits(base)) * base ** ((digits - 1) // 2)


@functools.cache
def starts(base: int) -> tuple[int, ...]:
    """starts[d] = index of the first candidate with d digits, for every d whose candidates fit MAX_INDEX."""
    out = [0, 0]
    while out[-1] <= MAX_INDEX:
        d = len(out) - 1
        out.append(out[-1] + candidate_count(base, d))
    return tuple(out[:-1])


def _survival(base: int, depth: float) -> float:
    """Mertens for numbers coprime to the base (the candidates are, by their last digit)."""
    fraction = math.exp(-EULER_GAMMA) / math.log(max(depth, 3))
    for q in {q for q in range(2, base + 1) if base % q == 0 and gmpy2.is_prime(q)}:
        fraction *= q / (q - 1)
    return min(1.0, fraction)


class PalindromicForm(PrimeForm):
    """Palindromes in base b with a given digit count; the axis is a candidate index."""

    name = "palindromic"
    axis = "candidate"
    range_key = "digits"
    param_names = ("base",)
    proof_methods = frozenset({"bpsw-below-2^64", "ecpp"})

    def __init__(self, base: int):
        self.base = base
        self.leading = leading_digits(base)
        self.starts = starts(base)
        # survival_fraction is a depth-only staticmethod in the protocol; here it depends on the base.
        self.survival_fraction = functools.partial(_survival, base)  # type: ignore[method-assign]

    # ----- campaign ------------------------------------------------------------------------
    @classmethod
    def validate(cls, params: Mapping[str, int], digits_min: int, digits_max: int) -> None:
        base = params["base"]
        if not 2 <= base <= MAX_BASE:
            raise CampaignError("base", f"must be between 2 and {MAX_BASE} (digits 0-9 and a-z), got {base}")
        if digits_min < 1:
            raise CampaignError("digits_min", f"must be >= 1 (a number has at least one digit), got {digits_min}")
        last = len(starts(base)) - 2
        if digits_max > last:
            raise CampaignError(
                "digits_max",
                f"base-{base} palindromes with {digits_max} digits are too many to enumerate (candidate indexes "
                f"past 2^62); use digits_max <= {last}",
            )
        if digits_min == digits_max and digits_min % 2 == 0 and digits_min >= 4:
            raise CampaignError(
                "digits_min",
                f"every palindrome with an even number of digits (here {digits_min}) is divisible by "
                f"base+1 = {base + 1}: use an odd digit count, e.g. digits_min = digits_max = {digits_min + 1}",
            )

    @classmethod
    def axis_bounds(cls, params: Mapping[str, int], digits_min: int, digits_max: int) -> tuple[int, int]:
        table = starts(params["base"])
        return table[digits_min], table[digits_max + 1] - 1

    @classmethod
    def auto_sieve_depth(cls, params: Mapping[str, int], axis_min: int, axis_max: int, block_size: int) -> int:
        """Depth where one more prime costs as much as the tests it saves: p = survival * T / (cost per
        candidate and prime); never past sqrt(N max), where every survivor is already a prime."""
        form = cls(params["base"])
        typical = axis_min + int(0.7 * (axis_max - axis_min))
        bits = max(form.bits(typical), 2.0)
        test = ROW_SECONDS + (test_seconds(bits, cls.special_test(params)) if bits > 64 else 0.0)
        depth = balanced_depth(form.survival_fraction, test, SIEVE_SECONDS_PER_CANDIDATE_PRIME, start=1e4)
        return min(depth, math.isqrt(int(form.number(axis_max))) + 1)

    # ----- numbers ---------------------------------------------------------------------------
    def locate(self, value: int) -> tuple[int, int]:
        """(digit count, index inside that digit count) of a candidate index."""
        if not 0 <= value < self.starts[-1]:
            raise ValueError(f"candidate index {value} is outside 0..{self.starts[-1] - 1} for base {self.base}")
        d = bisect.bisect_right(self.starts, value) - 1
        return d, value - self.starts[d]

    def digit_string(self, value: int) -> str:
        d, j = self.locate(value)
        if d == 1:
            return DIGIT_CHARS[j + 2]
        if d == 2:
            return "11"
        h = (d - 1) // 2
        r, t = divmod(j, self.base**h)
        half = [self.leading[r]]
        for i in range(h - 1, -1, -1):
            half.append(t // self.base**i % self.base)
        text = "".join(DIGIT_CHARS[a] for a in half)
        return text + text[-2::-1]

    def number(self, value: int) -> mpz:
        return mpz(self.digit_string(value), self.base)

    def bits(self, value: int) -> float:
        return max(1.0, math.log2(int(self.number(value))))

    def expression(self, value: int) -> str:
        text = self.digit_string(value)
        return text if self.base == 10 else f"({text})_{self.base}"

    def parameters(self, value: int) -> dict[str, int]:
        return {"base": self.base, "candidate": value}

    # ----- sieve -----------------------------------------------------------------------------
    def sieve(
        self, lo: int, hi: int, prime_chunks: Iterable[np.ndarray], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Smallest sieve prime dividing each candidate lo..hi-1 (0: survivor), from the digits alone.

        Inside a digit count d = 2h+1 the candidate j is (row q, column v) with v the low s free digits:
        N = row part + column part (mod p), so a block costs one compare per candidate and prime.
        Numbers below 2^32 are sieved exactly, so a prime never strikes itself.
        """
        factors = np.zeros(max(0, hi - lo), dtype=U64)
        segments = []
        for d in range(1, len(self.starts) - 1):
            first, end = max(lo, self.starts[d]), min(hi, self.starts[d + 1])
            if first < end:
                segments.append(self._segment(d, first - self.starts[d], end - self.starts[d], first - lo))
        for chunk in prime_chunks:
            chunk = check_primes(chunk)
            for segment in segments:
                segment(chunk, factors)
            if progress is not None:
                progress(len(chunk))
        return factors.astype(np.int64)

    def _segment(self, d: int, j0: int, j1: int, at: int) -> Callable[[np.ndarray, np.ndarray], None]:
        """A function sieving candidates j0..j1-1 of digit count d into factors[at:at + j1 - j0]."""
        b, count = self.base, j1 - j0
        if d <= 2:
            return self._exact([int(self.number(self.starts[d] + j)) for j in range(j0, j1)], at)
        # candidate j = q * b^s + v: row q = (leading digit, high free digits), column v = the low s digits
        h = (d - 1) // 2
        s = min(h, max(0, round(math.log(max(count, 1), b) / 2)))  # b^s columns ~ sqrt(block)
        width = b**s
        q0, q1 = j0 // width, (j1 - 1) // width
        first = j0 - q0 * width
        q = np.arange(q0, q1 + 1, dtype=np.int64)
        lead = np.array(self.leading, dtype=U64)[q // b ** (h - s)]
        row_digits = np.concatenate([lead[:, None], digit_columns(q % b ** (h - s), b, h - s)], axis=1)
        col_digits = digit_columns(np.arange(width), b, s)
        if b**d <= EXACT_LIMIT:  # exact values, all below 2^32: N = row part + column part
            weights = np.array([b ** (d - 1 - i) + b**i for i in range(h)] + [b**h], dtype=U64)
            row_values = (row_digits * weights[: h - s + 1]).sum(axis=1)
            col_values = (col_digits * weights[h - s + 1 :]).sum(axis=1)
            return self._exact((row_values[:, None] + col_values[None, :]).ravel()[first : first + count], at)

        def grid(primes: np.ndarray, factors: np.ndarray) -> None:
            batch = max(1, SIEVE_CELLS // (len(q) + width + d))
            for k in range(0, len(primes), batch):
                p = primes[k : k + batch]
                powers = power_table(b, 0, d, p)
                weights = (powers[d - 1 : d - 2 - h : -1] + powers[: h + 1]) % p  # b^(d-1-i) + b^i
                weights[h] = powers[h]  # the middle digit counts once
                rows = weighted_residues(row_digits, weights[: h - s + 1], p)
                cols = weighted_residues(col_digits, weights[h - s + 1 :], p)
                grid_divisors(rows, cols, p, first, factors[at : at + count])

        return grid

    @staticmethod
    def _exact(values: Iterable[int] | np.ndarray, at: int) -> Callable[[np.ndarray, np.ndarray], None]:
        """Sieve exact values (N < 2^32, so N may itself be a sieve prime: never struck by itself)."""
        values = np.asarray(values, dtype=U64)

        def exact(primes: np.ndarray, factors: np.ndarray) -> None:
            exact_divisors(values, primes, factors[at : at + len(values)])

        return exact

    # ----- tests and proofs ----------------------------------------------------------------
    def test(self, value: int, options: TestOptions = DEFAULT_OPTIONS) -> TestOutcome:
        """Fermat base 3 (Gerbicz-checked), strong BPSW, then ECPP or a labelled probable prime."""
        return prp_then_ecpp(self.number(value), options)

