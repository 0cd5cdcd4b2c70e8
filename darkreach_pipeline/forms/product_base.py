"""F(v) + c (c = +1 or -1) for a running product F (n!, p#): the machinery factorials and primorials share.

N-1 = F(v) (c = +1) or N+1 = F(v) (c = -1) is completely factored by construction, so every probable prime
gets a classical proof: Pocklington for F+1, Morrison (Lucas sequences) for F-1. The sieve carries F mod q
across the block (sieve/carried_product.py). A base of forms, not a form: both product forms import it, as
every form imports base.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import ClassVar

import numpy as np
from gmpy2 import mpz

from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.forms.base import PrimeForm
from darkreach_pipeline.primality.fermat import fermat_screen, probable_prime_outcome
from darkreach_pipeline.primality.options import DEFAULT_OPTIONS, TestOptions
from darkreach_pipeline.primality.outcome import COMPOSITE, PRIME, TestOutcome
from darkreach_pipeline.proofs.classical import morrison, pocklington
from darkreach_pipeline.sieve.carried_product import (
    sieve_carried_product_signs,
)

SMALL_BITS = 32  # numbers below 2^32 can equal a sieve prime


class ProductPlusMinusOne(PrimeForm):
    """F(v) + c for a running product F (n!, p#) with N -+ 1 = F(v) fully factored: shared machinery.

    Subclasses give F (product, product_mod), the factor each axis value multiplies in (step), the
    primes of F(v) (proof_primes), and the campaign limits.
    """

    param_names = ("c",)
    proof_methods = frozenset({"pocklington", "morrison", "bpsw-below-2^64"})
    symbol: ClassVar[str]

    def __init__(self, c: int):
        self.c = c

    # ----- campaign ------------------------------------------------------------------------
    @classmethod
    def validate_sign(cls, params: Mapping[str, int]) -> None:
        c = params["c"]
        if c not in (1, -1):
            raise CampaignError("c", f"must be +1 or -1 (the sign in {cls.axis}{cls.symbol}+c), got {c}")

    # ----- numbers ---------------------------------------------------------------------------
    def product(self, value: int) -> mpz:
        raise NotImplementedError

    def product_mod(self, value: int, q: int) -> int:
        """F(value) mod q by gmpy2's own product (never the sieve's code): re-checks factor claims."""
        raise NotImplementedError

    def step(self, value: int) -> int:
        """F(value) / F(value-1): the factor the sieve multiplies in at `value` (1 = none)."""
        raise NotImplementedError

    def proof_primes(self, value: int) -> list[int]:
        """The primes of F(value), i.e. of N-1 (c = +1) or N+1 (c = -1)."""
        raise NotImplementedError

    def number(self, value: int) -> mpz:
        return self.product(value) + self.c

    def expression(self, value: int) -> str:
        return f"{value}{self.symbol}{'+' if self.c == 1 else '-'}1"

    def parameters(self, value: int) -> dict[str, int]:
        return {"c": self.c, self.axis: value}

    def excluded(self, value: int) -> str | None:
        """N < 2 only (no algebraic factorization exists); F(value) is built only when it is tiny."""
        if self.c == -1 and self.bits(value) < 2 and self.product(value) < 3:
            return f"N = {self.number(value)} < 2: neither prime nor composite"
        return None

    def residue_mod(self, value: int, q: int) -> int:
        return (self.product_mod(value, q) + self.c) % q

    # ----- sieve -----------------------------------------------------------------------------
    def sieve(
        self, lo: int, hi: int, prime_chunks: Iterable[np.ndarray], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Smallest sieve prime dividing each N of [lo, hi), 0 for survivors (and for N < 2)."""
        return self.sieve_signs(lo, hi, prime_chunks, progress, (self.c,))[self.c]

    def sieve_signs(
        self, lo: int, hi: int, prime_chunks: Iterable[np.ndarray], progress: Callable[[int], None] | None = None,
        signs: tuple[int, ...] = (1, -1),
    ) -> dict[int, np.ndarray]:
        """sieve() of F+c for each sign c at once: one carried product gives both F+1 and F-1."""
        values = range(lo, hi)
        forms = {c: self if c == self.c else type(self)(c) for c in signs}
        wanted = {c: [f.excluded(v) is None for v in values] for c, f in forms.items()}
        per_sign = {c: (wanted[c], {i: int(f.number(v)) for i, v in enumerate(values) if f.bits(v) <= SMALL_BITS})
                    for c, f in forms.items()}
        factors = sieve_carried_product_signs(
            self.product(lo - 1) if lo > 0 else mpz(1), [self.step(v) for v in values], per_sign, prime_chunks,
            progress, min_prime=lo)
        for c in signs:
            factors[c][~np.array(wanted[c], dtype=bool)] = 0
        return factors

    # ----- tests and proofs ----------------------------------------------------------------
    def test(self, value: int, options: TestOptions = DEFAULT_OPTIONS) -> TestOutcome:
        """Fermat base 3 (Gerbicz-checked, its RES64 recorded), then Pocklington (N-1 = F) or Morrison
        (N+1 = F) over the primes of F; below 2^64 the deterministic BPSW answer."""
        N = self.number(value)
        outcome, residue, checked = fermat_screen(N, options=options)
        if outcome is not None:
            return outcome
        prove, method = (pocklington, "pocklington") if self.c == 1 else (morrison, "morrison")
        status, certificate = prove(N, self.proof_primes(value))
        if status == PRIME:
            return TestOutcome(PRIME, method, residue, certificate=certificate, **checked)
        if status == COMPOSITE:
            return TestOutcome(COMPOSITE, method, residue, **checked)
        return probable_prime_outcome(N, residue, checked)
