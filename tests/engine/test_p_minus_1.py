"""P-1 (factoring/): every factor real, every factor the theory promises found, no known prime ever split; the
bound choice and the campaign key."""

from __future__ import annotations

import random

import cypari2
import gmpy2
import pytest
from conftest import PROTH

from darkreach_pipeline import blocks
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.checks import p_minus_1_problems
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.factoring.p_minus_1 import p_minus_1, stage2_pairs
from darkreach_pipeline.factoring.p_minus_1_bounds import Bounds, choose_bounds, factor_probability, rho
from darkreach_pipeline.factoring.stage import P_MINUS_1_FACTOR, p_minus_1_frame
from darkreach_pipeline.forms import form_for

pari = cypari2.Pari()
pari.default("parisizemax", 2**30)
B1, B2 = 1000, 30000
COFACTOR = int(gmpy2.next_prime(10**30))  # its order mod 3 is far beyond any bound here


def expected_stage(p: int) -> int:
    """By PARI/GP's multiplicative order of 3 mod p: 1 if it divides the stage-1 exponent, 2 if that times one
    prime in (B1, B2] does, 0 otherwise (what P-1 with base 3 must find, independently of the code under test)."""
    order = pari.factor(pari.znorder(pari.Mod(3, p)))
    big = []
    for q, e in zip((int(x) for x in order[0]), (int(x) for x in order[1]), strict=True):
        power = q
        while power * q <= B1:
            power *= q
        if q > B1:
            big.append((q, e))
        elif q**e > power:
            return 0
    if not big:
        return 1
    return 2 if len(big) == 1 and big[0][1] == 1 and big[0][0] <= B2 else 0


SMALL = [q for q in range(3, B1) if gmpy2.is_prime(q)]


def random_smooth_prime(rng: random.Random) -> int:
    """A prime p whose p - 1 is 2 x five primes below B1, times nothing, one prime in (B1, B2] or one above B2."""
    while True:
        s = 2 * gmpy2.mpz(1)
        for q in rng.sample(SMALL, 5):
            s *= q
        s *= rng.choice([1, int(gmpy2.next_prime(rng.randrange(B1, B2 - 100))), 30011])
        if gmpy2.is_prime(s + 1):
            return int(s + 1)


def test_finds_every_factor_the_theory_promises_and_only_real_ones():
    rng = random.Random(15)
    stages = {0: 0, 1: 0, 2: 0}
    for _ in range(120):
        p = random_smooth_prime(rng)
        N = p * COFACTOR
        result = p_minus_1(N, B1, B2)
        want = expected_stage(p)
        stages[want] += 1
        if result.factor is not None:
            assert N % result.factor == 0 and 1 < result.factor < N
        if want:  # promised: found, by the stage that should find it (stage 2 may find more: pairs cover 2 numbers)
            assert (result.factor, result.stage) == (p, want), (p, want, result)
    assert stages[1] >= 5 and stages[2] >= 5  # both stages exercised


def test_stage_two_finds_one_prime_above_b1_and_stage_one_alone_does_not():
    for p in (209459,):  # 209459 - 1 = 2 * 104729, 104729 prime
        N = p * COFACTOR
        assert p_minus_1(N, 100, 200000).factor == p
        assert p_minus_1(N, 100, 200000).stage == 2
        assert p_minus_1(N, 100, 100).factor is None  # B2 = B1: stage 1 only
        assert p_minus_1(N, 100, 100000).factor is None  # 104729 > B2


