"""Known answers for GfnForm: which b^(2^m)+1 are prime, checked against two independent oracles.

The expected answers are never typed in (except OEIS terms): every N is decided by PARI/GP's isprime
(a proof) and by gmpy2.is_prime (Miller-Rabin + BPSW), the two must agree, and then the engine's full
result set, run stage by stage exactly as blocks.py runs a block, must equal theirs. The OEIS lists for
m = 1..4 are cases of tests/oracles.py (engine == oracles == OEIS in test_known_answer_table.py).
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import gmpy2
import numpy as np
import pytest
from gmpy2 import mpz
from oracles import fermat3_res64, is_prime_two_oracles, pari, run_blocks

from darkreach_pipeline.campaign import load_campaign, parse_campaign
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.forms import form_for
from darkreach_pipeline.forms.gfn import GfnForm
from darkreach_pipeline.primality.gerbicz import Fault
from darkreach_pipeline.primality.options import TestOptions
from darkreach_pipeline.primality.outcome import COMPOSITE, PRIME, RESIDUE_TYPE
from darkreach_pipeline.sieve.gfn import sieve_gfn
from darkreach_pipeline.sieve.primes import prime_chunks, small_primes

REPO = Path(__file__).resolve().parents[2]

def b_int_power(b: int, m: int) -> int:
    return b ** (2**m) + 1


def campaign(m: int, b_min: int, b_max: int, block_size: int, sieve_depth: int | str = "auto") -> dict:
    return {"name": f"gfn-m{m}-{b_min}", "form": "gfn", "m": m, "b_min": b_min, "b_max": b_max,
            "block_size": block_size, "sieve_depth": sieve_depth}


def proth_shape(b: int) -> bool:
    """b = 2^s*r, r odd: N - 1 = r^(2^m) * 2^(s*2^m) with K < 2^e iff r < 2^s."""
    s = (b & -b).bit_length() - 1
    return (b >> s) < (1 << s)


# (m, b_min, b_max, block_size, sieve_depth)
RANGES = [
    (1, 2, 2000, 1000, 5 * 10**6),  # N < 2^64 throughout, and every N is below the sieve depth: p = N traps
    (1, 10**12, 10**12 + 1200, 600, "auto"),  # N ~ 2^80: Pocklington proofs
    (2, 2, 1200, 400, 10**6),
    (2, 65200, 65800, 300, 10**5),  # crosses 2^64 at b = 2^16 (N = F6 = 2^64+1, a base-2 pseudoprime)
    (3, 2, 1000, 250, 10**5),  # crosses 2^64 at b = 256; Proth for b = 2^s*r, r < 2^s
    (4, 2, 500, 250, "auto"),
    (5, 2, 300, 300, "auto"),
    (6, 2, 300, 300, "auto"),
]


@pytest.mark.parametrize(("m", "b_min", "b_max", "block_size", "depth"), RANGES,
                         ids=[f"m{r[0]}-b{r[1]}-{r[2]}" for r in RANGES])
def test_full_result_set_agrees_with_pari_and_gmpy2(m: int, b_min: int, b_max: int, block_size: int,
                                                    depth: int | str) -> None:
    form = GfnForm(m)
    expected = {b for b in range(b_min, b_max + 1) if is_prime_two_oracles(b ** (2**m) + 1)}
    run = run_blocks(campaign(m, b_min, b_max, block_size, depth))  # the asset checks' audits too
    sieved, results, certs = run.sieved, run.results, run.certs
    assert sorted(sieved["b"]) == list(range(b_min, b_max + 1))

    for row in sieved.to_dict("records"):
        b, N = int(row["b"]), b_int_power(int(row["b"]), m)
        if row["status"] == "excluded":
            assert not is_prime_two_oracles(N), f"excluded({b}) = {row['reason']!r} but it is prime"
        elif row["status"] == "factor":
            p = int(row["factor"])
            assert 1 < p < N and N % p == 0, f"{b}^{2**m}+1: claimed factor {p}"
            assert form.residue_mod(b, p) == 0

    tested = set(results["b"].astype(int))
    assert tested == set(sieved.loc[sieved["status"] == "survivor", "b"].astype(int))
    for row in results.to_dict("records"):
        b = int(row["b"])
        N = b_int_power(b, m)
        label = f"{row['expression']}: {row['result']} by {row['method']}"
        assert row["expression"] == f"{b}^{2**m}+1" and row["m"] == m
        assert row["digits"] == len(str(N))
        assert row["res64"] == fermat3_res64(N), label
        assert row["residue_type"] == RESIDUE_TYPE
        assert (row["result"] != COMPOSITE) == (b in expected), label
        certificate = json.loads(row["certificate"])
        if row["result"] == PRIME:
            ok, reason = form.verify(b, certificate)
            assert ok, f"{label}: certificate rejected ({reason})"
            assert certificate["method"] == row["method"]
            if N < 2**64:
                assert row["method"] == "bpsw-below-2^64", label
            else:
                assert row["method"] == ("proth" if proth_shape(b) else "pocklington"), label
        else:
            assert row["result"] == COMPOSITE, f"{label}: N - 1 is fully factored, every prime gets a proof"
            assert certificate == {}, label

    found = set(certs["b"].astype(int)) if len(certs) else set()
    assert found == expected, f"missed {sorted(expected - found)}, extra {sorted(found - expected)}"
    assert (certs["status"] == "proven").all() and certs["verified"].all(), certs
    assert len(expected) >= 3


# ----- the sieve -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("m", "lo", "hi", "depth"),
                         [(1, 0, 400, 3 * 10**5), (2, 0, 120, 10**6), (3, 2, 300, 10**5), (4, 250, 400, 10**5),
                          (6, 3, 100, 10**5)])
def test_sieve_equals_trial_division(m: int, lo: int, hi: int, depth: int) -> None:
    """Smallest prime <= depth dividing N (N mod p for every prime, by m squarings of b mod p), unless N is
    that prime: it is never struck."""
    factors = sieve_gfn(m, lo, hi, prime_chunks(2, depth))
    primes = small_primes(depth)
    for b in range(lo, hi):
        x = np.uint64(b) % primes
        for _ in range(m):
            x = x * x % primes
        divisors = primes[(x + np.uint64(1)) % primes == 0]
        N = b ** (2**m) + 1
        want = next((int(p) for p in divisors if int(p) != N), 0)
        assert factors[b - lo] == want, f"{b}^{2**m}+1: sieve says {factors[b - lo]}, trial division {want}"
        if is_prime_two_oracles(N):
            assert factors[b - lo] == 0, f"{b}^{2**m}+1 = {N} is prime but was struck"


def test_sieve_never_strikes_n_equal_p() -> None:
    """2^2+1 = 5, 2^4+1 = 17, 4^2+1 = 17, 2^8+1 = 257, 16^2+1 = 257, 2^16+1 = 65537, 16^4+1 = 65537 ..."""
    for m, b in [(1, 2), (2, 2), (1, 4), (3, 2), (1, 16), (2, 4), (4, 2), (2, 16), (3, 4), (1, 256)]:
        N = b ** (2**m) + 1
        assert is_prime_two_oracles(N)
        factors = sieve_gfn(m, b - 1, b + 2, prime_chunks(2, N + 1000))
        assert factors[1] == 0, f"{b}^{2**m}+1 = {N} was struck by {factors[1]}"


@pytest.mark.parametrize("m", [9, 12, 16, 20, 24])
def test_sieve_large_m_against_powmod(m: int) -> None:
    """Large m: the 2^m roots of -1 for a few eligible primes (up to 2^32) strike exactly the b with
    b^(2^m) = -1 mod p, per CPython's pow on every b."""
    q = 1 << (m + 1)
    primes = list(itertools.islice((k * q + 1 for k in range(1, 2**32 // q) if gmpy2.is_prime(k * q + 1)), 2))
    lo, hi = 4 * 10**9, 4 * 10**9 + 3000
    factors = sieve_gfn(m, lo, hi, [np.array([2, 3, *primes], dtype=np.uint64)])
    hits = 0
    for b in range(lo, hi):
        want = 2 if b % 2 else next((p for p in primes if pow(b, 2**m, p) == p - 1), 0)
        assert factors[b - lo] == want, b
        hits += want > 2
    assert hits >= 10


# ----- exclusions: algebraic factors, never hiding a prime --------------------------------------------


@pytest.mark.parametrize("m", range(1, 9))
def test_b_8_is_algebraic(m: int) -> None:
    """8 = 2^3: 2^(2^m)+1 divides 8^(2^m)+1."""
    form = GfnForm(m)
    reason = form.excluded(8)
    assert reason is not None and "algebraic" in reason
    assert (8 ** (2**m) + 1) % (2 ** (2**m) + 1) == 0


def test_odd_powers_and_aurifeuillean_cases_are_excluded_and_composite() -> None:
    excluded_count = 0
    for m in range(1, 6):
        form = GfnForm(m)
        for b in range(2, 3000, 2):
            reason = form.excluded(b)
            odd_power = any(gmpy2.iroot(mpz(b), d)[1] for d in (3, 5, 7, 9, 11))
            aurifeuille = m == 1 and b > 2 and gmpy2.is_square(b // 2)
            assert (reason is not None) == (odd_power or aurifeuille), (m, b, reason)
            if reason is not None:
                excluded_count += 1
                N = b ** (2**m) + 1
                assert not gmpy2.is_prime(N) and not pari.isprime(N), (m, b)
    assert excluded_count > 20
    assert GfnForm(3).excluded(7) == "b odd: b^(2^m)+1 is even"
    assert GfnForm(1).excluded(2) is None  # 4*1^4+1 = 5: the factor 2y^2-2y+1 is 1


def test_perfect_squares_are_not_algebraic_and_agree_with_m_plus_one() -> None:
    """b = c^2 gives c^(2^(m+1))+1, a GFN again (not a factorization); its Proth K = r^(2^m) is a square.
    Both representations must get the same answer, residue and kind of proof."""
    proth_primes = 0
    for m in range(1, 6):
        for c in range(2, 162, 2):
            b = c * c
            big, small = GfnForm(m), GfnForm(m + 1)
            if small.excluded(c) is not None:
                assert big.excluded(b) is not None
                continue
            assert big.excluded(b) is None, (m, b)
            one, two = big.test(b), small.test(c)
            N = b ** (2**m) + 1
            assert one.result == two.result and one.res64 == two.res64 == fermat3_res64(N)
            assert (one.result == PRIME) == is_prime_two_oracles(N)
            if one.result == PRIME and one.method == "proth":
                K = big.binary_shape(b)[0]
                assert gmpy2.is_square(K)
                assert big.verify(b, one.certificate)[0] and small.verify(c, two.certificate)[0]
                proth_primes += 1
    assert proth_primes >= 2


# ----- traps ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("m", [5, 6, 7, 8])
def test_fermat_numbers_pass_base_2_but_are_composite(m: int) -> None:
    """F5..F8 = 2^(2^m)+1 are base-2 Fermat pseudoprimes (2 is a useless base); Pepin's base 3 exposes them,
    and 4^(2^(m-1))+1, 16^(2^(m-2))+1, the same numbers, must agree."""
    N = 2 ** (2**m) + 1
    assert pow(2, N - 1, N) == 1 and not is_prime_two_oracles(N)
    for b, mm in [(2, m), (4, m - 1), (16, m - 2)]:
        form = GfnForm(mm)
        assert form.excluded(b) is None
        assert 2 in form.useless_bases(b) and 3 not in form.useless_bases(b)
        out = form.test(b)
        assert out.result == COMPOSITE, out
        assert out.res64 == fermat3_res64(N)
        if N >= 2**64:
            assert out.method == "fermat-3"


def invalid_variants(N: int, certificate: dict) -> list[dict]:
    """Certificates that are certainly no proof for N: a Proth witness that is a residue (a^((N-1)/2) = 1),
    a Pocklington base that is a q-th power (a^((N-1)/q) = 1), a base or the witness left out, a prime
    that does not divide N-1, another method's name."""
    method = certificate["method"]
    out = [{**certificate, "method": other} for other in ("llr", "prp", "morrison", "ecpp?")]
    if N >= 2**64:
        out.append({**certificate, "method": "bpsw-below-2^64"})
    if method == "proth":
        residue = next(a for a in range(2, 1000) if gmpy2.jacobi(a, N) == 1)
        out += [{**certificate, "witness": a} for a in (residue, 1, 0, N - 1, 4)]
        out += [{"method": "proth"}, {**certificate, "method": "pocklington"}]
    elif method == "pocklington":
        bases = certificate["bases"]
        for q in bases:
            out.append({**certificate, "bases": {**bases, q: pow(2, int(q), N)}})
            out.append({**certificate, "bases": {k: v for k, v in bases.items() if k != q}})
        wrong = next(q for q in (5, 7, 11, 13, 17, 19, 23) if (N - 1) % q)
        out.append({**certificate, "primes": [*certificate["primes"], wrong], "bases": {**bases, str(wrong): 2}})
        out.append({**certificate, "method": "proth", "witness": 3})  # N is not Proth-shaped here
    else:
        out += [{"method": "proth", "witness": 1}, {"method": "pocklington", "primes": [2], "bases": {"2": 1}}]
    return out


def test_tampered_and_misplaced_certificates_are_rejected() -> None:
    """Every proof from the pipeline verifies; a tampered one, or the same certificate for a composite
    neighbour, is rejected."""
    kinds = set()
    for m, b_min, b_max in [(3, 256, 700), (1, 10**12, 10**12 + 400), (4, 2, 200)]:
        form = GfnForm(m)
        results = run_blocks(campaign(m, b_min, b_max, b_max - b_min + 1, 10**4)).results
        primes = results[results["result"] == PRIME]
        composites = [int(b) for b in results.loc[results["result"] == COMPOSITE, "b"]]
        assert len(primes) >= 3 and len(composites) >= 3
        for row in primes.to_dict("records")[:6]:
            b, certificate = int(row["b"]), json.loads(row["certificate"])
            kinds.add(certificate["method"])
            assert form.verify(b, certificate)[0]
            for bad in invalid_variants(b_int_power(b, m), certificate):
                ok, reason = form.verify(b, bad)
                assert not ok, f"{row['expression']}: tampered {bad} accepted ({reason})"
            for other in composites[:3]:
                ok, reason = form.verify(other, certificate)
                assert not ok, f"certificate of {b} accepted for composite {other} ({reason})"
    assert kinds == {"proth", "pocklington", "bpsw-below-2^64"}


# ----- campaign -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("override", "field", "hint"), [
    ({"m": 0}, "m", "between 1 and 24"),
    ({"m": 25}, "m", "between 1 and 24"),
    ({"b_min": 1}, "b_min", ">= 2"),
    ({"b_min": 0}, "b_min", ">= 2"),
    ({"b_max": 2**63}, "b_max", "2^62"),
    ({"m": 24, "b_max": 100}, "b_max", "b_max <= 7"),
    ({"m": 22, "b_min": 2, "b_max": 10**6}, "b_max", "b_max <= 3877"),
])
def test_campaign_validation(override: dict, field: str, hint: str) -> None:
    with pytest.raises(CampaignError) as err:
        parse_campaign({**campaign(4, 2, 1000, 100), **override})
    assert err.value.field == field and hint in str(err.value), str(err.value)


def test_template_campaign_parses_and_auto_depth_is_sane() -> None:
    spec = load_campaign(REPO / "campaigns" / "gfn.toml")
    assert spec.form == "gfn" and spec.axis == "b" and spec.params == {"m": 6}
    assert isinstance(form_for(spec), GfnForm)
    assert spec.block_count >= 2
    again = load_campaign(REPO / "campaigns" / "gfn.toml")
    assert again.sieve_depth == spec.sieve_depth and 10**3 <= spec.sieve_depth < 2**32
    depths = [GfnForm.auto_sieve_depth({"m": m}, 2, b_max, 1000) for m, b_max in [(4, 1000), (6, 1000), (10, 10**5)]]
    assert depths == sorted(depths) and depths[-1] > 10**9  # bigger numbers: deeper sieve


def test_survival_model_matches_the_sieve() -> None:
    """Survivors of a real sieve are within 10% of survival_at (the Bateman-Horn constant model)."""
    depth = 10**6
    for m in (2, 4, 8):
        lo, hi = 10**7, 10**7 + 20000
        survivors = int(np.count_nonzero(sieve_gfn(m, lo, hi, prime_chunks(2, depth)) == 0))
        model = GfnForm.survival_at(m, depth) * (hi - lo)
        assert math.isclose(survivors, model, rel_tol=0.1), (m, survivors, model)
        assert GfnForm.survival_fraction(depth) >= GfnForm.survival_at(m, depth)


def test_fermat_test_is_gerbicz_checked_and_passes_its_hooks() -> None:
    """test() hands faults, check and chain_run to the checked Fermat chain: a transient fault is caught and
    rolled back (same answer and RES64), the unchecked chain is silently corrupted, and checkpoint hooks
    receive verified states."""
    form, b = GfnForm(6), 102  # 102^64+1, a 427-bit prime (Pocklington)
    N = b_int_power(b, 6)
    assert is_prime_two_oracles(N)
    clean = form.test(b)
    assert clean.result == PRIME and clean.res64 == fermat3_res64(N) and clean.checks >= 1
    caught = form.test(b, TestOptions(faults=[Fault(iteration=200, bit=5)]))
    assert caught.result == PRIME and caught.res64 == clean.res64 and caught.rollbacks >= 1
    corrupted = form.test(b, TestOptions(check=False, faults=[Fault(iteration=200, bit=5)]))
    assert corrupted.result == COMPOSITE and corrupted.res64 != clean.res64
    states: list = []
    hooked = form.test(b, TestOptions(chain_run={"on_verified": states.append}))
    assert hooked.res64 == clean.res64 and states
