"""Pietrzak proofs: honest proofs verify for every covered form, every tampering and forgery is rejected,
and a chain resumed from its checkpoint (or rolled back by Gerbicz) still proves its residue."""

from __future__ import annotations

import hashlib
import struct

import gmpy2
import pytest
from gmpy2 import mpz
from oracles import pari

from darkreach_pipeline import blocks
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.forms import (
    CarolForm,
    CullenForm,
    FactorialForm,
    GfnForm,
    KbnForm,
    RepunitForm,
    WagstaffForm,
    form_for,
)
from darkreach_pipeline.primality.gerbicz import ChainState, Fault, GerbiczChain, Reducer
from darkreach_pipeline.primality.options import TestOptions
from darkreach_pipeline.primality.outcome import res64
from darkreach_pipeline.proofs.pietrzak import (
    HEADER,
    PROVE_BUDGET,
    ProofRecorder,
    choose_power,
    prove,
    proving_steps,
    verifying_steps,
)
from darkreach_pipeline.proofs.pietrzak_verify import _Modulus, verify_prp_proof
from darkreach_pipeline.verification.proof_check import review_proofs, split_proofs


@pytest.fixture(autouse=True, params=["never", "always"], ids=["verifier-gmp", "verifier-fft"])
def verifier_arithmetic(request, monkeypatch):
    """Every test runs with the verifier's long chain on GMP and on its own FFT (forced on these small numbers:
    every accept and every rejection must hold on both)."""
    monkeypatch.setenv("DARKREACH_VERIFIER_FFT", request.param)
    return request.param


def proven(form, value, power=3, **chain_run):
    """(N, the test's outcome, its proof) with p = power."""
    recorder = ProofRecorder(power=power)
    outcome = form.test(value, TestOptions(chain_run={"proof": recorder, **chain_run}))
    assert recorder.proof is not None, recorder.reason
    return form.number(value), outcome, recorder.proof


def fermat_res64_two_ways(N: mpz) -> str:
    """RES64 of 3^(N-1) mod N from gmpy2 and from PARI, which must agree."""
    by_gmpy2 = res64(gmpy2.powmod(3, N - 1, N))
    by_pari = res64(int(pari.lift(pari.Mod(3, int(N)) ** int(N - 1))))
    assert by_gmpy2 == by_pari
    return by_gmpy2


CASES = [  # composites and PRPs of several forms and sizes, both signs; chains x -> x^2, x -> x^b, Gerbicz-Li
    (KbnForm(3, 2, 1), 2000, "composite"),
    (KbnForm(3, 2, 1), 3912, "prime"),  # 3*2^3912+1 (Proth)
    (KbnForm(3, 2, -1), 2003, "composite"),
    (KbnForm(3, 2, -1), 1274, "prime"),  # 3*2^1274-1 (LLR)
    (KbnForm(5, 6, 1), 700, "composite"),  # x -> x^6
    (KbnForm(1, 6, -1), 613, "composite"),
    (KbnForm(2, 3, 1), 822, "probable-prime"),  # 2*3^822+1: x -> x^3, odd step
    (CullenForm(), 1000, "composite"),
    (GfnForm(m=8), 12, "composite"),  # binary digits of b^(2^m)
    (WagstaffForm(), 1283, "composite"),  # chain modulo 2^p+1, proof about (2^p+1)/3
    (WagstaffForm(), 1709, "probable-prime"),
    (FactorialForm(c=1), 427, "prime"),  # 427!+1
    (FactorialForm(c=-1), 500, "composite"),
    (RepunitForm(b=10), 317, "probable-prime"),
    (CarolForm(), 1000, "composite"),
]


FFT_FORMS = {"kbn", "cullen", "wagstaff", "gfn"}  # the forms whose N (or 3N) the verifier's FFT takes, base 2 here


