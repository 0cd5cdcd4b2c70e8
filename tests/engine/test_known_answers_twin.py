"""Known answers for the twin form (k*b^n-1 and k*b^n+1 both prime), over n and over k.

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
from darkreach_pipeline.forms.twin import TwinForm, TwinOverKForm
from darkreach_pipeline.primality.gerbicz import Fault
from darkreach_pipeline.primality.options import TestOptions
from darkreach_pipeline.primality.outcome import COMPOSITE, PRIME, PROBABLE_PRIME
from darkreach_pipeline.proofs.certificate_check import verify_probable_prime
from darkreach_pipeline.sieve.primes import prime_chunks, small_primes

REPO = Path(__file__).resolve().parents[2]
MASK64 = (1 << 64) - 1
# OEIS A002234 (3*2^n+1 prime) and A002235 (3*2^n-1 prime), all terms up to n = 600.
A002234 = [1, 2, 5, 6, 8, 12, 18, 30, 36, 41, 66, 189, 201, 209, 276, 353, 408, 438, 534]
A002235 = [0, 1, 2, 3, 4, 6, 7, 11, 18, 34, 38, 43, 55, 64, 76, 94, 103, 143, 206, 216, 306, 324, 391, 458, 470]
# OEIS A001359, lesser of twin primes: the first 20 terms (all below 320).
A001359 = [3, 5, 11, 17, 29, 41, 59, 71, 101, 107, 137, 149, 179, 191, 197, 227, 239, 269, 281, 311]


def is_prime(N: int) -> bool:
    """PARI's BPSW and gmpy2's Miller-Rabin + BPSW, which must agree (the pairs are then proven by isprime)."""
    return two_oracles(N, NEVER)


def twin_members(k: int, b: int, n: int) -> tuple[int, int]:
    return k * b**n - 1, k * b**n + 1


@functools.cache
def is_twin(k: int, b: int, n: int) -> bool:
    """Both members prime; a pair found by BPSW is then proven by PARI's isprime (APR-CL)."""
    lower, upper = twin_members(k, b, n)
    if not (is_prime(lower) and is_prime(upper)):
        return False
    assert pari.isprime(lower) and pari.isprime(upper), f"a BPSW pseudoprime: {k}*{b}^{n}+-1"
    return True


def run_pipeline(fields: dict) -> BlockRun:
    """Every block through the four stages, each block audited as the asset checks do."""
    return run_blocks({"name": "twin-known", "form": "twin", **fields})


