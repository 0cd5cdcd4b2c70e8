"""Known answers for the Sophie Germain form (p = k*2^n-1 and 2p+1 = k*2^(n+1)-1 both prime), over n and k.

The expected answers are never taken from the engine: both members are built here from the formula
and decided by PARI/GP (ispseudoprime, then isprime, a proof, for the pairs) and gmpy2.is_prime, which
must agree; OEIS terms we are sure of are checked too. The engine runs as the pipeline runs it:
parse_campaign, then candidate_frame, sieve_frame, test_frame and certificate_frame for every block,
with the block audits of checks.py.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import tomllib
from pathlib import Path

import gmpy2
import numpy as np
import pytest
from oracles import NEVER, BlockRun, pari, run_blocks
from oracles import is_prime_two_oracles as two_oracles

from darkreach_pipeline.blocks import EXCLUDED, FACTOR, SURVIVOR
from darkreach_pipeline.campaign import load_campaign, parse_campaign
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.forms import form_for
from darkreach_pipeline.forms.sophie_germain import SophieGermainForm, SophieGermainOverKForm
from darkreach_pipeline.primality.outcome import COMPOSITE, PRIME
from darkreach_pipeline.sieve.primes import prime_chunks, small_primes

REPO = Path(__file__).resolve().parents[2]
MASK64 = (1 << 64) - 1
# OEIS A002235 (3*2^n-1 prime), all terms up to n = 600: the SG pairs of k = 3 are its consecutive terms.
A002235 = [0, 1, 2, 3, 4, 6, 7, 11, 18, 34, 38, 43, 55, 64, 76, 94, 103, 143, 206, 216, 306, 324, 391, 458, 470]
# OEIS A005384, Sophie Germain primes: the first 20 terms (all below 300).
A005384 = [2, 3, 5, 11, 23, 29, 41, 53, 83, 89, 113, 131, 173, 179, 191, 233, 239, 251, 281, 293]


def is_prime(N: int) -> bool:
    """PARI's BPSW and gmpy2's Miller-Rabin + BPSW, which must agree (the pairs are then proven by isprime)."""
    return two_oracles(N, NEVER)


def sg_members(k: int, n: int) -> tuple[int, int]:
    p = k * 2**n - 1
    return p, 2 * p + 1


@functools.cache
def is_sg_pair(k: int, n: int) -> bool:
    """Both members prime; a pair found by BPSW is then proven by PARI's isprime (APR-CL)."""
    p, q = sg_members(k, n)
    if not (is_prime(p) and is_prime(q)):
        return False
    assert pari.isprime(p) and pari.isprime(q), f"a BPSW pseudoprime: {k}*2^{n}-1"
    return True


def run_pipeline(fields: dict) -> BlockRun:
    """Every block through the four stages, each block audited as the asset checks do."""
    return run_blocks({"name": "sg-known", "form": "sophie_germain", **fields})


def check_pipeline(run: BlockRun, members_of, truth_of) -> set[int]:
    """The engine's full result set must equal the oracles'; every stage's claims are re-checked here.

    In these ranges every pair is provable (LLR with K < 2^e, or below 2^64), so every find must be
    proven, and both members of a pair above 2^64 must be proven by LLR (darkreach left the safe
    prime probabilistic).
    """
    spec, form, sieved, results, certs = run.spec, run.form, run.sieved, run.results, run.certs
    axis = spec.axis
    expected = {v for v in range(spec.axis_min, spec.axis_max + 1) if truth_of(v)}
    for row in sieved.to_dict("records"):
        v, status, p = int(row[axis]), row["status"], int(row["factor"])
        members = members_of(v)
        if status == EXCLUDED:
            assert v not in expected, f"{v} excluded ({row['reason']}) but both members are prime"
            assert any(not is_prime(N) for N in members)
        elif status == FACTOR:
            assert any(N % p == 0 and N != p for N in members), f"{v}: claimed factor {p} divides no member {members}"
            assert gmpy2.is_prime(p)
        else:
            assert status == SURVIVOR and p == 0
    for row in results.to_dict("records"):
        p = members_of(int(row[axis]))[0]
        assert row["res64"] == format(int(pari.lift(pari.Mod(3, p) ** (p - 1))) & MASK64, "016x"), row
    found = set(results.loc[results["result"] != COMPOSITE, axis].astype(int))
    assert found == expected, f"missed {sorted(expected - found)}, extra {sorted(found - expected)}"
    assert set(results.loc[results["result"] == PRIME, axis].astype(int)) == expected
    assert (certs["status"] == "proven").all() and certs["verified"].all()
    for row in certs.to_dict("records"):
        v = int(row[axis])
        certificate = json.loads(row["certificate"])
        assert certificate["method"] == "sophie-germain"
        assert form.verify(v, certificate)[0]
        for N, member in zip(members_of(v), certificate["members"], strict=True):
            assert member["method"] == ("llr" if N >= 2**64 else "bpsw-below-2^64"), (v, certificate)
    return expected


