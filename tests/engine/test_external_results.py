"""Results of LLR and PFGW held against this product's own (darkreach_pipeline/verification/external.py): a
matching Fermat base-3 RES64 is an independent reproduction, every disagreement is broken by PARI/GP and the
wrong side named, and a PFGW 3-PRP of one of our probable primes makes it prp-double-checked."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import FORMAT_SAMPLES as SAMPLES

from darkreach_pipeline import blocks
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.formats import FormatError, read_results_file
from darkreach_pipeline.formats.llr_results import read as read_llr
from darkreach_pipeline.formats.pfgw_results import read as read_pfgw
from darkreach_pipeline.verification import external
from darkreach_pipeline.verification.verified_primes import PENDING, PRP_DOUBLE_CHECKED, verified_primes_frame

SPEC = parse_campaign({"name": "proth", "form": "kbn", "k": 3, "b": 2, "c": 1, "n_min": 1, "n_max": 120,
                       "block_size": 40, "sieve_depth": 1000})


@pytest.fixture(scope="module")
def ours() -> tuple[pd.DataFrame, pd.DataFrame]:
    sieved = [blocks.sieve_frame(SPEC, b, blocks.candidate_frame(SPEC, b)) for b in range(SPEC.block_count)]
    tested = [blocks.test_frame(SPEC, b, s, worker=("w-1", "host")) for b, s in enumerate(sieved)]
    return pd.concat(tested, ignore_index=True), pd.concat(sieved, ignore_index=True)


def check(results, ours, source="sample"):
    tested, sieved = ours
    return external.cross_check_frame(SPEC, results, tested, sieved, source, "ab" * 32)


def test_pfgw_residues_reproduce_ours(ours):
    frame = check(read_results_file(SAMPLES / "pfgw.out"), ours)
    assert len(frame) == 23 and set(frame["verdict"]) == {external.RESIDUE_MATCH}
    assert (frame["their_res64"] == frame["our_res64"]).all()
    # blocks 1 and 2 (n = 41..120) are reproduced whole; block 0's n = 1..6 are not in the file
    assert external.block_validations(frame, ours[0]) == {"proth/000001": True, "proth/000002": True}


def test_llr_results_agree_by_verdict(ours):
    frame = check(read_results_file(SAMPLES / "lresults.txt"), ours)
    assert set(frame["verdict"]) == {external.VERDICT_MATCH}  # LLR's Proth residue is not ours: verdicts only
    assert external.block_validations(frame, ours[0]) == {}  # a verdict is no independent residue check


def test_disagreements_are_broken_by_pari_and_named(ours):
    tested, sieved = ours
    wrong_theirs = read_pfgw("3*2^33+1 is composite: RES64: [0000000000000BAD]\n"
                             "3*2^3+1 is 3-PRP!\n"  # 25: the sieve's verified factor 5 contradicts it
                             "3*2^44+1 is 3-PRP!\n", "pfgw.out")
    frame = check(wrong_theirs, ours)
    assert frame["verdict"].tolist() == [external.THEIRS_WRONG] * 3
    assert "5 divides it" in frame["note"].iloc[1] and "PARI/GP" in frame["note"].iloc[0]
    bad = tested.copy()
    bad.loc[bad["n"] == 92, "res64"] = "0123456789abcdef"  # our own residue is wrong
    bad.loc[bad["n"] == 36, "result"] = "composite"  # and our verdict on a prime
    llr = read_llr("3*2^36+1 is prime! (12 decimal digits)\n", "lresults.txt")
    frame = check(read_results_file(SAMPLES / "pfgw.out") + llr, (bad, sieved))
    wrong = frame[frame["verdict"] == external.OURS_WRONG]
    assert sorted(wrong["n"]) == [36, 92] and len(frame[frame["verdict"] == external.RESIDUE_MATCH]) == 22
    assert external.block_validations(frame, bad) == {"proth/000000": False, "proth/000002": False,
                                                      "proth/000001": True}


def test_not_tested_here_and_out_of_campaign(ours):
    tested, sieved = ours
    first_block = tested[tested["block"] == 0]
    frame = check(read_results_file(SAMPLES / "pfgw.out"), (first_block, sieved))
    assert set(frame.loc[frame["n"] > 40, "verdict"]) == {external.NOT_TESTED_HERE}
    with pytest.raises(FormatError, match="pfgw.out line 2: 5\\*2\\^9\\+1 is not a candidate of campaign 'proth'"):
        check(read_pfgw("3*2^9+1 is 3-PRP!\n5*2^9+1 is 3-PRP!\n", "pfgw.out"), ours, "pfgw.out")


def test_a_pfgw_prp_makes_our_probable_prime_double_checked():
    certs = pd.DataFrame([
        {"campaign": "c", "n": 7, "expression": "x7", "digits": 9, "status": "prp", "method": "fermat-3",
         "certificate": "{}", "verified": True, "verification": "prp"},
        {"campaign": "c", "n": 8, "expression": "x8", "digits": 9, "status": "prp", "method": "fermat-3",
         "certificate": "{}", "verified": True, "verification": "prp"},
    ])
    rows = pd.DataFrame([
        {"campaign": "c", "n": 7, "expression": "x7", "verdict": external.RESIDUE_MATCH,
         "their_res64": external.PRP_RESIDUE,
         "program": "pfgw", "source": "pfgw.out", "source_sha256": "ab" * 32},
        {"campaign": "c", "n": 8, "expression": "x8", "verdict": external.VERDICT_MATCH,
         "their_res64": "",
         "program": "llr", "source": "lresults.txt", "source_sha256": "cd" * 32},
    ])
    frame = verified_primes_frame(certs, pd.DataFrame(), external=rows)
    assert frame["status"].tolist() == [PRP_DOUBLE_CHECKED, PENDING]
    assert "reproduced by pfgw (imported from pfgw.out" in frame["evidence"].iloc[0]
    assert verified_primes_frame(certs, pd.DataFrame())["status"].tolist() == [PENDING, PENDING]


def test_a_prime_claim_on_a_number_p_minus_1_factored_is_theirs_wrong(ours):
    from darkreach_pipeline.factoring.p_minus_1_bounds import Bounds
    from darkreach_pipeline.factoring.stage import P_MINUS_1_FACTOR, p_minus_1_frame

    tested, sieved = ours
    auto = parse_campaign({**SPEC.definition(), "p_minus_1": "auto"})
    factored = p_minus_1_frame(auto, sieved, 1000, bounds=lambda bits: Bounds(300, 20000, 0.0, 0.0, 0.0))
    n = int(factored.loc[factored["status"] == P_MINUS_1_FACTOR, "n"].iloc[0])
    claim = read_pfgw(f"3*2^{n}+1 is 3-PRP!\n", "pfgw.out")
    assert check(claim, (tested[tested["n"] != n], sieved))["verdict"].tolist() == [external.NOT_TESTED_HERE]
    frame = external.cross_check_frame(SPEC, claim, tested[tested["n"] != n], sieved, "pfgw.out", "ab" * 32,
                                       factored)
    assert frame["verdict"].tolist() == [external.THEIRS_WRONG] and "P-1's factor" in frame["note"].iloc[0]
