"""The Pietrzak prover on the test's own arithmetic: the same bytes as the plain gmpy2 tree, sliding-window powers
that agree with powmod (through an FFT length promotion too), and p chosen per arithmetic within the budget."""

from __future__ import annotations

import random

import gmpy2
import pytest
from gmpy2 import mpz

from darkreach_pipeline.arith.base import RoundoffError, window_plan
from darkreach_pipeline.arith.gmp import GMPArithmetic
from darkreach_pipeline.arith.ibdwt import IBDWTArithmetic, _smooth_lengths, choose_length
from darkreach_pipeline.forms import KbnForm, WagstaffForm
from darkreach_pipeline.primality.options import TestOptions
from darkreach_pipeline.proofs.pietrzak import (
    PROVE_BUDGET,
    PROVE_STEPS_PER_POWER,
    PROVE_STEPS_UNKNOWN,
    ProofRecorder,
    choose_power,
    prove,
    proving_steps,
    tree_product,
    verifying_steps,
)
from darkreach_pipeline.proofs.pietrzak_verify import verify_prp_proof

EXPONENTS = [1, 2, 3, 7, 8, 15, 16, 17, 255, 2**63 + 1, 2**64 - 1]


def test_window_plan_rebuilds_every_exponent():
    rng = random.Random(3)
    for e in EXPONENTS + [rng.getrandbits(bits) | 1 for bits in (5, 64, 230)]:
        for w in (1, 3, 4, 5):
            first, ops = window_plan(e, w)
            acc = first
            for squarings, value in ops:
                assert value == 0 or (value % 2 == 1 and value < 1 << w)
                acc = (acc << squarings) + value
            assert acc == e


@pytest.mark.parametrize("k,n,c", [(3, 3000, 1), (3, 3001, -1), (1, 2203, 1)])
def test_powers_on_each_arithmetic_agree_with_powmod(k, n, c):
    N = (mpz(k) << n) + c
    rng = random.Random(n)
    for arith in (IBDWTArithmetic(k, n, c), GMPArithmetic(N, k, n, c), GMPArithmetic(N)):
        for e in EXPONENTS + [rng.getrandbits(64), rng.getrandbits(300)]:
            x = mpz(rng.getrandbits(n)) % N
            assert arith.power(x, e) == gmpy2.powmod(x, e, N), (arith.name, e)


def test_a_power_redone_after_a_round_off_promotion_is_exact():
    """Started at 3/4 of the FFT length the rule picks, a product's round-off passes the limit: the power is redone
    from its input at the longer length."""
    short = next(L for L in _smooth_lengths() if L >= choose_length(20000, 3, 1) * 3 // 4)
    arith = IBDWTArithmetic(3, 20000, 1, fft_length=short)
    x, e = mpz(3) ** 5000 % arith.N, 0xF1E2D3C4B5A69788
    assert arith.power(x, e) == gmpy2.powmod(x, e, arith.N)
    assert arith.stats.promotions >= 1


def random_tree(N: mpz, count: int, seed: int) -> tuple[list[mpz], list[int]]:
    rng = random.Random(seed)
    return [mpz(rng.getrandbits(N.bit_length())) % N for _ in range(1 << count)], [rng.getrandbits(64) for _ in
                                                                                     range(count)]


def test_the_tree_on_each_arithmetic_equals_the_plain_gmpy2_tree():
    kbn = (mpz(3) << 3000) + 1
    wagstaff = ((mpz(1) << 3001) + 1) // 3
    for N, arith in [(kbn, IBDWTArithmetic(3, 3000, 1)), (kbn, GMPArithmetic(kbn, 3, 3000, 1)),
                     (kbn, GMPArithmetic(kbn)), (wagstaff, IBDWTArithmetic(1, 3001, 1))]:  # Wagstaff: modulo 3N
        values, rs = random_tree(N, 4, N.bit_length())
        assert tree_product(values, rs, N, arith) == tree_product(values, rs, N)
        assert tree_product(values, [0, *rs[1:]], N, arith) == tree_product(values, [0, *rs[1:]], N)


class GmpyTwin(ProofRecorder):
    """A recorder that also makes the same proof with the plain gmpy2 tree and x by powmod (arith=None)."""

    twin: bytes | None = None
    arithmetic: str = ""

    def positions(self, steps, arithmetic=None):
        self.arithmetic = arithmetic
        return super().positions(steps, arithmetic)

    def finish(self, modulus, base, step, exponent, steps, captured, y, arith=None):
        super().finish(modulus, base, step, exponent, steps, captured, y, arith)
        self.twin = prove(mpz(modulus), base, step, mpz(exponent), self.T, self.p,
                          [captured[k] for k in self._wanted(steps)])


@pytest.mark.parametrize("form,value", [(KbnForm(3, 2, 1), 3000), (KbnForm(3, 2, -1), 3001), (WagstaffForm(), 3001)])
@pytest.mark.parametrize("mode", ["fft", "gmp"])
def test_proofs_on_the_tests_arithmetic_are_the_gmpy2_provers_bytes_and_verify(form, value, mode, monkeypatch):
    monkeypatch.setenv("DARKREACH_ARITH", mode)
    recorder = GmpyTwin(power=4)
    outcome = form.test(value, TestOptions(chain_run={"proof": recorder}))
    assert outcome.arithmetic.startswith(mode) and recorder.arithmetic.startswith(mode)
    assert recorder.proof is not None and recorder.proof == recorder.twin
    verdict = verify_prp_proof(form.number(value), recorder.proof, base=3, res64=outcome.res64)
    assert verdict.accepted, verdict.reason


def test_a_round_off_failure_while_proving_falls_back_to_gmp(monkeypatch):
    def fails(self, r, exponent):
        raise RoundoffError("round-off past the limit at the longest length")

    monkeypatch.setenv("DARKREACH_ARITH", "fft")
    monkeypatch.setattr(IBDWTArithmetic, "power_residue", fails)
    recorder = GmpyTwin(power=3)
    outcome = KbnForm(3, 2, 1).test(3000, TestOptions(chain_run={"proof": recorder}))
    assert outcome.arithmetic.startswith("fft") and recorder.proof is not None and recorder.proof == recorder.twin


@pytest.mark.parametrize("arithmetic", [None, "gmp", "fft-ibdwt", "fft-generic"])
def test_choose_power_per_arithmetic_keeps_proving_within_budget_and_grows_with_the_chain(arithmetic):
    previous = 0
    for steps in (10_000, 50_000, 100_000, 200_000, 400_000, 1_300_000, 5_000_000, 100_000_000):
        p = choose_power(steps, arithmetic)
        assert p >= previous
        previous = p
        assert p == 1 or proving_steps(p, arithmetic) <= PROVE_BUDGET * steps
        assert (proving_steps(p + 1, arithmetic) > PROVE_BUDGET * steps
                or verifying_steps(steps, p + 1) >= verifying_steps(steps, p))
        assert p >= choose_power(steps)  # a measured arithmetic never gets a smaller p than an unknown one


def test_measured_arithmetics_get_a_larger_p_where_their_cheaper_proving_allows():
    assert all(PROVE_STEPS_PER_POWER[name] < PROVE_STEPS_UNKNOWN for name in ("gmp", "fft-ibdwt"))
    assert [choose_power(50_000, name) for name in (None, "gmp", "fft-ibdwt")] == [3, 4, 4]


def test_verifying_steps_scale_with_the_verifiers_cost_per_step():
    assert verifying_steps(200_000, 5, 4.0) == 4 * verifying_steps(200_000, 5)