@pytest.mark.parametrize("form,value,result", CASES, ids=lambda v: getattr(v, "name", str(v)))
def test_honest_proofs_verify_and_give_the_reported_residue(form, value, result, verifier_arithmetic):
    N, outcome, proof = proven(form, value)
    assert outcome.result == result
    verdict = verify_prp_proof(N, proof, base=3, res64=outcome.res64)
    assert verdict.accepted, verdict.reason
    assert verdict.res64 == outcome.res64 == fermat_res64_two_ways(N)
    engine = _Modulus(N).engine() if verdict.step == 2 else None  # K*2^e+-1 (N or 3N) and b^(2^m)+1
    assert verdict.arithmetic == (f"fft/{engine.L}" if engine else "gmp")
    assert (engine is not None) == (verifier_arithmetic == "always" and form.name in FFT_FORMS and verdict.step == 2)
    assert len(proof) == HEADER.size + (verdict.power + 1) * ((N.bit_length() + 7) // 8)


@pytest.mark.parametrize("arith", ["gmp", "fft"])
def test_both_arithmetics_prove_the_same_residue(arith, monkeypatch):
    monkeypatch.setenv("DARKREACH_ARITH", arith)
    for form, value in [(KbnForm(3, 2, 1), 2000), (KbnForm(3, 2, -1), 2003), (WagstaffForm(), 1283)]:
        N, outcome, proof = proven(form, value, power=4)
        assert outcome.arithmetic.startswith("fft" if arith == "fft" else "gmp")
        assert verify_prp_proof(N, proof, base=3, res64=outcome.res64).accepted


@pytest.fixture(scope="module")
def honest():
    N, outcome, proof = proven(KbnForm(3, 2, 1), 2000, power=4)
    return N, outcome.res64, proof


def _flip(proof: bytes, byte: int, bit: int = 0) -> bytes:
    out = bytearray(proof)
    out[byte] ^= 1 << bit
    return bytes(out)


def _with_header(proof: bytes, **fields) -> bytes:
    names = ["magic", "version", "kind", "p", "reserved", "g", "s", "T", "digest", "n"]
    values = dict(zip(names, HEADER.unpack_from(proof), strict=True))
    values.update(fields)
    return HEADER.pack(*(values[name] for name in names)) + proof[HEADER.size:]


def test_every_bit_flipped_in_y_or_a_middle_value_is_rejected(honest):
    N, residue, proof = honest
    n = (N.bit_length() + 7) // 8
    p = HEADER.unpack_from(proof)[3]
    for value in range(p + 1):  # y, then mu_1 .. mu_p
        start = HEADER.size + value * n
        for byte, bit in [(start + n - 1, 0), (start + n // 2, 5), (start + 1, 7)]:
            verdict = verify_prp_proof(N, _flip(proof, byte, bit), base=3, res64=residue)
            assert not verdict.accepted, (value, byte, bit)
            assert verdict.reason


def test_wrong_header_fields_are_rejected_with_a_reason(honest):
    N, residue, proof = honest
    T = HEADER.unpack_from(proof)[7]
    cases = {
        "magic": _with_header(proof, magic=b"XXXX"),
        "version": _with_header(proof, version=2),
        "kind": _with_header(proof, kind=3),
        "unknown kind": _with_header(proof, kind=9),
        "p": _with_header(proof, p=3),
        "p too large": _with_header(proof, p=200),
        "reserved": _with_header(proof, reserved=1),
        "g": _with_header(proof, g=5),
        "s": _with_header(proof, s=4),
        "T": _with_header(proof, T=T - 16),
        "T huge": _with_header(proof, T=2**63),
        "T short": _with_header(proof, T=32),
        "digest": _with_header(proof, digest=b"\0" * 32),
        "n": _with_header(proof, n=5),
    }
    for name, tampered in cases.items():
        verdict = verify_prp_proof(N, tampered, base=3, res64=residue)
        assert not verdict.accepted, name
        assert verdict.reason, name


def test_wrong_number_base_or_residue_and_other_candidates_are_rejected(honest):
    N, residue, proof = honest
    assert "another" in verify_prp_proof(N + 2, proof).reason  # wrong N (same length)
    assert "another" in verify_prp_proof(N * 2**64 + 1, proof).reason
    assert "base" in verify_prp_proof(N, proof, base=5).reason
    wrong = format(int(residue, 16) ^ 1, "016x")
    assert "RES64" in verify_prp_proof(N, proof, base=3, res64=wrong).reason
    other_N, other_outcome, other = proven(KbnForm(3, 2, 1), 2001, power=4)  # a proof for another candidate
    assert not verify_prp_proof(N, other, base=3).accepted
    assert not verify_prp_proof(other_N, proof, base=3, res64=other_outcome.res64).accepted


def test_truncated_oversized_and_malformed_files_are_rejected_never_a_crash(honest):
    N, residue, proof = honest
    for cut in [0, 3, 10, HEADER.size - 1, HEADER.size, HEADER.size + 5, len(proof) - 1]:
        verdict = verify_prp_proof(N, proof[:cut], base=3)
        assert not verdict.accepted and ("truncated" in verdict.reason or "magic" in verdict.reason), cut
    assert "oversized" in verify_prp_proof(N, proof + b"\0", base=3).reason
    assert "limit" in verify_prp_proof(N, b"DRPP" + b"\0" * (65 << 20), base=3).reason
    for junk in [b"", b"\0" * 200, bytes(range(256)) * 4, "not bytes", None, 12]:
        assert not verify_prp_proof(N, junk, base=3).accepted  # type: ignore[arg-type]
    assert not verify_prp_proof(4, proof).accepted and not verify_prp_proof(-7, proof).accepted


def test_trivial_and_unreduced_values_are_rejected(honest):
    N, residue, proof = honest
    n = (N.bit_length() + 7) // 8

    def with_value(index: int, value: int) -> bytes:
        start = HEADER.size + index * n
        return proof[:start] + int(value).to_bytes(n, "big") + proof[start + n:]

    for value in (0, 1, N - 1):
        assert "trivial" in verify_prp_proof(N, with_value(1, value)).reason
    assert "reduced" in verify_prp_proof(N, with_value(2, N + 5)).reason
    assert "unit" in verify_prp_proof(N, with_value(0, 0)).reason


# --- soundness: a wrong residue cannot come with a proof that verifies --------------------------------------


def _parts(N: mpz, proof: bytes) -> tuple[bytes, list[mpz]]:
    n = (N.bit_length() + 7) // 8
    p = HEADER.unpack_from(proof)[3]
    return proof[:HEADER.size], [mpz(int.from_bytes(proof[HEADER.size + i * n:HEADER.size + (i + 1) * n], "big"))
                                 for i in range(p + 1)]


def _pack(N: mpz, header: bytes, values: list[mpz]) -> bytes:
    n = (N.bit_length() + 7) // 8
    return header + b"".join(int(v % N).to_bytes(n, "big") for v in values)


def test_honest_proof_with_another_y_is_rejected(honest):
    N, _, proof = honest
    header, values = _parts(N, proof)
    for change in (lambda y: y * 2, lambda y: y + 1, lambda y: gmpy2.powmod(y, 3, N), lambda y: N - y * 2):
        assert not verify_prp_proof(N, _pack(N, header, [change(values[0]), *values[1:]])).accepted


class SignForger(ProofRecorder):
    """A worker that completed the test and proves -y (the residue before the last step, negated): its middle
    values are the honest tree products for the challenges of the negated claim, which holds in Z_N*/{+-1}."""

    def finish(self, modulus, base, step, exponent, steps, captured, y, power=None):
        residues = [captured[k] % modulus for k in self._wanted(steps)]
        residues[-1] = modulus - residues[-1]
        self.proof = prove(mpz(modulus), base, step, mpz(exponent), self.T, self.p, residues)


def test_sign_forgery_cannot_change_the_residue():
    """-1 is the low-order element everyone knows. The check up to sign accepts the negated claim, but the last
    step, which the verifier does itself, squares the sign away: the residue is the true one."""
    form, n = KbnForm(3, 2, 1), 2000
    forger = SignForger(power=4)
    outcome = form.test(n, TestOptions(chain_run={"proof": forger}))
    verdict = verify_prp_proof(form.number(n), forger.proof, base=3)
    assert verdict.res64 == outcome.res64 == fermat_res64_two_ways(form.number(n))


def test_sign_forgery_cannot_hide_a_prp_behind_minus_one_for_odd_steps():
    form, n = KbnForm(2, 3, 1), 822  # a PRP; chain x -> x^3: the sign survives the last step
    forger = SignForger(power=3)
    assert form.test(n, TestOptions(chain_run={"proof": forger})).res64 == res64(1)
    verdict = verify_prp_proof(form.number(n), forger.proof, base=3)
    assert not verdict.accepted and "-1" in verdict.reason


def test_a_faulty_unchecked_chain_cannot_prove_its_residue():
    form, n = KbnForm(3, 2, 1), 2000
    N = form.number(n)
    for fault in (Fault(0, 3), Fault(700, 11), Fault(1990, 1)):  # the start value x, the middle, near the end
        recorder = ProofRecorder(power=4)
        outcome = form.test(n, TestOptions(check=False, faults=[fault], chain_run={"proof": recorder}))
        assert outcome.res64 != fermat_res64_two_ways(N)
        assert recorder.proof is not None  # the prover ran on the wrong chain ...
        verdict = verify_prp_proof(N, recorder.proof, base=3)
        assert not verdict.accepted, fault  # ... and the verifier refuses its residue


def test_prover_fed_wrong_residues_cannot_forge():
    """A worker that computed a wrong residue (or none) and builds 'middle values' to match it."""
    K, e = 3, 2000
    N = (mpz(K) << e) + 1
    A = (N - 1) // 2
    T = e - 2 - (e - 2) % 8
    head = A // 2 // 2**T
    x = gmpy2.powmod(3, head, N)
    true = [gmpy2.powmod(x, mpz(2) ** (j * T // 8), N) for j in range(1, 9)]
    wrong_end = true[:-1] + [true[-1] * 5 % N]
    assert not verify_prp_proof(N, prove(N, 3, 2, A, T, 3, wrong_end)).accepted
    random_chain = [gmpy2.powmod(7, j + 1, N) for j in range(8)]
    assert not verify_prp_proof(N, prove(N, 3, 2, A, T, 3, random_chain)).accepted


def test_a_middle_value_chosen_to_satisfy_the_last_level_fails(honest):
    """Solve the last level for mu_p with the challenge of the honest proof: changing mu_p changes its own
    challenge (Fiat-Shamir), so the equation no longer holds."""
    N, _, proof = honest
    header, values = _parts(N, proof)
    _, _, kind, p, _, g, s, T, _, n = HEADER.unpack_from(proof)
    wrong_y = values[0] * 2 % N
    A = (N - 1) // 2 // s
    x = gmpy2.powmod(g, A // mpz(s) ** T, N)
    h = hashlib.sha256(b"darkreach-pietrzak-v1" + int(N).to_bytes(n, "big") + struct.pack(">IIQB", g, s, T, kind)
                       + int(x).to_bytes(n, "big") + int(wrong_y).to_bytes(n, "big")).digest()
    y = wrong_y
    for mu in values[1:-1]:
        h = hashlib.sha256(h + int(mu).to_bytes(n, "big")).digest()
        r = int.from_bytes(h[:8], "big")
        x, y = gmpy2.powmod(x, r, N) * mu % N, gmpy2.powmod(mu, r, N) * y % N
    # last level with the old challenge r: mu^(2^(T/2^p)) ... choose mu = y * x^(-r*2^seg) is not solvable in
    # general; the attacker instead forces mu so that x' = 1: mu = x^-r, then y' = mu^r * y must be 1.
    h_last = hashlib.sha256(h + int(values[-1]).to_bytes(n, "big")).digest()
    r = int.from_bytes(h_last[:8], "big")
    mu = gmpy2.invert(gmpy2.powmod(x, r, N), N)
    forged = _pack(N, header, [wrong_y, *values[1:-1], mu])
    assert not verify_prp_proof(N, forged).accepted


# --- resume, rollback, parameters ----------------------------------------------------------------------------


class Killed(Exception):
    pass


@pytest.mark.parametrize("form,value", [(KbnForm(3, 2, 1), 3000), (KbnForm(5, 6, -1), 900),
                                        (FactorialForm(c=-1), 500)])
def test_a_chain_resumed_from_its_checkpoint_still_proves(form, value):
    saved: list[tuple[dict, dict]] = []

    def on_verified(state: ChainState) -> None:
        saved.append((state.to_json(), state.captured))  # what the checkpoint stores (MAC-protected, + residues)
        if state.captured and len(saved) >= 2:
            raise Killed  # kill -9 right after a checkpoint that carries kept residues

    checks = iter(range(10**6))
    with pytest.raises(Killed):
        form.test(value, TestOptions(chain_run={"proof": ProofRecorder(power=4), "on_verified": on_verified,
                                                "want_check": lambda: next(checks) % 3 == 0}))
    state = ChainState.from_json(*saved[-1])
    assert state.captured, "the checkpoint carries the residues kept so far"
    N, outcome, proof = proven(form, value, power=4, resume=state)
    verdict = verify_prp_proof(N, proof, base=3, res64=outcome.res64)
    assert verdict.accepted and verdict.res64 == fermat_res64_two_ways(N)
    without = ChainState.from_json(saved[-1][0])  # a checkpoint made without a recorder
    recorder = ProofRecorder(power=4)
    assert form.test(value, TestOptions(chain_run={"proof": recorder, "resume": without})).res64 == outcome.res64
    assert recorder.proof is None and "missing" in recorder.reason


def test_a_rolled_back_chain_keeps_only_verified_residues():
    K, e = 3, 3000
    N = (mpz(K) << e) + 1
    for iteration in (100, 1500, 2990):  # transient faults, repaired by Gerbicz rollbacks
        recorder = ProofRecorder(power=4)
        chain = GerbiczChain(Reducer(N, K, e, 1), 3, K, e - 1, faults=[Fault(iteration, 9)])
        y = chain.run(proof=recorder)
        assert chain.report.rollbacks >= 1
        verdict = verify_prp_proof(N, recorder.proof, base=3)
        assert verdict.accepted and verdict.res64 == res64(y * y % N)


def test_choose_power_keeps_proving_within_budget_and_verification_as_cheap_as_that_allows():
    assert [choose_power(t) for t in (1_000, 50_000, 100_000, 200_000, 1_300_000, 5_000_000)] == [1, 3, 4, 5, 7, 9]
    for steps in (10_000, 77_777, 400_000, 3_000_000, 100_000_000):
        p = choose_power(steps)
        assert p == 1 or proving_steps(p) <= PROVE_BUDGET * steps
        # one more level would break the proving budget or make verification dearer (the 2p powers dominate)
        assert (proving_steps(p + 1) > PROVE_BUDGET * steps
                or verifying_steps(steps, p + 1) >= verifying_steps(steps, p))


def test_no_proof_below_2_to_the_64_or_when_3_divides_n():
    recorder = ProofRecorder()
    KbnForm(3, 2, 1).test(30, TestOptions(chain_run={"proof": recorder}))
    assert recorder.proof is None and "2^64" in recorder.reason
    recorder = ProofRecorder(power=2)
    KbnForm(7, 10, -1).test(500, TestOptions(chain_run={"proof": recorder}))  # 3 | 7*10^500-1
    assert recorder.proof is None and "factor" in recorder.reason


def test_a_block_review_accepts_proofs_and_small_numbers_and_names_the_rest():
    """review_proofs (the sensor's and the blocking check's rule) on a block's test rows."""
    spec = parse_campaign(dict(name="review", form="kbn", k=3, b=2, c=1, n_min=40, n_max=140, block_size=101,
                               sieve_depth=1000))
    frame = blocks.test_frame(spec, 0, blocks.sieve_frame(spec, 0, blocks.candidate_frame(spec, 0)))
    results, proofs = split_proofs(frame, "n")
    form = form_for(spec)
    small = results["n"] < 62  # below 2^64: no chain, the residue is recomputed
    assert small.any() and (~small).any() and (proofs.loc[~small, "proof"] != "").all()
    review = review_proofs(form, "n", results, proofs)
    assert review.complete and len(review.accepted) == len(results)

    wrong = results.copy()
    for index in (wrong.index[small][0], wrong.index[~small][0]):
        wrong.loc[index, "res64"] = format(int(wrong.loc[index, "res64"], 16) ^ 4, "016x")
    assert len(review_proofs(form, "n", wrong, proofs).rejected) == 2

    mangled = proofs.copy()
    mangled.loc[mangled.index[~small][0], "proof"] = "not base64!"
    mangled.loc[mangled.index[~small][1], "proof"] = ""
    mangled.loc[mangled.index[~small][1], "proof_note"] = "resumed without kept residues"
    review = review_proofs(form, "n", results, mangled.drop(index=mangled.index[~small][2]))
    assert not review.complete
    assert len(review.rejected) == 1 and "base64" in review.rejected[0]
    assert sorted(r.split(": ", 1)[1] for r in review.unproven) == ["no row in prp_proofs",
                                                                     "resumed without kept residues"]
