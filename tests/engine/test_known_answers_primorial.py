"""Known answers for PrimorialForm (p#+1, p#-1), checked against two independent oracles and OEIS.

The expected primes are never typed in from the engine: p# is built from PARI's own prime list, each
p#+c is decided by PARI/GP (isprime: a proof; for p#+1 its own Pocklington-Lehmer test, flag 1) and
by gmpy2.is_prime, which must agree. The engine runs exactly as the pipeline does (candidate, sieve,
test and certificate frames of a parsed campaign); its full result set must equal the oracles', which
must equal OEIS A014545 / A057704 on the range (cases "primorial+1" / "primorial-1" of tests/oracles.py, checked
in test_known_answer_table.py; this file checks the rest of the same runs).
"""

from __future__ import annotations

import json
import math

import gmpy2
import pandas as pd
import pytest
from oracles import FORM_CASES, FormCase, case_run, is_prime_two_oracles, oracle_values, pari, pari_res64, primorial

from darkreach_pipeline.blocks import FACTOR, SURVIVOR
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.forms.primorial import PrimorialForm
from darkreach_pipeline.primality.outcome import PRIME
from darkreach_pipeline.sieve.primes import prime_chunks

MASK64 = (1 << 64) - 1
P_MAX = FORM_CASES["primorial+1"].axis_range[1]


def case(c: int) -> FormCase:
    return FORM_CASES[f"primorial{c:+d}"]


def truly_prime(N: int, c: int) -> bool:
    return is_prime_two_oracles(N, case(c).prove_up_to_bits, case(c).pari_flag)


def expected_primes(c: int) -> set[int]:
    return oracle_values(case(c))


def campaign(c: int, p_min: int = 0, p_max: int = P_MAX, depth: int | str = 20_000, block_size: int = 250):
    return parse_campaign({"name": f"ka-primorial-{'plus' if c == 1 else 'minus'}", "form": "primorial", "c": c,
                           "p_min": p_min, "p_max": p_max, "block_size": block_size, "sieve_depth": depth})


def run_campaign(c: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The table case's blocks through the four stages and their audits: (sieved, results, certificates)."""
    run = case_run(f"primorial{c:+d}")
    return run.sieved, run.results, run.certs


@pytest.mark.parametrize("c", [1, -1], ids=["p#+1", "p#-1"])
def test_every_prime_is_proven_and_every_row_carries_the_pari_residue(c: int) -> None:
    """The table run (whose primes test_known_answer_table checks against the oracles and OEIS), row by row."""
    expected = expected_primes(c)
    sieved, results, certs = run_campaign(c)
    assert sorted(sieved["p"].astype(int)) == list(range(P_MAX + 1))
    assert set(results.loc[results["result"] == PRIME, "p"].astype(int)) == expected
    assert (certs["status"] == "proven").all() and certs["verified"].all(), certs
    for row in results[results["result"] == PRIME].to_dict("records"):
        method = "bpsw-below-2^64" if primorial(row["p"]) + c < 2**64 else ("pocklington" if c == 1 else "morrison")
        assert row["method"] == method, row
        assert json.loads(row["certificate"])["method"] == method
    for row in results.to_dict("records"):
        N = primorial(int(row["p"])) + c
        assert row["res64"] == pari_res64(N), row["expression"]
        assert row["expression"] == f"{row['p']}#{'+' if c == 1 else '-'}1"
        assert row["digits"] == len(str(N))


@pytest.mark.parametrize("c", [1, -1], ids=["p#+1", "p#-1"])
def test_sieve_factors_divide_and_never_strike_a_prime(c: int) -> None:
    sieved, results, _ = run_campaign(c)
    expected = expected_primes(c)
    struck = sieved[sieved["status"] == FACTOR]
    assert len(struck) > 50  # the sieve did real work
    for p, q in zip(struck["p"].astype(int), struck["factor"].astype(int), strict=True):
        N = primorial(p) + c
        assert q > p, f"{p}#{c:+d}: a prime <= p ({q}) never divides it"
        assert N % q == 0 and N != q, f"{p}#{c:+d}: claimed factor {q}"
        assert p not in expected
    excluded = sieved[sieved["status"] == "excluded"]
    not_prime = {v for v in range(P_MAX + 1) if not pari.isprime(v)}
    assert set(excluded["p"].astype(int)) == not_prime | ({2} if c == -1 else set())
    assert (excluded.loc[excluded["p"].isin(not_prime), "reason"] == "p is not prime").all()
    survivors = set(sieved.loc[sieved["status"] == SURVIVOR, "p"].astype(int))
    assert expected <= survivors and not survivors & not_prime
    assert set(results["p"].astype(int)) == survivors


def test_tiny_p() -> None:
    """2#+1 = 3, 3#+-1 = 7, 5, 5#+-1 = 31, 29 and 7#+1 = 211 are prime and never struck by themselves;
    2#-1 = 1 is excluded; 7#-1 = 209 = 11*19; 0 and 1 are not prime."""
    plus, minus = PrimorialForm(1), PrimorialForm(-1)
    for form, primes in ((plus, (2, 3, 5, 7, 11)), (minus, (3, 5, 11, 13))):
        factors = form.sieve(0, 30, prime_chunks(2, 1000))
        for p in primes:
            assert form.excluded(p) is None and factors[p] == 0
            outcome = form.test(p)
            assert outcome.result == PRIME and outcome.method == "bpsw-below-2^64"
            assert form.verify(p, outcome.certificate)[0]
        for p in (0, 1, 4, 9, 25):
            assert form.excluded(p) == "p is not prime" and factors[p] == 0
    assert "< 2" in minus.excluded(2)
    assert minus.sieve(7, 8, prime_chunks(2, 100))[0] == 11
    assert plus.sieve(13, 14, prime_chunks(2, 100))[0] == 59  # 13#+1 = 30031 = 59*509


@pytest.mark.parametrize("c", [1, -1])
def test_corrupted_certificates_are_rejected(c: int) -> None:
    form = PrimorialForm(c)
    p = 379 if c == 1 else 317
    outcome = form.test(p)
    assert outcome.result == PRIME
    certificate = outcome.certificate
    assert form.verify(p, certificate)[0]
    assert not form.verify(383, certificate)[0], "a proof of another number"
    for corrupted in corruptions(certificate, p):
        assert not form.verify(p, corrupted)[0], corrupted
    assert not form.verify(p, {"method": "prp", "tests": ["fermat-3", "strong-bpsw"]})[0]


def test_campaign_validation_names_the_fix() -> None:
    with pytest.raises(CampaignError, match="'c'.*\\+1 or -1"):
        campaign(0)
    with pytest.raises(CampaignError, match="p_max.*use p_max <= 5,000,000"):
        campaign(1, p_max=10**7, depth=1000, block_size=10**4)
    with pytest.raises(CampaignError, match="p_min.*no prime"):
        campaign(1, p_min=24, p_max=28, depth=1000)
    with pytest.raises(CampaignError, match="p_max.*no candidate"):
        campaign(-1, p_min=0, p_max=2, depth=1000)
    spec = campaign(1, p_min=10_000, p_max=20_000, depth="auto", block_size=1000)
    assert 10**6 < spec.sieve_depth < 2**32


def test_template_campaign_parses() -> None:
    import tomllib
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "campaigns" / "primorial.toml").read_text()
    assert text.startswith("#")
    spec = parse_campaign(tomllib.loads(text))
    assert spec.form == "primorial" and spec.axis == "p"