def test_every_prime_in_the_stage_two_range_is_covered_by_a_pair():
    D = 210
    pairs = stage2_pairs(1000, 50000, D)
    covered = {m * D + s * j for m, js in pairs.items() for j in js for s in (-1, 1)}
    assert {q for q in range(1001, 50001) if gmpy2.is_prime(q)} <= covered
    assert all(0 < j < D // 2 and gmpy2.gcd(j, D) == 1 for js in pairs.values() for j in js)


def test_all_factors_at_once_is_split_by_the_replay():
    """p - 1 and q - 1 both B1-smooth: the stage-1 gcd is N, and the replay prime power by prime power splits it."""
    p = next(x for x in range(2**7 * 3**4 * 5 + 1, 10**6, 2**7 * 3**4 * 5) if gmpy2.is_prime(x))
    q = next(x for x in range(2 * 11 * 13 * 17 + 1, 10**6, 2 * 11 * 13 * 17) if gmpy2.is_prime(x) and x != p)
    N = p * q
    result = p_minus_1(N, 10**5, 10**5)
    assert result.factor in (p, q) and result.stage == 1


KNOWN_PRIMES = {
    "3*2^n+1": [3 * 2**n + 1 for n in (1, 2, 5, 6, 8, 12, 18, 30, 36, 41, 66, 189, 201, 209, 276, 353)],
    "3*2^n-1": [3 * 2**n - 1 for n in (1, 2, 3, 4, 6, 7, 11, 18, 34, 38, 43, 55, 64, 76, 94, 103, 143, 206)],
    "n!+1": [gmpy2.fac(n) + 1 for n in (1, 2, 3, 11, 27, 37, 41, 73, 77, 116, 154)],
    "n!-1": [gmpy2.fac(n) - 1 for n in (3, 4, 6, 7, 12, 14, 30, 32, 33, 38, 94, 166)],
    "p#+1": [gmpy2.primorial(p) + 1 for p in (2, 3, 5, 7, 11, 31, 379)],
    "Cullen/Woodall": [141 * 2**141 + 1] + [n * 2**n - 1 for n in (2, 3, 6, 30, 75, 81, 115, 123, 249)],
    "Wagstaff": [(2**p + 1) // 3 for p in (5, 7, 11, 13, 17, 19, 23, 31, 43, 61, 79, 101, 127, 167, 191, 199, 313)],
    "repunit": [(10**n - 1) // 9 for n in (2, 19, 23, 317)],
    "GFN": [b**4 + 1 for b in (2, 4, 6, 16, 20, 24, 34, 46)] + [b**32 + 1 for b in (30, 54, 96, 112)],
}


@pytest.mark.parametrize("family", sorted(KNOWN_PRIMES))
def test_a_known_prime_is_never_split(family):
    for N in KNOWN_PRIMES[family]:
        assert gmpy2.is_prime(N) and pari.ispseudoprime(N), N  # two oracles: the list is right
        for b1, b2 in ((11, 11), (500, 20000), (3000, 3000)):
            assert p_minus_1(N, b1, b2).factor is None, (family, N, b1, b2)


def test_bounds_are_checked():
    with pytest.raises(ValueError, match="B1 <= B2"):
        p_minus_1(1001, 100, 50)
    with pytest.raises(ValueError, match="B1 >= 7"):
        p_minus_1(2**61 - 1, 5, 1000)


def test_dickman_rho_and_the_probability_model():
    assert float(rho(2.0)) == pytest.approx(0.3068528, rel=1e-5)  # 1 - ln 2
    assert float(rho(3.0)) == pytest.approx(0.0486084, rel=1e-4)
    assert float(rho(5.0)) == pytest.approx(3.5472470e-4, rel=1e-3)
    assert float(rho(10.0)) == pytest.approx(2.77017e-11, rel=1e-3)
    base = factor_probability(100_000, 32, 10_000, 10_000)
    assert 0 < base < factor_probability(100_000, 32, 100_000, 100_000)  # larger B1 finds more
    assert base < factor_probability(100_000, 32, 10_000, 1_000_000)  # stage 2 finds more
    assert factor_probability(100_000, 40, 10_000, 10_000) < base  # a deeper sieve leaves less to find


def test_bound_choice_weighs_cost_against_tests_saved():
    """P-1 is priced in the test's own squarings: it pays for large numbers (a test of n bits is n squarings, P-1's
    cost grows with B1 only) and a shallow sieve (more factors left to find)."""
    assert choose_bounds(2_000, 10**6, test_seconds=0.01) is None  # a short test: P-1 never pays
    big = choose_bounds(1_000_000, 10**9, test_seconds=500.0)
    assert isinstance(big, Bounds) and big.net_seconds > 0 and big.b2 >= big.b1
    assert big.cost_seconds < big.saved_seconds < 500.0 * 2
    bigger = choose_bounds(3_000_000, 10**9, test_seconds=500.0 * 9)
    assert bigger.b1 >= big.b1  # the longer the test, the deeper the P-1
    shallow = choose_bounds(1_000_000, 10**6, test_seconds=500.0)
    assert shallow.probability > big.probability  # a shallower sieve leaves more to find
    assert choose_bounds(1_000_000, 10**9, 500.0, tests_saved=0.01) is None  # nothing saved: never worth it


def test_campaign_key_is_validated_and_off_keeps_the_identity():
    off = parse_campaign(PROTH)
    assert off.p_minus_1 == "off" and "p_minus_1" not in off.definition()
    assert parse_campaign({**PROTH, "p_minus_1": "off"}).fingerprint() == off.fingerprint()
    auto = parse_campaign({**PROTH, "p_minus_1": "auto"})
    assert auto.definition()["p_minus_1"] == "auto" and auto.fingerprint() != off.fingerprint()
    assert parse_campaign(auto.definition()) == auto  # what the registry stores reads back
    with pytest.raises(CampaignError, match="campaign field 'p_minus_1': must be \"off\""):
        parse_campaign({**PROTH, "p_minus_1": "on"})
    fixed = parse_campaign({**PROTH, "p_minus_1": "fixed", "p_minus_1_b1": 500, "p_minus_1_b2": 9000})
    assert fixed.p_minus_1_bounds == (500, 9000) and parse_campaign(fixed.definition()) == fixed
    with pytest.raises(CampaignError, match="campaign field 'p_minus_1_b1': is missing"):
        parse_campaign({**PROTH, "p_minus_1": "fixed"})
    with pytest.raises(CampaignError, match="campaign field 'p_minus_1_b2': must be >= 500"):
        parse_campaign({**PROTH, "p_minus_1": "fixed", "p_minus_1_b1": 500, "p_minus_1_b2": 400})
    with pytest.raises(CampaignError, match="'p_minus_1_b1': applies only with p_minus_1 = \"fixed\""):
        parse_campaign({**PROTH, "p_minus_1": "auto", "p_minus_1_b1": 500})


def test_the_block_stage_strikes_composites_only_and_the_check_re_verifies(pari_primes):
    spec = parse_campaign({**PROTH, "n_max": 400, "block_size": 400, "sieve_depth": 100, "p_minus_1": "auto"})
    sieved = blocks.sieve_frame(spec, 0, blocks.candidate_frame(spec, 0))
    frame = p_minus_1_frame(spec, sieved, 100, bounds=lambda bits: Bounds(300, 20000, 0.0, 0.0, 0.0))
    form = form_for(spec)
    struck = frame[frame["status"] == P_MINUS_1_FACTOR]
    assert len(struck) >= 20
    assert not set(struck["n"].astype(int)) & pari_primes(3, 2, 1, 1, 400)  # no prime removed
    assert p_minus_1_problems(form, "n", sieved, frame) == []
    assert (frame["p1_b1"][frame["status"].isin(["survivor", P_MINUS_1_FACTOR])] == 300).all()

    forged = frame.copy()
    forged.loc[struck.index[0], "p1_factor"] = str(int(struck["p1_factor"].iloc[0]) + 2)
    assert "does not divide it properly" in p_minus_1_problems(form, "n", sieved, forged)[0]
    excluded = frame.copy()
    row = frame.index[frame["status"] == "factor"][0]
    excluded.loc[row, "status"] = P_MINUS_1_FACTOR
    assert "only survivors may be struck" in p_minus_1_problems(form, "n", sieved, excluded)[0]

    off = p_minus_1_frame(parse_campaign({**PROTH, "n_max": 400, "block_size": 400}), sieved, 100)
    assert off["status"].tolist() == sieved["status"].tolist() and (off["p1_b1"] == 0).all()


def test_a_block_without_the_p_minus_1_file_is_intact_and_a_damaged_one_is_not(tmp_path):
    """Blocks finished before the stage existed have no p_minus_1 file: still finished. A damaged one is named."""
    from upath import UPath

    from darkreach_pipeline.stores import integrity

    spec = parse_campaign({**PROTH, "n_max": 40, "block_size": 40})
    candidates = blocks.candidate_frame(spec, 0)
    sieved = blocks.sieve_frame(spec, 0, candidates)
    results = blocks.test_frame(spec, 0, sieved)
    frames = {"candidate_ranges": candidates, "sieve_survivors": sieved, "prp_results": results,
              "certificates": blocks.certificate_frame(spec, results)}
    base, key = UPath(tmp_path), "proth/000000"
    for asset, frame in frames.items():
        integrity.write_block(integrity.block_path(base, asset, key), frame, integrity.identity(asset, key))
    assert integrity.damaged_blocks(str(tmp_path), [key]) == {}
    path = integrity.block_path(base, "p_minus_1", key)
    integrity.write_block(path, p_minus_1_frame(spec, sieved, 1000), integrity.identity("p_minus_1", key))
    assert integrity.damaged_blocks(str(tmp_path), [key]) == {}
    path.write_bytes(integrity.block_path(base, "sieve_survivors", key).read_bytes())  # another stage's file
    assert [d.asset for d in integrity.damaged_blocks(str(tmp_path), [key])[key]] == ["p_minus_1"]


def test_the_test_arithmetics_give_the_same_factors_as_gmpy2():
    """P-1 on the weighted FFT and on GMP's special-form loop (what the pipeline uses for k*2^n+1) finds exactly
    what plain gmpy2 finds, and never splits a known prime."""
    from darkreach_pipeline.arith.gmp import GMPArithmetic
    from darkreach_pipeline.arith.ibdwt import IBDWTArithmetic

    form = form_for(parse_campaign(PROTH))
    found = 0
    for n in (2208, *range(1001, 1041)):  # 3*2^2208+1 is prime
        N = form.number(n)
        if gmpy2.gcd(N, 3 * 5 * 7 * 11 * 13) > 1:
            continue
        plain = p_minus_1(N, 400, 8000)
        for arith in (GMPArithmetic(N, 3, n, 1), IBDWTArithmetic(3, n, 1)):
            result = p_minus_1(N, 400, 8000, arith=arith)
            assert (result.factor, result.stage) == (plain.factor, plain.stage), (n, arith.name)
        found += plain.factor is not None
        if n == 2208:
            assert plain.factor is None
    assert found >= 3
