"""The protocol every prime form implements, with the defaults most forms share.

A form turns one campaign's parameters into numbers along an integer *axis* (n, p, b, k or a
candidate index): the pipeline cuts the axis into blocks and, for each value, asks the form to
exclude, sieve, test and verify. Nothing here knows about Dagster.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

import numpy as np
from gmpy2 import mpz

from darkreach_pipeline.primality.options import DEFAULT_OPTIONS, TestOptions
from darkreach_pipeline.primality.outcome import TestOutcome
from darkreach_pipeline.proofs.certificate_check import verify_proof

EULER_GAMMA = 0.5772156649


class PrimeForm:
    """Base of all forms. Subclasses set the class attributes and implement the numbered methods.

    Axis values are plain ints. `axis` is the column name in every stage's table; `range_key` is the
    prefix of the campaign file's inclusive range (`<range_key>_min`, `<range_key>_max`), the same as
    the axis unless the axis is an index over something else (palindromes: digits -> candidate).
    """

    name: ClassVar[str]
    axis: ClassVar[str]
    range_key: ClassVar[str] = ""  # "" means: the same as axis
    param_names: ClassVar[tuple[str, ...]] = ()
    proof_methods: ClassVar[frozenset[str]] = frozenset({"bpsw-below-2^64"})
    unit: ClassVar[str] = "prime"  # what one find is called in counts ("8 pairs in 'twin'")

    # ----- campaign ------------------------------------------------------------------------
    @classmethod
    def campaign_range_key(cls) -> str:
        return cls.range_key or cls.axis

    @classmethod
    def validate(cls, params: Mapping[str, int], range_min: int, range_max: int) -> None:
        """Raise CampaignError(field, message-with-the-fix) for an impossible campaign."""
        raise NotImplementedError

    @classmethod
    def axis_bounds(cls, params: Mapping[str, int], range_min: int, range_max: int) -> tuple[int, int]:
        """Inclusive axis values covered by the campaign range (identity unless the axis is an index)."""
        return range_min, range_max

    @classmethod
    def auto_sieve_depth(cls, params: Mapping[str, int], axis_min: int, axis_max: int, block_size: int) -> int:
        """Sieve depth where one more prime costs as much as the tests it saves; override per form."""
        return 10**6

    @classmethod
    def special_test(cls, params: Mapping[str, int]) -> bool:
        """Does the Fermat test run the special-form loop (K*2^e+-1, small K)? Picks cost_model's constant."""
        return False

    @staticmethod
    def survival_fraction(depth: float) -> float:
        """Share of candidates expected to survive a sieve to `depth` (Mertens, odd numbers)."""
        return min(1.0, 2 * math.exp(-EULER_GAMMA) / math.log(max(depth, 3)))

    # ----- numbers ---------------------------------------------------------------------------
    def bits(self, value: int) -> float:
        raise NotImplementedError

    def number(self, value: int) -> mpz:
        """The number whose Fermat residue is the row's RES64 (for pairs: the first member)."""
        raise NotImplementedError

    def members(self, value: int) -> list[mpz]:
        """Every number that must be prime for `value` to count (twins and chains have two)."""
        return [self.number(value)]

    def expression(self, value: int) -> str:
        raise NotImplementedError

    def parameters(self, value: int) -> dict[str, int]:
        """Columns of a result row: exactly param_names plus the axis."""
        raise NotImplementedError

    def excluded(self, value: int) -> str | None:
        """Why `value` needs no test (N < 2, algebraic factor, axis value not prime...), else None."""
        return None

    def sieve(
        self, lo: int, hi: int, prime_chunks: Iterable[np.ndarray], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """int64 array for axis values lo..hi-1: a prime factor of the candidate, or 0 (survivor).

        Never strikes a candidate by the prime it equals; calls progress(primes in chunk) per chunk.
        """
        raise NotImplementedError

    # ----- tests and proofs ----------------------------------------------------------------
    def fermat_base(self, value: int) -> int:
        """Base of the Fermat residue recorded as RES64 (never a base every member passes)."""
        return 3

    def useless_bases(self, value: int) -> frozenset[int]:
        """Bases to which every number of the form is a probable prime (skipped by the PRP re-check)."""
        return frozenset()

    def binary_shape(self, value: int) -> tuple[int, int, int] | None:
        """(K, e, c) with number(value) = K*2^e + c, c = +-1, when the number has that shape."""
        return None

    def test(self, value: int, options: TestOptions = DEFAULT_OPTIONS) -> TestOutcome:
        """Fermat test of number(value) (its RES64), then a proof or a labelled PRP for every member."""
        raise NotImplementedError

    def verify(self, value: int, certificate: Mapping[str, Any]) -> tuple[bool, str]:
        """Re-derive a proof from its certificate alone, by code the test does not use
        (proofs/certificate_check.py, which re-derives everything from N itself). A method this form never proves
        with, or a certificate missing or mangling a field, is refused with the reason, never raised: a bad
        certificate is a rejected proof."""
        method = certificate.get("method") if isinstance(certificate, Mapping) else None
        if method not in self.proof_methods:
            return False, f"no proof: method {method!r} is not a proof for {self.name} numbers"
        try:
            return self.verify_certificate(value, dict(certificate))
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            return False, f"malformed certificate: {exc!r}"

    def verify_certificate(self, value: int, certificate: dict[str, Any]) -> tuple[bool, str]:
        """The re-check behind verify(), after its guards: the shared verifier on number(value)."""
        return verify_proof(self.number(value), certificate)

    def residue_mod(self, value: int, p: int) -> int:
        """Product of the members mod p (0 iff p divides one): re-checks the sieve's factor claims."""
        product = 1
        for N in self.members(value):
            product = product * int(N % p) % p
        return product

    def is_tiny_prime_equal(self, value: int, p: int) -> bool:
        """Was p's strike only through a member equal to p (which p must never strike)? For pairs, p may
        equal one member and still divide the other: 2 strikes the pair 2, 4 through the 4."""
        if self.bits(value) >= 64:
            return False
        members = self.members(value)
        return any(N == p for N in members) and not any(N % p == 0 and N != p for N in members)
