"""The engine's chains on the arithmetic layer: the same residues and verdicts whichever arithmetic ran, FFT
faults caught by the round-off check or by Gerbicz, checkpoints portable between arithmetics."""

from __future__ import annotations

import gmpy2
import numpy as np
import pytest
from gmpy2 import mpz

from darkreach_pipeline.arith.base import RoundoffError
from darkreach_pipeline.arith.generic_fft import GenericFFTArithmetic
from darkreach_pipeline.arith.gfn import GfnArithmetic
from darkreach_pipeline.arith.ibdwt import IBDWTArithmetic
from darkreach_pipeline.forms.factorial import FactorialForm
from darkreach_pipeline.forms.gfn import GfnForm
from darkreach_pipeline.forms.kbn import KbnForm
from darkreach_pipeline.forms.wagstaff import WagstaffForm
from darkreach_pipeline.primality import llr
from darkreach_pipeline.primality.gerbicz import Fault, GerbiczChain, Reducer, checked_powmod


def outcomes(monkeypatch, form, value):
    """The form's test of `value` with the FFT forced, then with GMP forced."""
    monkeypatch.setenv("DARKREACH_ARITH", "fft")
    fft = form.test(value)
    monkeypatch.setenv("DARKREACH_ARITH", "gmp")
    return fft, form.test(value)


@pytest.mark.parametrize(("k", "c", "n"), [(3, 1, 3912), (3, 1, 3913), (3, -1, 4204), (3, -1, 4205), (5, 1, 3000),
                                         (3, -1, 12676), (3, 1, 20909)])  # OEIS A002235, A002253: above the crossover
def test_kbn_verdicts_and_residues_match_gmp(monkeypatch, k, c, n):
    """Proth (c = +1) and Fermat + LLR (c = -1) on the weighted FFT give GMP's verdict and RES64, and the
    truth (BPSW at these sizes); the row records which arithmetic ran."""
    fft, gmp = outcomes(monkeypatch, KbnForm(k, 2, c), n)
    assert (fft.result, fft.method, fft.res64) == (gmp.result, gmp.method, gmp.res64)
    assert (fft.result == "prime") == gmpy2.is_prime((mpz(k) << n) + c)
    assert fft.arithmetic.startswith("fft-ibdwt/") and 0 < fft.max_roundoff < 0.4
    assert gmp.arithmetic == "gmp" and gmp.max_roundoff == 0


@pytest.mark.parametrize("p", [5807, 5813])
def test_wagstaff_runs_modulo_2p_plus_1_with_the_residue_of_n(monkeypatch, p):
    """(2^p+1)/3 is tested modulo 2^p+1 on the FFT; the RES64 is still that of 3^(N-1) mod N."""
    form = WagstaffForm()
    fft, gmp = outcomes(monkeypatch, form, p)
    N = form.number(p)
    assert fft.res64 == gmp.res64 == format(int(gmpy2.powmod(3, N - 1, N)) & (2**64 - 1), "016x")
    assert (fft.result == "probable-prime") == gmpy2.is_prime(N)
    assert fft.arithmetic.startswith("fft-ibdwt/")


@pytest.mark.parametrize(("form", "value"), [(GfnForm(10), 824), (GfnForm(10), 826), (FactorialForm(1), 1477),
                                             (FactorialForm(1), 1478)])
def test_gfn_and_generic_moduli_match_gmp(monkeypatch, form, value):
    """b^(2^m)+1 on the base-b transform and n!+1 on the generic FFT: GMP's verdict and RES64, and the truth."""
    fft, gmp = outcomes(monkeypatch, form, value)
    assert (fft.result, fft.method, fft.res64) == (gmp.result, gmp.method, gmp.res64)
    assert (fft.result == "prime") == gmpy2.is_prime(form.number(value))
    assert fft.arithmetic.startswith("fft-gfn" if isinstance(form, GfnForm) else "fft-generic")


