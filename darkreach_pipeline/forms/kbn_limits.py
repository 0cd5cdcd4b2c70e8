"""Campaign limits and checks of the k*b^n+-1 forms (kbn, twin, Sophie Germain): one place for each rule.

Not a form: the forms of this shape import it, as every form imports base.py.
"""

from __future__ import annotations

from darkreach_pipeline.errors import CampaignError

MAX_K = 2**62  # K stays inside the special-form loop's 64 bits
MAX_B = 2**31  # the sieve needs b < 2^32
MAX_N = 50_000_000  # one test at n = 5*10^7 (base 2) is already weeks on one core


def check_k(field: str, k: int) -> None:
    if k < 1 or k > MAX_K:
        raise CampaignError(field, f"must be between 1 and 2^62, got {k}")


def check_b(b: int) -> None:
    if b < 2 or b > MAX_B:
        raise CampaignError("b", f"must be between 2 and 2^31, got {b}")


def check_n(field: str, n: int, limit: int = MAX_N) -> None:
    if n < 0 or n > limit:
        raise CampaignError(field, f"must be between 0 and {limit} (one test must stay feasible), got {n}")


def check_k_not_divisible_by_b(k: int, b: int, n_min: int, n_max: int, unit: str) -> None:
    """k = b*k' makes every number (or pair: `unit`) repeat those of k' at n+1: name the campaign to run instead."""
    if k % b:
        return
    j, kk = 0, k
    while kk % b == 0:
        kk //= b
        j += 1
    raise CampaignError(
        "k",
        f"k = {k} is divisible by b = {b}, so every {unit} repeats another campaign's: "
        f"use k = {kk} with n_min = {n_min + j}, n_max = {n_max + j} instead",
    )