# ----- certificate surgery (the shared Pocklington / Morrison certificate format) -----------------------------


def corruptions(certificate: dict, p: int) -> list[dict]:
    """Certificates for p#+-1 that must not verify: too few primes (F below sqrt(N)), a composite or a
    non-divisor listed as a prime, the other theorem's name, and wrong or missing bases / parameters."""
    N = primorial(p) + (1 if certificate["method"] == "pocklington" else -1)
    primes = list(certificate["primes"])
    out = [
        {**certificate, "primes": primes[:1]},
        {**certificate, "primes": too_few(primes, N - 1 if certificate["method"] == "pocklington" else N + 1, N)},
        {**certificate, "primes": [*primes, 15]},
        {**certificate, "primes": [*primes, int(gmpy2.next_prime(p))]},
        {**certificate, "method": "morrison" if certificate["method"] == "pocklington" else "pocklington"},
    ]
    if certificate["method"] == "pocklington":
        out += [
            {**certificate, "bases": {q: 4 for q in certificate["bases"]}},  # a square never proves the prime 2
            {**certificate, "bases": {q: 1 for q in certificate["bases"]}},
            {**certificate, "bases": {**certificate["bases"], "2": 4}},
            {**certificate, "bases": {q: a for q, a in certificate["bases"].items() if q != "2"}},
            {**certificate, "bases": {q: a for q, a in certificate["bases"].items() if q != str(primes[-1])}},
        ]
    else:
        P, Q = int(certificate["P"]), int(certificate["Q"])
        square_D = next(x for x in range(P + 1, P + 1000) if pari.kronecker(x * x - 4 * Q, N) == 1)
        out += [
            {**certificate, "P": square_D},  # (D/N) = +1: no proof
            {**certificate, "Q": 4},  # a square Q: U_((N+1)/2) = 0
            {key: value for key, value in certificate.items() if key != "P"},
        ]
    return out


def too_few(primes: list[int], M: int, N: int) -> list[int]:
    """The certificate's primes without the smallest ones, until their part of M = N-+1 is below sqrt(N)."""
    kept = list(primes)
    while math.prod(int(q) ** gmpy2.remove(M, q)[1] for q in kept) ** 2 > N:
        kept = kept[1:]
    assert kept, "dropping every prime is tested separately"
    return kept