# ----- over n: k fixed ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "n_max", "block_size", "depth", "pairs"),
    [
        (3, 600, 200, 20_000, [0, 1, 2, 3, 6]),  # 2, 5 and 5, 11 and 11, 23 and 23, 47: members below the sieve bound
        (2145, 600, 150, 20_000, [3, 4, 5, 15, 16, 503]),  # LLR on both sides at n = 503
        (195, 150, 75, 10_000, [3, 8, 9, 99]),
    ],
)
def test_pairs_over_n_agree_with_pari_and_gmpy2(k, n_max, block_size, depth, pairs) -> None:
    run = run_pipeline({"k": k, "n_min": 0, "n_max": n_max, "block_size": block_size, "sieve_depth": depth})
    found = check_pipeline(run, lambda n: sg_members(k, n), lambda n: is_sg_pair(k, n))
    assert sorted(found) == pairs


def test_k3_pairs_are_consecutive_terms_of_oeis_a002235() -> None:
    assert [n for n in range(601) if is_prime(3 * 2**n - 1)] == A002235
    form = SophieGermainForm(3)
    for n in A002235:
        outcome = form.test(n)
        assert (outcome.result != COMPOSITE) == (n + 1 in A002235), (n, outcome)


# ----- over k: n fixed ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "k_min", "k_max", "block_size", "depth", "at_least"),
    [
        (12, 1, 3000, 1000, 10_000, 30),  # all members below 2^64
        (64, 1, 4000, 2000, 20_000, 5),  # LLR on both; k = 1410, 1674, 3990 are even (K = k/2, e = 65)
        (65, 1, 2200, 1100, 20_000, 3),  # the same pairs again at k/2: 705, 837, 1995
    ],
)
def test_pairs_over_k_agree_with_pari_and_gmpy2(n, k_min, k_max, block_size, depth, at_least) -> None:
    run = run_pipeline({"n": n, "k_min": k_min, "k_max": k_max, "block_size": block_size, "sieve_depth": depth})
    found = check_pipeline(run, lambda k: sg_members(k, n), lambda k: is_sg_pair(k, n))
    assert len(found) >= at_least


def test_tiny_pairs_below_the_sieve_bound_match_oeis_a005384() -> None:
    """n = 0: p = k-1, 2p+1 = 2k-1, all below the sieve depth; no member may be struck by itself."""
    run = run_pipeline({"n": 0, "k_min": 1, "k_max": 2000, "block_size": 700, "sieve_depth": 5000})
    found = check_pipeline(run, lambda k: sg_members(k, 0), lambda k: is_sg_pair(k, 0))
    assert sorted(k - 1 for k in found)[:20] == A005384
    assert len(found) == sum(1 for p in range(2, 2000) if gmpy2.is_prime(p) and gmpy2.is_prime(2 * p + 1))
    sieved = run.sieved.set_index("k")
    assert sieved.loc[1, "status"] == EXCLUDED and sieved.loc[2, "status"] == EXCLUDED  # p = 0, 1


