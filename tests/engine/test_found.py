"""How `darkreach run` counts and names what a campaign found: pairs for twins, each number once, '1 block'."""

from __future__ import annotations

import math

import pandas as pd
from oracles import pari

from darkreach_pipeline import blocks, campaign_status
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.cli import found_lines
from darkreach_pipeline.forms import form_for
from darkreach_pipeline.found import counted, repeats


def certificates(raw: dict) -> tuple:
    """The certificates of block 0 of a campaign, through the real block functions."""
    spec = parse_campaign(raw)
    candidates = blocks.candidate_frame(spec, 0)
    results = blocks.test_frame(spec, 0, blocks.sieve_frame(spec, 0, candidates))
    return spec, blocks.certificate_frame(spec, results)


def test_counted():
    assert [counted(n, "block") for n in (0, 1, 2)] == ["0 blocks", "1 block", "2 blocks"]


def test_factorial_two_is_one_prime_found_at_n_0_and_n_1():
    """A002981 lists n = 0 and n = 1 (0!+1 = 1!+1 = 2); the table keeps both n, the count has the prime 2 once."""
    spec, certs = certificates({"name": "fact", "form": "factorial", "c": 1, "n_min": 0, "n_max": 30,
                                "block_size": 31, "sieve_depth": 100})
    assert sorted(certs["n"]) == [n for n in range(31) if pari.isprime(math.factorial(n) + 1)]  # 0 1 2 3 11 27
    lines = found_lines(spec, certs.sort_values("n", ignore_index=True), 1.0)
    distinct = len({math.factorial(n) + 1 for n in certs["n"]})
    assert distinct == len(certs) - 1
    assert lines[0] == f"{distinct} primes in 'fact': {distinct} proven, 0 probable (1.0 s)"
    assert "the same number as 0!+1, counted once" in next(line for line in lines if "1!+1" in line)
    assert sum("counted once" in line for line in lines) == 1
    status = campaign_status.campaign_progress(spec, [], [], pd.DataFrame(), certs)  # darkreach status counts the same
    assert (status.proven, status.probable) == (distinct, 0)
    assert status.lines()[0] == f"fact: 0/1 blocks finished, {distinct} primes/PRPs"


def test_twin_finds_are_counted_as_pairs():
    spec, certs = certificates({"name": "tw", "form": "twin", "k": 165, "b": 2, "n_min": 1, "n_max": 40,
                                "block_size": 40, "sieve_depth": 1000})
    pairs = [n for n in range(1, 41) if pari.isprime(165 * 2**n - 1) and pari.isprime(165 * 2**n + 1)]
    assert sorted(certs["n"]) == pairs
    assert found_lines(spec, certs, 2.0)[0].startswith(f"{len(pairs)} pairs in 'tw': {len(pairs)} proven")
    lines = campaign_status.campaign_progress(spec, [], [], pd.DataFrame(), certs).lines()
    assert lines[0] == f"tw: 0/1 blocks finished, {len(pairs)} pairs"
    assert lines[2].endswith(f"; {len(pairs)} proven, 0 probable pairs")


def test_repeats_compares_numbers_not_expressions():
    form = form_for(parse_campaign({"name": "k", "form": "kbn", "k": 3, "b": 2, "c": 1, "n_min": 1, "n_max": 9,
                                    "block_size": 9}))
    frame = pd.DataFrame({"n": [1, 2, 2], "digits": [1, 2, 2], "expression": ["3*2^1+1", "3*2^2+1", "again"]})
    assert repeats(form, frame["n"].tolist(), frame["digits"].tolist(), frame["expression"].tolist()) == {2: "3*2^2+1"}
