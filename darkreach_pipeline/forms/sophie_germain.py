"""Sophie Germain pairs p = k*2^n-1 and 2p+1 = k*2^(n+1)-1, over n (k fixed) or over k (n fixed).

Both members are Riesel numbers with the same k, so both are sieved by k*2^m-1 sieves (over n: one
sieve_kbn over n..n_max+1 read at n and at n+1) and both are proven by LLR when K < 2^e (k*2^n = K*2^e,
K odd): the safe prime is k*2^(n+1)-1 with the same odd K, not 2k*2^n-1, whose even k made darkreach
fall back to Miller-Rabin. p is number(value): its Fermat base-3 residue is the RES64; 2p+1 is tested
only when p is prime or a probable prime. A pair is "prime" only when both members are proven.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

import numpy as np

from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.forms.kbn_limits import MAX_N, check_k, check_n
from darkreach_pipeline.forms.pair_base import (
    OVER_K_SECONDS_PER_PRIME_MEMBER,
    PairForm,
    Term,
    merge_factors,
    pair_proof_methods,
)
from darkreach_pipeline.sieve.kbn import seconds_per_prime, sieve_kbn
from darkreach_pipeline.sieve.over_k import sieve_over_k

MEMBER_PROOFS = ("bpsw-below-2^64", "llr", "morrison")


class SophieGermainForm(PairForm):
    """k*2^n-1 and k*2^(n+1)-1 for fixed k; the block axis is n."""

    name = "sophie_germain"
    axis = "n"
    param_names = ("k",)
    pair_method = "sophie-germain"
    proof_methods = pair_proof_methods((MEMBER_PROOFS, MEMBER_PROOFS))

    def __init__(self, k: int):
        self.k = k

    @classmethod
    def validate(cls, params: Mapping[str, int], n_min: int, n_max: int) -> None:
        k = params["k"]
        check_k("k", k)
        if k % 2 == 0:
            j, kk = 0, k
            while kk % 2 == 0:
                kk //= 2
                j += 1
            raise CampaignError(
                "k",
                f"k = {k} is even, so every pair repeats another campaign's: "
                f"use k = {kk} with n_min = {n_min + j}, n_max = {n_max + j} instead",
            )
        if k % 3:
            raise CampaignError("k", f"k = {k} is not divisible by 3, so 3 divides k*2^n-1 or k*2^(n+1)-1 for every "
                                     "n and only the pair 3, 7 (k = 1, n = 2) could be found; use a k divisible by 3")
        check_n("n_max", n_max, MAX_N - 1)

    @classmethod
    def auto_sieve_depth(cls, params: Mapping[str, int], n_min: int, n_max: int, block_size: int) -> int:
        n = n_min + 0.7 * (n_max - n_min)
        span = min(block_size, n_max - n_min + 1)
        per_prime = seconds_per_prime(span + 1)  # one sieve_kbn over span + 1 values of n
        return cls.pair_depth(params, n + math.log2(params["k"]), span, per_prime)

    def terms(self, n: int) -> tuple[Term, Term]:
        return (self.k, 2, n, -1), (self.k, 2, n + 1, -1)

    def expression(self, n: int) -> str:
        return _expression(self.k, n)

    def parameters(self, n: int) -> dict[str, int]:
        return {"k": self.k, "n": n}

    def sieve(
        self, lo: int, hi: int, prime_chunks: Iterable[np.ndarray], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """One k*2^n-1 sieve over lo..hi: entry n strikes p, entry n+1 strikes 2p+1."""
        if hi <= lo:
            return np.zeros(0, dtype=np.int64)
        riesel = sieve_kbn(self.k, 2, -1, lo, hi + 1, prime_chunks, progress)
        return merge_factors(riesel[:-1], riesel[1:]).astype(np.int64)


class SophieGermainOverKForm(PairForm):
    """k*2^n-1 and k*2^(n+1)-1 for fixed n; the block axis is k."""

    name = "sophie_germain"
    axis = "k"
    param_names = ("n",)
    pair_method = "sophie-germain"
    proof_methods = SophieGermainForm.proof_methods

    def __init__(self, n: int):
        self.n = n

    @classmethod
    def validate(cls, params: Mapping[str, int], k_min: int, k_max: int) -> None:
        check_n("n", params["n"], MAX_N - 1)
        if k_min < 1:
            raise CampaignError("k_min", f"must be >= 1 (k = 0 gives -1), got {k_min}")
        check_k("k_max", k_max)

    @classmethod
    def auto_sieve_depth(cls, params: Mapping[str, int], k_min: int, k_max: int, block_size: int) -> int:
        k = k_min + 0.7 * (k_max - k_min)
        span = min(block_size, k_max - k_min + 1)
        bits = params["n"] + math.log2(max(k, 1))
        return cls.pair_depth(params, bits, span, 2 * OVER_K_SECONDS_PER_PRIME_MEMBER)

    def terms(self, k: int) -> tuple[Term, Term]:
        return (k, 2, self.n, -1), (k, 2, self.n + 1, -1)

    def expression(self, k: int) -> str:
        return _expression(k, self.n)

    def parameters(self, k: int) -> dict[str, int]:
        return {"n": self.n, "k": k}

    def sieve(
        self, lo: int, hi: int, prime_chunks: Iterable[np.ndarray], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        members = [(2, self.n, -1), (2, self.n + 1, -1)]
        return sieve_over_k(members, lo, hi, prime_chunks, progress).astype(np.int64)


def _expression(k: int, n: int) -> str:
    head = "" if k == 1 else f"{k}*"
    return f"{head}2^{n}-1, {head}2^{n + 1}-1"