@pytest.mark.parametrize("make", [
    lambda: IBDWTArithmetic(3, 3000, 1),
    lambda: IBDWTArithmetic(5, 3001, -1),
    lambda: GfnArithmetic(1000, 8),
    lambda: GenericFFTArithmetic(gmpy2.next_prime(mpz(7) ** 1100)),
])
def test_binary_chains_match_gmpy2(make):
    """x^(2^count) * base^digit, the Gerbicz-Li chain's inner loop (the multiplication folded into the FFT
    arithmetic's carry), bit-exact for random digits and the edge digits 0 and all ones."""
    arith = make()
    N = arith.N
    x = gmpy2.powmod(12345, 6789, N)
    for digit, count, base in [(0, 40, 3), ((1 << 40) - 1, 40, 3), (0x9E3779B97F4A7C15, 64, 7), (5, 3, 2**19 - 1)]:
        expected = gmpy2.powmod(x, mpz(2) ** count, N) * gmpy2.powmod(base, digit, N) % N
        assert arith.binary_chain(x, digit, count, base) == expected, (arith.name, digit, count, base)


def proth_chain(reducer: Reducer, n: int, **options) -> GerbiczChain:
    return GerbiczChain(reducer, 3, 3, n - 1, **options)


def test_gerbicz_catches_a_fault_in_the_fft_chain(monkeypatch):
    """A bit flipped in the residue between FFT squarings is caught by Gerbicz, rolled back, and the result is
    unchanged."""
    n = 4000
    N = (mpz(3) << n) + 1
    monkeypatch.setenv("DARKREACH_ARITH", "fft")
    chain = proth_chain(Reducer(N, 3, n, 1), n, faults=[Fault(1500, bit=77)])
    assert chain.run() == gmpy2.powmod(3, (N - 1) // 2, N)
    assert chain.report.faults_injected == [1500] and chain.report.rollbacks >= 1
    assert chain.report.arithmetic.startswith("fft-ibdwt/")


def test_a_corrupted_fft_word_never_changes_the_result(monkeypatch):
    """A word of the transform's input corrupted mid-chain (once) is caught by the round-off check or by
    Gerbicz; either way the residue is GMP's."""
    n = 4000
    N = (mpz(3) << n) + 1
    fired = []

    def corrupt(step: int, buffer: np.ndarray) -> None:
        if step == 40 and not fired:
            fired.append(step)
            buffer[len(buffer) // 3] += 12345.678

    reducer = Reducer(N, 3, n, 1)
    reducer.arith = IBDWTArithmetic(3, n, 1, fault=corrupt)
    chain = proth_chain(reducer, n)
    assert chain.run() == gmpy2.powmod(3, (N - 1) // 2, N)
    assert fired and (chain.report.rollbacks + reducer.arith.stats.promotions) >= 1


def test_checkpoints_move_between_arithmetics(monkeypatch):
    """A verified state saved by an FFT chain resumes on GMP (and back) with the same final residue: the state
    is a plain integer whichever arithmetic made it."""
    n = 5000
    N = (mpz(3) << n) + 1
    monkeypatch.setenv("DARKREACH_ARITH", "fft")
    states = []
    full = proth_chain(Reducer(N, 3, n, 1), n).run(on_verified=states.append, want_check=lambda: True)
    middle = states[len(states) // 2]
    monkeypatch.setenv("DARKREACH_ARITH", "gmp")
    assert proth_chain(Reducer(N, 3, n, 1), n).run(resume=middle) == full
    monkeypatch.setenv("DARKREACH_ARITH", "fft")
    assert proth_chain(Reducer(N, 3, n, 1), n).run(resume=middle) == full == gmpy2.powmod(3, (N - 1) // 2, N)


def test_gerbicz_li_chain_on_the_fft_with_a_fault(monkeypatch):
    """Arbitrary exponents (the Fermat screen of generic forms) on an FFT arithmetic of a multiple of N."""
    p = 4001
    M = (mpz(1) << p) + 1
    N = M // 3
    monkeypatch.setenv("DARKREACH_ARITH", "fft")
    arith = IBDWTArithmetic(1, p, 1)
    residue, report = checked_powmod(3, N - 1, N, arith=arith, faults=[Fault(2000, bit=5)])
    assert residue == gmpy2.powmod(3, N - 1, N)
    assert report.rollbacks >= 1 and report.arithmetic.startswith("fft-ibdwt/")
    with pytest.raises(ValueError, match="multiple of N"):
        checked_powmod(3, N - 1, N + 2, arith=arith)


class RoundoffAtEveryLength(IBDWTArithmetic):
    """The weighted FFT as it behaves when no FFT length holds the round-off (not reachable on demand: the
    promotion ladder rescues every length the constructor accepts)."""

    def _chain(self, X, count, u, bits=0, base=1):
        raise RoundoffError("round-off above 0.4 at FFT length 960, the longest tried")


def test_a_roundoff_failure_at_every_length_finishes_the_chain_in_gmp():
    """RoundoffError from the FFT: the chain reruns those steps in GMP and stays there; the residue is exact
    and the row says GMP."""
    n = 20000
    N = (mpz(3) << n) + 1
    reducer = Reducer(N, 3, n, 1)
    reducer.arith = RoundoffAtEveryLength(3, n, 1)
    chain = proth_chain(reducer, n)
    assert chain.run() == gmpy2.powmod(3, (N - 1) // 2, N)
    assert chain.report.arithmetic == "gmp"
    residue, report = checked_powmod(5, N - 1, N, arith=RoundoffAtEveryLength(3, n, 1))
    assert residue == gmpy2.powmod(5, N - 1, N) and report.arithmetic == "gmp"


class WrongLucasResidue(IBDWTArithmetic):
    """An FFT whose V^2 - 2 chain comes out wrong undetected (a flipped bit that lands on an integer)."""

    def lucas_chain(self, u, count):
        return super().lucas_chain(u, count) ^ 1


@pytest.mark.parametrize("n", [4204, 4205])
def test_an_undetected_llr_error_on_the_fft_never_loses_a_prime(monkeypatch, n):
    """LLR has no Gerbicz check: its "composite" from an FFT arithmetic is redone in GMP before it is believed."""
    N = (mpz(3) << n) - 1
    monkeypatch.setattr(llr, "arithmetic_for", lambda N, K, e, c: WrongLucasResidue(K, e, c))
    assert llr.llr_is_prime(3, n, llr.rodseth_p(N)) == gmpy2.is_prime(N)


def test_a_wagstaff_checkpoint_resumes_modulo_n_or_modulo_2p_plus_1(monkeypatch):
    """A Gerbicz-Li state saved by the chain modulo N (GMP) resumes on the FFT modulo 2^p+1 = 3N, and the
    other way round, with the same residue."""
    p = 4001
    N = ((mpz(1) << p) + 1) // 3
    expected = gmpy2.powmod(3, N - 1, N)
    on_n, on_3n = [], []
    monkeypatch.setenv("DARKREACH_ARITH", "gmp")
    checked_powmod(3, N - 1, N, chain_run={"on_verified": on_n.append, "want_check": lambda: True})
    fft = IBDWTArithmetic(1, p, 1)
    checked_powmod(3, N - 1, N, arith=fft, chain_run={"on_verified": on_3n.append, "want_check": lambda: True})
    resumed_on_fft, report = checked_powmod(3, N - 1, N, arith=fft, chain_run={"resume": on_n[len(on_n) // 2]})
    assert resumed_on_fft == expected and report.rollbacks == 0
    resumed_on_gmp, report = checked_powmod(3, N - 1, N, chain_run={"resume": on_3n[len(on_3n) // 2]})
    assert resumed_on_gmp == expected and report.rollbacks == 0
