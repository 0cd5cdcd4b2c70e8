"""Pocklington / Morrison proofs, the independent verify_proof, and Gerbicz-Li checked powers.

Primality of every N is decided by PARI/GP's isprime and gmpy2 (which must agree); the prover must
prove exactly the primes, and the verifier must accept its certificates and reject tampered ones.
"""

from __future__ import annotations

import functools
import math
import random

import gmpy2
import pytest
from gmpy2 import mpz
from oracles import is_prime_two_oracles

from darkreach_pipeline.primality.fermat import fermat_prp
from darkreach_pipeline.primality.gerbicz import ChainState, Fault, GerbiczError, checked_powmod
from darkreach_pipeline.primality.outcome import COMPOSITE, PRIME
from darkreach_pipeline.proofs.certificate_check import verify_proof
from darkreach_pipeline.proofs.classical import morrison, pocklington
from darkreach_pipeline.sieve.primes import small_primes

PRIMES = [int(p) for p in small_primes(400)]


@pytest.mark.parametrize("c", [1, -1])
def test_factorial_proofs_match_two_oracles(c):
    """n! + c for n = 21..160 (all above 2^64): proven exactly when prime, certificate verified."""
    prover = pocklington if c == 1 else morrison
    proven = set()
    for n in range(21, 161):
        N = mpz(math.factorial(n)) + c
        result, certificate = prover(N, [p for p in PRIMES if p <= n])
        truth = is_prime_two_oracles(int(N))
        assert result == (PRIME if truth else COMPOSITE), (n, result)
        if result == PRIME:
            assert verify_proof(N, certificate)[0], (n, certificate)
            proven.add(n)
    # OEIS A002981 (n!+1) and A002982 (n!-1) in this range
    assert proven == ({27, 37, 41, 73, 77, 116, 154} if c == 1 else {30, 32, 33, 38, 94})


def test_pocklington_base_must_exceed_n_for_factorial_plus_one():
    """Every base <= n is a quadratic residue of n!+1: the q = 2 condition needs a larger base."""
    N = mpz(math.factorial(73)) + 1
    result, certificate = pocklington(N, [p for p in PRIMES if p <= 73])
    assert result == PRIME and int(certificate["bases"]["2"]) > 73
    forged = {**certificate, "bases": {**certificate["bases"], "2": 71}}
    assert not verify_proof(N, forged)[0]


def test_verifier_rejects_tampered_certificates():
    N = mpz(math.factorial(38)) - 1
    _, cert = morrison(N, [p for p in PRIMES if p <= 38])
    assert verify_proof(N, cert)[0]
    assert not verify_proof(N + 2, cert)[0]  # 38!+1 is composite
    assert not verify_proof(N, {**cert, "primes": [41, *cert["primes"]]})[0]  # 41 does not divide N+1
    assert not verify_proof(N, {**cert, "primes": [2, 3]})[0]  # factored part too small
    assert not verify_proof(N, {**cert, "primes": [4, *cert["primes"]]})[0]  # 4 is not prime
    assert not verify_proof(N, {**cert, "Q": 1})[0]
    assert not verify_proof(N, {"method": "prp"})[0]
    assert not verify_proof(N, {"method": "morrison"})[0]  # malformed: no crash, a rejection
    M = mpz(math.factorial(37)) + 1
    _, cert = pocklington(M, [p for p in PRIMES if p <= 37])
    assert verify_proof(M, cert)[0]
    assert not verify_proof(M, {**cert, "method": "morrison"})[0]
    # a composite whose N-1 is fully factored: no certificate may be produced
    C = mpz(math.factorial(36)) + 1
    assert pocklington(C, [p for p in PRIMES if p <= 36])[0] == COMPOSITE


def test_proth_and_llr_derived_from_n():
    N = mpz(3) * 2**189 + 1  # 3*2^189+1 is prime (A002253)
    assert is_prime_two_oracles(int(N))
    assert verify_proof(N, {"method": "proth", "witness": 5})[0] == (gmpy2.powmod(5, (N - 1) // 2, N) == N - 1)
    assert not verify_proof(N + 2, {"method": "proth", "witness": 5})[0]


def test_checked_powmod_equals_powmod():
    rng = random.Random(7)
    for _ in range(200):
        N = mpz(rng.getrandbits(rng.randint(3, 700))) | 1
        if N < 3:
            continue
        E, base = rng.randint(1, 1 << rng.randint(1, 900)), rng.choice([2, 3, 5, 7])
        assert checked_powmod(base, E, N)[0] == gmpy2.powmod(base, E, N)


@functools.cache
def prime_above_2_to_3000() -> mpz:
    """The modulus of the Gerbicz-Li tests, found once: next_prime at 3,000 bits takes seconds."""
    return gmpy2.next_prime(mpz(1) << 3000)


@pytest.mark.parametrize("iteration", [0, 1, 7, 250, 1800, 2999])
def test_gerbicz_li_corrects_transient_faults(iteration):
    N = prime_above_2_to_3000()
    prp, residue, report = fermat_prp(N, 3, faults=[Fault(iteration, bit=11)])
    assert prp and report.faults_injected == [iteration] and report.rollbacks >= 1
    assert not fermat_prp(N, 3, check=False, faults=[Fault(iteration, bit=11)])[0]  # unchecked: silently wrong


def test_gerbicz_li_fails_loudly_on_a_persistent_fault():
    N = prime_above_2_to_3000()
    with pytest.raises(GerbiczError):
        checked_powmod(3, N - 1, N, faults=[Fault(900, bit=2, persistent=True)])


def test_gerbicz_li_resumes_from_a_verified_state():
    N = prime_above_2_to_3000() * gmpy2.next_prime(mpz(1) << 40)
    states: list[ChainState] = []
    full, _ = checked_powmod(3, N - 1, N, chain_run={"on_verified": states.append, "want_check": lambda: True})
    middle = ChainState.from_json(states[len(states) // 2].to_json())
    resumed, report = checked_powmod(3, N - 1, N, chain_run={"resume": middle})
    assert resumed == full == gmpy2.powmod(3, N - 1, N) and report.resumed_from


def test_morrison_retries_only_failing_primes_with_the_same_discriminant():
    """30!-1: the first (P, Q) fails some q; those get other pairs of the same D, which the verifier insists on."""
    N = mpz(math.factorial(30)) - 1
    result, cert = morrison(N, [p for p in PRIMES if p <= 30])
    assert result == PRIME and cert.get("lucas")
    assert verify_proof(N, cert)[0]
    D = cert["P"] ** 2 - 4 * cert["Q"]
    for q, (P, Q) in cert["lucas"].items():
        assert P * P - 4 * Q == D
        other_d = {**cert, "lucas": {**cert["lucas"], q: [P + 1, Q]}}  # a sequence of another discriminant
        assert not verify_proof(N, other_d)[0]
        # without its own pair q falls back to (P, Q), which failed for it
        without = {**cert, "lucas": {k: v for k, v in cert["lucas"].items() if k != q}}
        assert not verify_proof(N, without)[0]