def test_k1_is_rejected_as_a_campaign_but_still_right_when_run() -> None:
    """k = 1 (Mersenne pairs 2^n-1, 2^(n+1)-1): 3 divides a member of every pair but 3, 7 (n = 2)."""
    form = SophieGermainForm(1)
    values = range(0, 301)
    factors = form.sieve(0, 301, prime_chunks(2, 5000))
    found = {n for n, factor in zip(values, factors.tolist(), strict=True)
             if form.excluded(n) is None and factor == 0 and form.test(n).result != COMPOSITE}
    assert found == {n for n in values if is_sg_pair(1, n)} == {2}
    assert form.useless_bases(61) == frozenset({2})  # Mersenne numbers pass base 2
    with pytest.raises(CampaignError):
        parse_campaign({"name": "k1", "form": "sophie_germain", "k": 1, "n_min": 0, "n_max": 300, "block_size": 301,
                        "sieve_depth": 5000})


# ----- traps -----------------------------------------------------------------------------------------


def test_one_prime_member_is_not_a_pair() -> None:
    """p prime and 2p+1 composite (and the reverse), above 2^64 too: never a pair."""
    seen = {"p prime": 0, "2p+1 prime": 0}
    for k, n_max in ((3, 600), (2145, 600)):
        form = SophieGermainForm(k)
        for n in range(n_max + 1):
            p, q = sg_members(k, n)
            if is_prime(p) == is_prime(q):
                continue
            seen["p prime" if is_prime(p) else "2p+1 prime"] += p >= 2**64
            outcome = form.test(n)
            assert outcome.result == COMPOSITE and outcome.certificate == {}, (k, n, outcome)
    assert seen["p prime"] >= 8 and seen["2p+1 prime"] >= 8, seen


def test_the_safe_prime_is_proven_by_llr_with_odd_k() -> None:
    """2p+1 = k*2^(n+1)-1: the LLR certificate verifies against 2p+1 itself (K odd, e = n+1 + twos of k)."""
    for form, value in ((SophieGermainForm(2145), 503), (SophieGermainOverKForm(64), 1410)):
        outcome = form.test(value)
        assert outcome.result == PRIME and outcome.method == "llr", outcome
        assert [m["method"] for m in outcome.certificate["members"]] == ["llr", "llr"]


def test_every_certificate_verifies_and_corruptions_of_either_member_are_rejected() -> None:
    form = SophieGermainForm(2145)
    good = form.test(503).certificate
    assert form.verify(503, good)[0]

    def corrupted(change) -> dict:
        certificate = copy.deepcopy(good)
        change(certificate)
        return certificate

    bad = {
        "p: other P": corrupted(lambda c: c["members"][0].update(P=c["members"][0]["P"] + 1)),
        "2p+1: other P": corrupted(lambda c: c["members"][1].update(P=c["members"][1]["P"] + 1)),
        "one member only": corrupted(lambda c: c["members"].pop()),
        "not a pair proof": corrupted(lambda c: c.update(method="twin")),
        "2p+1: no proof below 2^64": corrupted(lambda c: c["members"].__setitem__(1, {"method": "bpsw-below-2^64"})),
        "p: a Proth proof": corrupted(lambda c: c["members"].__setitem__(0, {"method": "proth", "witness": 3})),
    }
    for label, certificate in bad.items():
        assert not form.verify(503, certificate)[0], label
    assert not form.verify(502, good)[0] and not form.verify(504, good)[0]
    tiny = form.test(5).certificate
    assert form.verify(5, tiny)[0]
    assert not form.verify(6, tiny)[0]  # 2145*2^6-1 is prime, 2145*2^7-1 is not


# ----- sieve -----------------------------------------------------------------------------------------


def smallest_member_factor(members: tuple[int, ...], primes: list[int]) -> int:
    return next((q for q in primes if any(N % q == 0 and N != q for N in members)), 0)


@pytest.mark.parametrize(
    ("variant", "param", "lo", "hi", "depth"),
    [
        ("n", 3, 0, 400, 3000),
        ("n", 2145, 1, 200, 3000),
        ("n", 1, 0, 100, 3000),
        ("k", 12, 1, 3000, 3000),
        ("k", 0, 1, 3000, 3000),
        ("k", 1, 1000, 4000, 3000),
    ],
)
def test_sieve_equals_trial_division(variant, param, lo, hi, depth) -> None:
    """Exactly the values with a member divisible by a sieve prime (not equal to it) are struck."""
    form = SophieGermainForm(param) if variant == "n" else SophieGermainOverKForm(param)
    primes = [int(q) for q in small_primes(depth)]
    got = form.sieve(lo, hi, prime_chunks(2, depth, segment=500))
    for v, factor in zip(range(lo, hi), got.tolist(), strict=True):
        members = sg_members(param, v) if variant == "n" else sg_members(v, param)
        if min(members) < 2:
            continue  # excluded before the sieve (N < 2): its factor column is not used
        assert factor == smallest_member_factor(members, primes), (v, members, factor)


