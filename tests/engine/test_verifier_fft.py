"""The Pietrzak verifier's own FFT (proofs/verifier_fft.py): bit-exact against gmpy2 over the shapes K*2^e+-1 it
takes, round-off trips that fall back to GMP instead of deciding, and proofs verified through it."""

from __future__ import annotations

import random

import gmpy2
import pytest
from gmpy2 import mpz

from darkreach_pipeline.forms import CullenForm, GfnForm, KbnForm, WagstaffForm
from darkreach_pipeline.primality.options import TestOptions
from darkreach_pipeline.proofs import verifier_fft
from darkreach_pipeline.proofs.pietrzak import HEADER, ProofRecorder
from darkreach_pipeline.proofs.pietrzak_verify import _generalized_fermat, _Modulus, verify_prp_proof
from darkreach_pipeline.proofs.verifier_fft import MAX_SMALL, GfnFFT, RoundoffError, ShapeFFT, choose_length

SHAPES = [  # (K, e, c): K = 1 rational and irrational, K = 3, large odd K, both signs, ~1k to ~100k bits
    (1, 1024, 1), (1, 1024, -1), (1, 3001, 1), (1, 3001, -1),  # 2^q+1 = 3N for Wagstaff, 2^q-1
    (3, 1000, 1), (3, 2003, -1), (3, 20000, 1), (3, 100003, -1),
    (5, 9973, -1), (1005, 12000, 1), (123457, 4001, -1), (999_999, 30000, 1), (2**19 + 1, 8000, -1),
]


def reference(z: mpz, digits: mpz, count: int, g: int, M: mpz) -> mpz:
    return gmpy2.powmod(z, mpz(2) ** count, M) * gmpy2.powmod(g, digits, M) % M


@pytest.mark.parametrize("K,e,c", SHAPES)
def test_the_chain_equals_gmpy2_bit_for_bit(K, e, c):
    rng = random.Random(K * e)
    engine = ShapeFFT(K, e, c)
    M = engine.M
    count = 60 if e < 50_000 else 12
    specials = [mpz(0), mpz(1), M - 1, engine.K_inverse, (mpz(1) << (M.bit_length() - 1)) - 1]
    for z in specials + [mpz(rng.getrandbits(M.bit_length())) % M]:
        assert engine.value(engine.digits(z)) == z
    for g, digits in [(3, mpz(rng.getrandbits(count))), (MAX_SMALL - 1, (mpz(1) << count) - 1), (2, mpz(0))]:
        z = mpz(rng.getrandbits(M.bit_length())) % M
        assert engine.chain(z, digits, count, g) == reference(z, digits, count, g, M), (g, digits)
        assert 0 < engine.roundoff < 0.25


def test_lengths_keep_round_off_low_and_grow_with_k():
    assert choose_length(3, 400_000) < choose_length(999_999, 400_000)
    assert choose_length(1, 50_000) <= choose_length(3, 50_000) <= choose_length(3, 100_000)
    for K, e in [(1, 50_000), (3, 200_000)]:
        L = choose_length(K, e)
        assert 17 < (e + K.bit_length()) / L < 21  # not wasteful either


def test_a_round_off_trip_raises_with_the_last_saved_state_never_a_value():
    K, e, c = 3, 20_000, 1
    M = mpz(K) * (mpz(1) << e) + c
    z, digits, count = mpz(7) ** 5000 % M, mpz(random.Random(1).getrandbits(2500)), 2500
    with pytest.raises(RoundoffError) as trip:  # digits of ~26 bits: far past float64's limit
        ShapeFFT(K, e, c, length=768).chain(z, digits, count, 3)
    assert trip.value.roundoff > verifier_fft.ROUNDOFF_LIMIT
    with pytest.raises(RoundoffError) as trip:  # a sound length with the limit forced below any round-off
        ShapeFFT(K, e, c).chain(z, digits, count, 3, limit=-1.0)
    assert (trip.value.state, trip.value.left) == (z, count)
    with pytest.raises(RoundoffError) as trip:  # a trip late in the chain: the state saved at step 2,048
        engine = ShapeFFT(K, e, c)
        real = engine._square
        calls = iter(range(count))
        engine._square = lambda d, small: 1.0 if next(calls) == 2100 else real(d, small)
        engine.chain(z, digits, count, 3)
    left = trip.value.left
    assert left == count - 2048
    assert trip.value.state == reference(z, digits >> left, 2048, 3, M)


def test_the_verifier_finishes_on_gmp_after_a_trip(monkeypatch):
    monkeypatch.setenv("DARKREACH_VERIFIER_FFT", "always")
    monkeypatch.setattr(verifier_fft, "ROUNDOFF_LIMIT", -1.0)
    N = 3 * mpz(2) ** 5000 + 1
    work = _Modulus(N)
    z, digits = mpz(5) ** 999 % N, mpz(random.Random(2).getrandbits(300))
    assert work.binary_chain(z, digits, 300, 3) == reference(z, digits, 300, 3, N)
    assert work.arithmetic.startswith("fft/") and "-> gmp" in work.arithmetic