def check_pipeline(run: BlockRun, members_of, truth_of) -> set[int]:
    """The engine's full result set must equal the oracles'; every stage's claims are re-checked here.

    members_of(v) builds the two numbers from the formula (not from the form); truth_of(v) asks the oracles.
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
        v = int(row[axis])
        lower = members_of(v)[0]
        assert row["res64"] == format(int(pari.lift(pari.Mod(3, lower) ** (lower - 1))) & MASK64, "016x"), row
        assert row["residue_type"] == "fermat-3"
    found = set(results.loc[results["result"] != COMPOSITE, axis].astype(int))
    assert found == expected, f"missed {sorted(expected - found)}, extra {sorted(found - expected)}"
    for row in certs.to_dict("records"):
        v = int(row[axis])
        certificate = json.loads(row["certificate"])
        if row["status"] == "proven":
            assert row["verified"], row
            assert form.verify(v, certificate)[0]
        else:
            ok, reason = form.verify(v, certificate)
            assert not ok, f"a probable-prime certificate must not verify as a proof: {row}"
            assert max(members_of(v)) >= 2**64, row  # below 2^64 the answer is deterministic
            assert verify_probable_prime([gmpy2.mpz(N) for N in members_of(v)])[0]
    labels = dict(zip(results[axis].astype(int), results["result"], strict=True))
    assert {labels[v] for v in expected} <= {PRIME, PROBABLE_PRIME}
    return expected


# ----- over n: k fixed ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "b", "n_max", "block_size", "depth", "twins"),
    [
        (3, 2, 600, 150, 20_000, [1, 2, 6, 18]),
        (165, 2, 400, 100, 20_000, [2, 3, 5, 12, 39, 84, 264, 282]),  # LLR + Proth above 2^64
        (105, 10, 40, 20, 5_000, [1, 2, 14, 25]),  # b = 10 above 2^64: Morrison + Pocklington over 2, 3, 5, 7
    ],
)
def test_twins_over_n_agree_with_pari_and_gmpy2(k, b, n_max, block_size, depth, twins) -> None:
    run = run_pipeline({"k": k, "b": b, "n_min": 0, "n_max": n_max, "block_size": block_size, "sieve_depth": depth})
    found = check_pipeline(run, lambda n: twin_members(k, b, n), lambda n: is_twin(k, b, n))
    assert sorted(found) == twins
    # K < 2^e, N-+1 factored past sqrt(N), or below 2^64: every pair has a proof
    results = run.results
    assert set(results.loc[results["result"] == PRIME, "n"].astype(int)) == found


def test_k3_twins_are_the_common_terms_of_oeis_a002234_and_a002235() -> None:
    """The oracles reproduce both OEIS lists up to n = 600, and the twins are their intersection."""
    assert [n for n in range(601) if is_prime(3 * 2**n + 1)] == A002234
    assert [n for n in range(601) if is_prime(3 * 2**n - 1)] == A002235
    form = TwinForm(3, 2)
    for n in sorted(set(A002234) | set(A002235)):
        outcome = form.test(n)
        assert (outcome.result != COMPOSITE) == (n in A002234 and n in A002235), (n, outcome)


# ----- over k: n fixed ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "b", "k_min", "k_max", "block_size", "depth", "proven"),
    [
        (12, 2, 1, 3000, 1000, 10_000, True),  # all members below 2^64
        (70, 2, 1, 4000, 2000, 20_000, True),  # LLR + Proth; k = 1260 is even: K = 315, e = 72
        (20, 10, 1, 3000, 3000, 20_000, True),  # Morrison + Pocklington: N-+1 = k*10^20, F = 10^20 > sqrt(N)
        (3, 2, 2**61, 2**61 + 3000, 1001, 20_000, None),  # K >= 2^e: a proof only when k factors well enough
    ],
)
def test_twins_over_k_agree_with_pari_and_gmpy2(n, b, k_min, k_max, block_size, depth, proven) -> None:
    run = run_pipeline({"n": n, "b": b, "k_min": k_min, "k_max": k_max, "block_size": block_size,
                        "sieve_depth": depth})
    found = check_pipeline(run, lambda k: twin_members(k, b, n), lambda k: is_twin(k, b, n))
    assert len(found) >= 4
    results = run.results
    labels = set(results.loc[results["k"].isin(found), "result"])
    if proven:
        assert labels == {PRIME}
    else:
        assert labels == {PRIME, PROBABLE_PRIME}  # both paths exercised


def test_tiny_twins_below_the_sieve_bound_match_oeis_a001359() -> None:
    """n = 1: the pairs 2k-1, 2k+1, all below the sieve depth; no member may be struck by itself."""
    run = run_pipeline({"n": 1, "b": 2, "k_min": 1, "k_max": 2000, "block_size": 700, "sieve_depth": 5000})
    found = check_pipeline(run, lambda k: twin_members(k, 2, 1), lambda k: is_twin(k, 2, 1))
    lesser = sorted(2 * k - 1 for k in found)
    assert lesser[:20] == A001359
    assert len(found) == sum(1 for p in range(3, 4000, 2) if gmpy2.is_prime(p) and gmpy2.is_prime(p + 2))


def test_n_0_gives_the_plain_twin_primes_and_tiny_edge_cases() -> None:
    """n = 0: k-1, k+1. k = 1, 2 have a member below 2 (excluded); k = 3 is 2, 4 (struck by 2 through 4)."""
    run = run_pipeline({"n": 0, "b": 6, "k_min": 1, "k_max": 1000, "block_size": 1000, "sieve_depth": 2000})
    found = check_pipeline(run, lambda k: twin_members(k, 6, 0), lambda k: is_twin(k, 6, 0))
    assert sorted(found)[:5] == [4, 6, 12, 18, 30]
    sieved = run.sieved.set_index("k")
    assert sieved.loc[1, "status"] == EXCLUDED and sieved.loc[2, "status"] == EXCLUDED
    assert sieved.loc[3, "status"] == FACTOR and sieved.loc[3, "factor"] == 2


def test_k1_b2_is_rejected_as_a_campaign_but_still_right_when_run() -> None:
    """k = 1, b = 2: 3 divides a member of every pair but 3, 5 (n = 2); excluded/sieve/test as blocks.py calls them."""
    form = TwinForm(1, 2)
    values = range(0, 301)
    factors = form.sieve(0, 301, prime_chunks(2, 5000))
    found = {n for n, factor in zip(values, factors.tolist(), strict=True)
             if form.excluded(n) is None and factor == 0 and form.test(n).result != COMPOSITE}
    assert found == {n for n in values if is_twin(1, 2, n)} == {2}
    with pytest.raises(CampaignError):
        parse_campaign({"name": "k1", "form": "twin", "k": 1, "b": 2, "n_min": 0, "n_max": 300, "block_size": 301,
                        "sieve_depth": 5000})


# ----- traps -----------------------------------------------------------------------------------------


def test_pairs_with_one_prime_member_are_composite() -> None:
    """Each member prime on its own (Proth primes, Riesel primes), the other composite: never a twin."""
    seen = {"lower prime": 0, "upper prime": 0}
    for k, n_max in ((3, 600), (165, 400)):
        form = TwinForm(k, 2)
        for n in range(n_max + 1):
            lower, upper = twin_members(k, 2, n)
            if is_prime(lower) == is_prime(upper):
                continue
            seen["lower prime" if is_prime(lower) else "upper prime"] += lower >= 2**64
            outcome = form.test(n)
            assert outcome.result == COMPOSITE and outcome.certificate == {}, (k, n, outcome)
    assert seen["lower prime"] >= 10 and seen["upper prime"] >= 10, seen


def test_every_certificate_verifies_and_corruptions_of_either_member_are_rejected() -> None:
    form = TwinForm(165, 2)
    good = form.test(264).certificate
    assert good["method"] == "twin" and [m["method"] for m in good["members"]] == ["llr", "proth"]
    assert form.verify(264, good)[0]

    def corrupted(change) -> dict:
        certificate = copy.deepcopy(good)
        change(certificate)
        return certificate

    bad = {
        "lower: other P": corrupted(lambda c: c["members"][0].update(P=c["members"][0]["P"] + 1)),
        "upper: residue witness": corrupted(lambda c: c["members"][1].update(witness=2)),
        "members swapped": corrupted(lambda c: c["members"].reverse()),
        "one member only": corrupted(lambda c: c["members"].pop()),
        "not a pair proof": corrupted(lambda c: c.update(method="prp")),
        "lower: no proof below 2^64": corrupted(lambda c: c["members"].__setitem__(0, {"method": "bpsw-below-2^64"})),
        "lower: garbage": corrupted(lambda c: c["members"].__setitem__(0, {"method": "llr"})),
    }
    for label, certificate in bad.items():
        ok, reason = form.verify(264, certificate)
        assert not ok, label
    assert not form.verify(265, good)[0]  # a true certificate for another n
    assert not form.verify(263, good)[0]
    for n in (84, 282):  # LLR and Proth proofs for the other large twins too
        assert form.verify(n, form.test(n).certificate)[0]
    # b = 10: whatever proves the members (Morrison / Pocklington) must verify, and corruptions must not.
    form10 = TwinOverKForm(20, 10)
    k = next(k for k in range(3, 3000, 3) if is_twin(k, 10, 20))
    good10 = form10.test(k).certificate
    assert [m["method"] for m in good10["members"]] == ["morrison", "pocklington"]
    assert form10.verify(k, good10)[0]
    swapped = copy.deepcopy(good10)
    swapped["members"].reverse()
    assert not form10.verify(k, swapped)[0]
    assert not form10.verify(k + 3, good10)[0]


def test_checkpoint_state_belongs_to_the_first_member_only() -> None:
    """A resumed test must give the same answer: the second member's chain never sees the first's state."""
    form = TwinForm(165, 2)
    states = []
    first = form.test(282, TestOptions(chain_run={"on_verified": states.append}))
    assert first.result == PRIME and states
    resumed = form.test(282, TestOptions(chain_run={"resume": states[-1]}))
    assert (resumed.result, resumed.res64, resumed.certificate) == (first.result, first.res64, first.certificate)


def test_a_fault_in_the_first_members_chain_is_caught() -> None:
    form = TwinForm(165, 2)
    clean = form.test(264)
    faulty = form.test(264, TestOptions(faults=[Fault(iteration=100, bit=3)]))
    assert faulty.rollbacks >= 1
    assert (faulty.result, faulty.res64) == (clean.result, clean.res64)


# ----- sieve -----------------------------------------------------------------------------------------


def smallest_member_factor(members: tuple[int, ...], primes: list[int]) -> int:
    """Smallest q in primes dividing a member other than q itself, else 0 (trial division)."""
    return next((q for q in primes if any(N % q == 0 and N != q for N in members)), 0)


@pytest.mark.parametrize(
    ("variant", "params", "lo", "hi", "depth"),
    [
        ("n", {"k": 3, "b": 2}, 0, 300, 3000),
        ("n", {"k": 15, "b": 4}, 0, 120, 3000),
        ("n", {"k": 6, "b": 5}, 0, 150, 2000),
        ("k", {"n": 12, "b": 2}, 1, 3000, 3000),
        ("k", {"n": 0, "b": 2}, 1, 3000, 3000),
        ("k", {"n": 2, "b": 10}, 5, 4000, 3000),
        ("k", {"n": 3, "b": 3}, 1, 2000, 2000),
        ("k", {"n": 5, "b": 70001}, 1, 500, 2000),  # b above the inverse table's limit
    ],
)
def test_sieve_equals_trial_division(variant, params, lo, hi, depth) -> None:
    """Exactly the values with a member divisible by a sieve prime (not equal to it) are struck."""
    form = TwinForm(**params) if variant == "n" else TwinOverKForm(**params)
    primes = [int(q) for q in small_primes(depth)]
    chunks = prime_chunks(2, depth, segment=500)
    got = form.sieve(lo, hi, chunks)
    for v, factor in zip(range(lo, hi), got.tolist(), strict=True):
        if variant == "n":
            members = twin_members(params["k"], params["b"], v)
        else:
            members = twin_members(v, params["b"], params["n"])
        if min(members) < 2:
            continue  # excluded before the sieve (N < 2): its factor column is not used
        expected = smallest_member_factor(members, primes)
        assert factor == expected, (v, members, factor, expected)


def test_survival_fraction_matches_the_sieve_over_k() -> None:
    form = TwinOverKForm(40, 2)
    depth = 30_000
    got = form.sieve(1, 200_001, prime_chunks(2, depth))
    fraction = float(np.mean(got == 0))
    assert 0.8 < fraction / form.survival_fraction(depth) < 1.25, fraction


# ----- campaigns ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "hint"),
    [
        ({"k": 6, "b": 2, "n_min": 1, "n_max": 9}, "k", "use k = 3 with n_min = 2, n_max = 10"),
        ({"k": 3, "b": 5, "n_min": 1, "n_max": 9}, "k", "both even"),
        ({"k": 5, "b": 2, "n_min": 1, "n_max": 9}, "k", "divisible by 3"),
        ({"k": 0, "b": 2, "n_min": 1, "n_max": 9}, "k", "between 1 and 2^62"),
        ({"k": 3, "b": 1, "n_min": 1, "n_max": 9}, "b", "between 2 and 2^31"),
        ({"k": 3, "b": 2, "n_min": 1, "n_max": 10**9}, "n_max", "feasible"),
        ({"n": 12, "b": 2, "k_min": 0, "k_max": 9}, "k_min", ">= 1"),
        ({"n": 12, "b": 2, "k_min": 1, "k_max": 2**63}, "k_max", "between 1 and 2^62"),
        ({"n": 10**9, "b": 2, "k_min": 1, "k_max": 9}, "n", "feasible"),
        ({"k": 3, "b": 2}, "n_min", "k_min/k_max"),
    ],
)
def test_campaign_validation(fields, field, hint) -> None:
    with pytest.raises(CampaignError) as error:
        parse_campaign({"name": "bad", "form": "twin", "block_size": 10, "sieve_depth": "auto", **fields})
    assert error.value.field == field and hint in str(error.value), str(error.value)


@pytest.mark.parametrize(("file", "variant", "axis"),
                         [("twin.toml", TwinForm, "n"), ("twin_k.toml", TwinOverKForm, "k")])
def test_template_campaigns_parse_and_pick_their_variant(file: str, variant: type, axis: str) -> None:
    path = REPO / "campaigns" / file
    assert path.read_text().startswith("#")
    spec = load_campaign(path)
    assert isinstance(form_for(spec), variant) and spec.axis == axis
    assert spec.form == "twin" and tomllib.loads(path.read_text())["sieve_depth"] == "auto"
    assert 1000 <= spec.sieve_depth <= 2**32 - 1


def test_auto_sieve_depth_grows_with_the_test_cost() -> None:
    small = TwinOverKForm.auto_sieve_depth({"n": 1000, "b": 2}, 1, 10**6, 10**5)
    large = TwinOverKForm.auto_sieve_depth({"n": 100_000, "b": 2}, 1, 10**6, 10**5)
    assert small < large
    assert TwinForm.auto_sieve_depth({"k": 3, "b": 2}, 1, 10**4, 1000) < TwinForm.auto_sieve_depth(
        {"k": 3, "b": 2}, 10**5, 2 * 10**5, 1000)
    assert TwinOverKForm(1000, 2).bits(3) == pytest.approx(1000 + math.log2(3))
    assert TwinForm(3, 10).bits(5) == pytest.approx(5 * math.log2(10) + math.log2(3))
