"""Gerbicz error checking: every injected fault is detected and repaired; unchecked, it corrupts."""

import random

import gmpy2
import pytest
from gmpy2 import mpz

from darkreach_pipeline.forms.kbn import KbnForm
from darkreach_pipeline.primality.gerbicz import ChainState, Fault, GerbiczChain, GerbiczError, Reducer
from darkreach_pipeline.primality.options import TestOptions


def _chain_case(c: int, K: int, e: int, total: int, step: int = 2):
    N = (mpz(K) << e) + c
    return Reducer(N, K, e, c, step=step), gmpy2.powmod(3, K * mpz(step) ** total, N)


@pytest.mark.parametrize("c", [1, -1])
@pytest.mark.parametrize("step", [2, 10])
def test_every_fault_is_detected_and_repaired(c, step):
    total = 900 if step == 2 else 150
    reducer, expected = _chain_case(c, 1005, 1200, total, step)
    L = GerbiczChain(reducer, 3, 1005, total).L
    head = total % L
    # start value, head, first block, a middle block, the last block (the final < L^2 squarings), last squaring
    iterations = sorted({0, 1, max(1, head), head + 1, head + L, total // 2, total - L + 1, total - 1, total})
    for iteration in iterations:
        for bit in (0, 17, 600):
            chain = GerbiczChain(reducer, 3, 1005, total, faults=[Fault(iteration, bit)])
            assert chain.run() == expected, (iteration, bit)
            assert chain.report.faults_injected == [iteration]
            assert chain.report.rollbacks >= 1, (iteration, bit)
            unchecked = GerbiczChain(reducer, 3, 1005, total, check=False, faults=[Fault(iteration, bit)])
            assert unchecked.run() != expected, "an unchecked fault must corrupt the residue"


def test_random_faults_on_random_moduli():
    rng = random.Random(7)
    for _ in range(25):
        c, K, e = rng.choice([1, -1]), rng.randrange(1, 2**40) | 1, rng.randrange(100, 1500)
        total = rng.randrange(2, e)
        reducer, expected = _chain_case(c, K, e, total)
        faults = [Fault(rng.randrange(0, total + 1), rng.randrange(0, 64)) for _ in range(rng.randrange(1, 4))]
        chain = GerbiczChain(reducer, 3, K, total, faults=faults)
        assert chain.run() == expected
        assert chain.report.rollbacks >= 1


def test_persistent_fault_fails_loudly():
    reducer, _ = _chain_case(1, 3, 2000, 1999)
    chain = GerbiczChain(reducer, 3, 3, 1999, faults=[Fault(1500, 3, persistent=True)])
    with pytest.raises(GerbiczError, match="no result is reported"):
        chain.run()


def test_clean_chain_checks_and_matches_powmod():
    reducer, expected = _chain_case(-1, 57, 3000, 3000)
    chain = GerbiczChain(reducer, 3, 57, 3000, check_every=2)
    assert chain.run() == expected
    assert chain.report.checks >= 3 and chain.report.rollbacks == 0


def test_resume_from_a_verified_state_gives_the_same_result():
    reducer, expected = _chain_case(1, 15, 4000, 3999)
    states: list[ChainState] = []
    forced = iter([False, True] * 1000)
    chain = GerbiczChain(reducer, 3, 15, 3999)
    assert chain.run(on_verified=states.append, want_check=lambda: next(forced)) == expected
    assert len(states) >= 5
    middle = ChainState.from_json(states[len(states) // 2].to_json())
    resumed = GerbiczChain(reducer, 3, 15, 3999)
    assert resumed.run(resume=middle) == expected
    assert resumed.report.resumed_from == 3999 % resumed.L + middle.done
    assert resumed.report.squarings == 3999 - resumed.report.resumed_from


def test_kbn_test_repairs_faults_and_keeps_residue():
    form = KbnForm(15, 2, 1)
    clean = form.test(3000)
    faulty = form.test(3000, TestOptions(faults=[Fault(1234, 5), Fault(2990, 1)]))
    assert (faulty.result, faulty.res64) == (clean.result, clean.res64)
    assert faulty.rollbacks >= 1 and clean.rollbacks == 0 and clean.checks >= 1
    broken = form.test(3000, TestOptions(check=False, faults=[Fault(1234, 5)]))
    assert broken.res64 != clean.res64
    prime = KbnForm(3, 2, -1).test(470, TestOptions(faults=[Fault(300, 2)]))
    assert prime.result == "prime" and prime.rollbacks >= 1