def proof_of(form, value, power=4):
    recorder = ProofRecorder(power=power)
    outcome = form.test(value, TestOptions(chain_run={"proof": recorder}))
    return form.number(value), outcome.res64, recorder.proof


@pytest.mark.parametrize("form,value", [(KbnForm(3, 2, 1), 3912), (KbnForm(3, 2, -1), 2003), (CullenForm(), 1000),
                                        (WagstaffForm(), 1709), (GfnForm(m=8), 30), (GfnForm(m=10), 1000)])
def test_honest_proofs_verify_on_the_fft_and_tampered_ones_are_rejected(form, value, monkeypatch):
    monkeypatch.setenv("DARKREACH_VERIFIER_FFT", "always")
    N, residue, proof = proof_of(form, value)
    verdict = verify_prp_proof(N, proof, base=3, res64=residue)
    assert verdict.accepted, verdict.reason
    assert verdict.arithmetic.startswith("fft/") and "gmp" not in verdict.arithmetic
    n = (N.bit_length() + 7) // 8
    for byte in [HEADER.size + n // 2, HEADER.size + n + 3, len(proof) - 1]:  # y, the first and the last mu
        tampered = bytearray(proof)
        tampered[byte] ^= 4
        assert not verify_prp_proof(N, bytes(tampered), base=3, res64=residue).accepted


def test_a_round_off_trip_in_the_verifier_neither_accepts_nor_rejects_wrongly(monkeypatch):
    N, residue, proof = proof_of(KbnForm(3, 2, 1), 3912)
    monkeypatch.setenv("DARKREACH_VERIFIER_FFT", "always")
    monkeypatch.setattr(verifier_fft, "ROUNDOFF_LIMIT", -1.0)
    verdict = verify_prp_proof(N, proof, base=3, res64=residue)
    assert verdict.accepted and "-> gmp after round-off" in verdict.arithmetic
    tampered = bytearray(proof)
    tampered[HEADER.size + 10] ^= 1
    assert not verify_prp_proof(N, bytes(tampered), base=3, res64=residue).accepted


def test_a_wrong_fft_result_is_confirmed_on_gmp_before_a_rejection(monkeypatch):
    """An FFT chain that returned a wrong value (a bug, a fault the round-off check missed) costs a GMP rerun,
    never an honest proof."""
    N, residue, proof = proof_of(KbnForm(3, 2, 1), 3912)
    monkeypatch.setenv("DARKREACH_VERIFIER_FFT", "always")
    monkeypatch.setattr(ShapeFFT, "chain", lambda self, z, digits, count, g, limit=None: z + 1)
    verdict = verify_prp_proof(N, proof, base=3, res64=residue)
    assert verdict.accepted and verdict.arithmetic == "gmp"


@pytest.mark.parametrize("K,e,c", [(3, 20000, 1), (1, 3001, 1), (999_999, 30000, -1)])
def test_the_straus_powers_equal_gmpy2_and_a_trip_goes_back_to_gmp(K, e, c, monkeypatch):
    rng = random.Random(e)
    engine = ShapeFFT(K, e, c)
    M = engine.M
    bases = [mpz(rng.getrandbits(e)) % M for _ in range(3)] + [M - 1]
    exponents = [rng.getrandbits(64), 0, 15, (1 << 64) - 1]
    expected = mpz(1)
    for b, r in zip(bases, exponents, strict=True):
        expected = expected * gmpy2.powmod(b, r, M) % M
    assert engine.multi_power(bases, exponents) == expected
    assert engine.multi_power([bases[0]], [0]) == 1
    with pytest.raises(RoundoffError):
        engine.multi_power(bases, exponents, limit=-1.0)
    monkeypatch.setenv("DARKREACH_VERIFIER_FFT", "always")
    monkeypatch.setattr(verifier_fft, "ROUNDOFF_LIMIT", -1.0)
    work = _Modulus(M)
    assert work.multi_power(bases, exponents) == expected and work.trips


def test_two_threads_verify_at_once_without_sharing_buffers():
    from concurrent.futures import ThreadPoolExecutor

    shapes = [(3, 20000, 1), (3, 20001, 1)]  # the same length: buffers would clash if shared

    def run(shape):
        engine = ShapeFFT(*shape)
        z = mpz(7) ** 3000 % engine.M
        return engine.chain(z, mpz(12345), 400, 3) == reference(z, mpz(12345), 400, 3, engine.M)

    assert ShapeFFT(*shapes[0]).L == ShapeFFT(*shapes[1]).L
    with ThreadPoolExecutor(2) as pool:
        assert all(pool.map(run, shapes * 3))


@pytest.mark.parametrize("b,m", [(12, 8), (1000, 10), (30000, 12), (1_372_930, 12), (10, 6)])
def test_the_gfn_transform_equals_gmpy2_bit_for_bit(b, m):
    rng = random.Random(b)
    engine = GfnFFT(b, m)
    M = engine.M
    assert M == mpz(b) ** (1 << m) + 1
    for z in [mpz(0), mpz(1), M - 1, M - 2, mpz(b) ** (1 << (m - 1)), mpz(rng.getrandbits(M.bit_length())) % M]:
        assert engine.value(engine.digits(z)) == z
    for g, digits in [(3, mpz(rng.getrandbits(60))), (MAX_SMALL - 1, (mpz(1) << 60) - 1)]:
        z = mpz(rng.getrandbits(M.bit_length())) % M
        assert engine.chain(z, digits, 60, g) == reference(z, digits, 60, g, M)
        assert engine.roundoff < 0.25
    bases, exponents = [M - 1, mpz(rng.getrandbits(M.bit_length())) % M], [rng.getrandbits(64), (1 << 64) - 1]
    expected = gmpy2.powmod(bases[0], exponents[0], M) * gmpy2.powmod(bases[1], exponents[1], M) % M
    assert engine.multi_power(bases, exponents) == expected


def test_gfn_writings_and_digits_too_large_for_the_transform():
    assert _generalized_fermat(mpz(12) ** 256 + 1) == [(12**8, 5), (12**4, 6), (144, 7), (12, 8)]
    assert _generalized_fermat(mpz(12) ** 256 + 3) == []
    with pytest.raises(ValueError):
        GfnFFT(12**8, 5)  # 29-bit digits: past float64's limit
    assert _Modulus(mpz(12) ** 256 + 1).engine() is None  # 918 bits: GMP below FFT_FROM_BITS


def test_a_shape_the_fft_refuses_stays_on_gmp(monkeypatch):
    monkeypatch.setenv("DARKREACH_VERIFIER_FFT", "always")
    N = (mpz(2) ** 29 + 1) * mpz(2) ** 9000 + 1  # K of 30 bits: too many bits per word for the transform
    work = _Modulus(N)
    assert work.shape is not None and work.engine() is None
    z = mpz(11) ** 4000 % N
    assert work.binary_chain(z, mpz(99), 50, 3) == reference(z, mpz(99), 50, 3, N) and work.arithmetic == "gmp"


def test_measured_plans_are_kept_as_wisdom_and_a_new_process_plans_from_it(tmp_path, monkeypatch):
    import pyfftw

    saved = pyfftw.export_wisdom()  # the process's wisdom (the test's own FFT plans too) comes back at the end
    try:
        _wisdom_round_trip(tmp_path, monkeypatch, pyfftw)
    finally:
        pyfftw.import_wisdom(saved)


def _wisdom_round_trip(tmp_path, monkeypatch, pyfftw) -> None:
    monkeypatch.setattr(verifier_fft, "WISDOM_PATH", tmp_path / "wisdom")
    K, e, c, L = 3, 20_011, 1, 1536  # a length no other test plans, so no plan of it is cached in this process
    M = mpz(K) * (mpz(1) << e) + c
    z = mpz(random.Random(7).getrandbits(e)) % M
    monkeypatch.setattr(verifier_fft, "MEASURE_AFTER_STEPS", 0)
    assert ShapeFFT(K, e, c, L).chain(z, mpz(5), 8, 3) == reference(z, mpz(5), 8, 3, M)
    assert (tmp_path / "wisdom").stat().st_size > 0  # measuring saved the wisdom
    monkeypatch.setattr(verifier_fft, "MEASURE_AFTER_STEPS", 10**9)  # as a new process: nothing run, no wisdom
    monkeypatch.setattr(verifier_fft, "_wisdom_read", False)
    pyfftw.forget_wisdom()
    verifier_fft._plans.cache_clear()
    engine = ShapeFFT(K, e, c, L)
    assert "FFTW_MEASURE" in engine.forward.flags and "FFTW_MEASURE" in engine.inverse.flags  # read from the file
    assert engine.chain(z, mpz(5), 8, 3) == reference(z, mpz(5), 8, 3, M)
    monkeypatch.setattr(verifier_fft, "WISDOM_PATH", tmp_path / "none")  # no file: estimated plans, same answer
    monkeypatch.setattr(verifier_fft, "_wisdom_read", False)
    pyfftw.forget_wisdom()
    verifier_fft._plans.cache_clear()
    engine = ShapeFFT(K, e, c, L)
    assert "FFTW_ESTIMATE" in engine.forward.flags
    assert engine.chain(z, mpz(5), 8, 3) == reference(z, mpz(5), 8, 3, M)