def test_survival_fraction_matches_the_sieve_over_k() -> None:
    form = SophieGermainOverKForm(40)
    depth = 30_000
    fraction = float(np.mean(form.sieve(1, 200_001, prime_chunks(2, depth)) == 0))
    assert 0.8 < fraction / form.survival_fraction(depth) < 1.25, fraction


def test_algebraic_factors_are_excluded_and_never_hide_a_pair() -> None:
    """k*2^n a square gives p = (x-1)(x+1); a cube, (x-1)(x^2+x+1): excluded above 2^66, checked by gmpy2."""
    hits = 0
    for k in (9, 27, 216, 18):
        form = SophieGermainForm(k)
        for n in range(50, 200):
            reason = form.excluded(n)
            p, q = sg_members(k, n)
            algebraic = [N for N in (p, q) if N + 1 >= 2**66 and (gmpy2.is_square(N + 1) or gmpy2.iroot(N + 1, 3)[1])]
            assert (reason is not None) == bool(algebraic), (k, n, reason)
            if reason is not None:
                hits += 1
                assert not (is_prime(p) and is_prime(q))
    assert hits >= 50


# ----- campaigns ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "hint"),
    [
        ({"k": 6, "n_min": 1, "n_max": 9}, "k", "use k = 3 with n_min = 2, n_max = 10"),
        ({"k": 5, "n_min": 1, "n_max": 9}, "k", "divisible by 3"),
        ({"k": 0, "n_min": 1, "n_max": 9}, "k", "between 1 and 2^62"),
        ({"k": 3, "n_min": 1, "n_max": 10**9}, "n_max", "feasible"),
        ({"n": 12, "k_min": 0, "k_max": 9}, "k_min", ">= 1"),
        ({"n": 12, "k_min": 1, "k_max": 2**63}, "k_max", "between 1 and 2^62"),
        ({"n": 10**9, "k_min": 1, "k_max": 9}, "n", "feasible"),
        ({"k": 3, "b": 2, "n_min": 1, "n_max": 9}, "b", "not a field"),
        ({"k": 3}, "n_min", "k_min/k_max"),
    ],
)
def test_campaign_validation(fields, field, hint) -> None:
    with pytest.raises(CampaignError) as error:
        parse_campaign({"name": "bad", "form": "sophie_germain", "block_size": 10, "sieve_depth": "auto", **fields})
    assert error.value.field == field and hint in str(error.value), str(error.value)


@pytest.mark.parametrize(("file", "variant", "axis"), [("sophie_germain.toml", SophieGermainForm, "n"),
                                                       ("sophie_germain_k.toml", SophieGermainOverKForm, "k")])
def test_template_campaigns_parse_and_pick_their_variant(file: str, variant: type, axis: str) -> None:
    path = REPO / "campaigns" / file
    assert path.read_text().startswith("#")
    spec = load_campaign(path)
    assert isinstance(form_for(spec), variant) and spec.axis == axis
    assert spec.form == "sophie_germain" and tomllib.loads(path.read_text())["sieve_depth"] == "auto"
    assert 1000 <= spec.sieve_depth <= 2**32 - 1


def test_bits_and_auto_depth() -> None:
    assert SophieGermainForm(3).bits(100) == pytest.approx(100 + math.log2(3))
    assert SophieGermainOverKForm(100).bits(3) == pytest.approx(100 + math.log2(3))
    assert SophieGermainOverKForm.auto_sieve_depth({"n": 1000}, 1, 10**6, 10**5) < (
        SophieGermainOverKForm.auto_sieve_depth({"n": 100_000}, 1, 10**6, 10**5))
