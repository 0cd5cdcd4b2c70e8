"""Twin primes k*b^n-1, k*b^n+1, over n (k fixed) or over k (n fixed, as PrimeGrid's twin searches run).

Both members are sieved together (a candidate is struck when either member has a factor). The first
member k*b^n-1 is number(value) and is tested first; k*b^n+1 only when it is prime or a probable prime
(forms/pair_base.py: the test, the proofs and the verification every pair form shares).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

import numpy as np

from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.forms.kbn_limits import check_b, check_k, check_k_not_divisible_by_b, check_n
from darkreach_pipeline.forms.pair_base import (
    OVER_K_SECONDS_PER_PRIME_MEMBER,
    PairForm,
    Term,
    merge_factors,
    pair_proof_methods,
)
from darkreach_pipeline.sieve.kbn import seconds_per_prime, sieve_kbn
from darkreach_pipeline.sieve.over_k import sieve_over_k


class TwinForm(PairForm):
    """k*b^n -+ 1 for fixed k, b; the block axis is n."""

    name = "twin"
    axis = "n"
    param_names = ("k", "b")
    pair_method = "twin"
    proof_methods = pair_proof_methods((("bpsw-below-2^64", "llr", "morrison"),
                                        ("bpsw-below-2^64", "proth", "pocklington")))

    def __init__(self, k: int, b: int):
        self.k, self.b = k, b

    @classmethod
    def validate(cls, params: Mapping[str, int], n_min: int, n_max: int) -> None:
        k, b = params["k"], params["b"]
        check_k("k", k)
        check_b(b)
        check_k_not_divisible_by_b(k, b, n_min, n_max, "pair")
        if k % 2 and b % 2:
            raise CampaignError("k", f"k = {k} and b = {b} are both odd, so k*b^n-1 and k*b^n+1 are both even: "
                                     "no twin primes; use an even k or an even b")
        if k % 3 and b % 3:
            raise CampaignError("k", f"neither k = {k} nor b = {b} is divisible by 3, so one of k*b^n-1, k*b^n+1 "
                                     "is divisible by 3 for every n and only 3, 5 could be found; use a k divisible "
                                     "by 3 (PrimeGrid's twin searches use k = 3 mod 6)")
        check_n("n_max", n_max)

    @classmethod
    def auto_sieve_depth(cls, params: Mapping[str, int], n_min: int, n_max: int, block_size: int) -> int:
        k, b = params["k"], params["b"]
        n = n_min + 0.7 * (n_max - n_min)
        span = min(block_size, n_max - n_min + 1)
        per_prime = 2 * seconds_per_prime(span)  # one sieve_kbn per sign
        return cls.pair_depth(params, n * math.log2(b) + math.log2(k), span, per_prime)

    def terms(self, n: int) -> tuple[Term, Term]:
        return (self.k, self.b, n, -1), (self.k, self.b, n, 1)

    def expression(self, n: int) -> str:
        head = f"{self.b}^{n}" if self.k == 1 else f"{self.k}*{self.b}^{n}"
        return f"{head}+-1"

    def parameters(self, n: int) -> dict[str, int]:
        return {"k": self.k, "b": self.b, "n": n}

    def sieve(
        self, lo: int, hi: int, prime_chunks: Iterable[np.ndarray], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """sieve_kbn for both signs, chunk by chunk (the chunks are read once); the smaller factor wins."""
        factors = np.zeros(max(hi - lo, 0), dtype=np.uint64)
        for chunk in prime_chunks:
            for c in (-1, 1):
                factors = merge_factors(factors, sieve_kbn(self.k, self.b, c, lo, hi, [chunk]))
            if progress is not None:
                progress(len(chunk))
        return factors.astype(np.int64)


class TwinOverKForm(PairForm):
    """k*b^n -+ 1 for fixed n, b; the block axis is k (PrimeGrid's twin prime searches)."""

    name = "twin"
    axis = "k"
    param_names = ("n", "b")
    pair_method = "twin"
    proof_methods = TwinForm.proof_methods

    def __init__(self, n: int, b: int):
        self.n, self.b = n, b

    @classmethod
    def validate(cls, params: Mapping[str, int], k_min: int, k_max: int) -> None:
        check_b(params["b"])
        check_n("n", params["n"])
        if k_min < 1:
            raise CampaignError("k_min", f"must be >= 1 (k = 0 gives -1 and +1), got {k_min}")
        check_k("k_max", k_max)

    @classmethod
    def auto_sieve_depth(cls, params: Mapping[str, int], k_min: int, k_max: int, block_size: int) -> int:
        n, b = params["n"], params["b"]
        k = k_min + 0.7 * (k_max - k_min)
        span = min(block_size, k_max - k_min + 1)
        bits = n * math.log2(b) + math.log2(max(k, 1))
        return cls.pair_depth(params, bits, span, 2 * OVER_K_SECONDS_PER_PRIME_MEMBER)

    def terms(self, k: int) -> tuple[Term, Term]:
        return (k, self.b, self.n, -1), (k, self.b, self.n, 1)

    def expression(self, k: int) -> str:
        return f"{k}*{self.b}^{self.n}+-1"

    def parameters(self, k: int) -> dict[str, int]:
        return {"n": self.n, "b": self.b, "k": k}

    def sieve(
        self, lo: int, hi: int, prime_chunks: Iterable[np.ndarray], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        members = [(self.b, self.n, -1), (self.b, self.n, 1)]
        return sieve_over_k(members, lo, hi, prime_chunks, progress).astype(np.int64)
