"""The sieve and result file formats (darkreach_pipeline/formats/): round trips, the hand-written samples under
tests/samples/formats/ (survivors from PARI/GP's trial division), the formats' documented examples, and a
clear refusal, with the line and the reason, for every kind of bad line."""

from __future__ import annotations

from pathlib import Path

import gmpy2
import pytest
from conftest import FORMAT_SAMPLES as SAMPLES
from conftest import trial_division_survivors
from oracles import pari

from darkreach_pipeline.formats import (
    WRITERS,
    FormatError,
    Term,
    detect_program,
    parse_sieve_text,
    read_results_file,
    read_sieve_file,
)
from darkreach_pipeline.formats import factors as factor_files
from darkreach_pipeline.formats.results import COMPOSITE, PRIME, PROBABLE_PRIME

PROTH_SURVIVORS = trial_division_survivors(3, 2, 1, range(1, 121), 1000)


@pytest.mark.parametrize("name", ["proth_1000.abcd", "proth_1000.npg", "proth_1000.abc", "proth_1000.abc2"])
def test_samples_read_as_the_survivors(name):
    sieve = read_sieve_file(SAMPLES / name)
    assert [t.n for t in sieve.terms] == PROTH_SURVIVORS
    assert {(t.k, t.b, t.c) for t in sieve.terms} == {(3, 2, 1)}
    assert sieve.sieved_to == (None if name.endswith("abc2") else 1000)
    assert len(sieve.lines) == len(sieve.terms)


MIXED = [Term(3, 2, n, 1) for n in (7, 1, 100, 35)] + [Term(5, 2, n, 1) for n in (4, 2)] + [Term(3, 2, 9, -1)]
ONE_SHAPE = [Term(27, 10, n, -1) for n in (12, 5, 6000, 7)]


@pytest.mark.parametrize("fmt", sorted(WRITERS))
@pytest.mark.parametrize("terms", [MIXED, ONE_SHAPE], ids=["several-k-and-signs", "one-shape"])
def test_round_trip(fmt, terms):
    if fmt in ("newpgen", "abc2") and terms is MIXED:
        with pytest.raises(ValueError, match="one"):  # these formats hold one shape per file
            WRITERS[fmt](terms, 10**9)
        return
    text = WRITERS[fmt](terms, 10**9)
    back = parse_sieve_text(text, "round-trip")
    assert sorted(back.terms) == sorted(terms) and back.format == fmt
    assert back.sieved_to == 10**9


def test_written_dialects_are_the_tools_own():
    terms = [Term(3, 2, n, 1) for n in (10, 12, 20)]
    assert WRITERS["abcd"](terms, 1000) == "ABCD 3*2^$a+1 [10] // Sieved to 1000\n2\n8\n"
    assert WRITERS["newpgen"](terms, 1000) == "1000:P:1:2:1\n3 10\n3 12\n3 20\n"
    assert WRITERS["abc"](terms, 1000) == "ABC 3*2^$a+1 // Sieved to 1000\n10\n12\n20\n"
    assert WRITERS["abc2"](terms, 1000) == "ABC2 3*2^$a+1 // Sieved to 1000\na: in { 10 12 20 }\n"
    assert WRITERS["newpgen"]([Term(3, 2, 5, -1)], 7) == "7:M:1:2:2\n3 5\n"


def test_documented_examples():
    # PFGW abcfileformats.txt: the bracket is the first candidate, each line adds its differences
    abcd = parse_sieve_text("ABCD $a*$b^$c+1 [1 2 5000]\n1078 0 -433\n\nABCD 5*2^$a-1 [3]\n4\n", "doc")
    assert abcd.terms == [Term(1, 2, 5000, 1), Term(1079, 2, 4567, 1), Term(5, 2, 3, -1), Term(5, 2, 7, -1)]
    abc = parse_sieve_text("ABC $a*$b^$c$d\n3 2 10 +1\n5 6 7 -1\nABC $a*10^20+1 // Sieved to 77\n9\n", "doc")
    assert abc.terms == [Term(3, 2, 10, 1), Term(5, 6, 7, -1), Term(9, 10, 20, 1)]
    assert abc.sieved_to is None  # the first header states no depth: the file's depth is unknown
    numbered = parse_sieve_text("ABC $a*2^$b+1 // {number_primes,$a,1} Sieved to 1000\n3 5\n", "srsieve -fP")
    assert (numbered.terms, numbered.sieved_to) == ([Term(3, 2, 5, 1)], 1000)
    abc2 = parse_sieve_text("ABC2 $a*2^$b+1\na: from 1 to 5 step 2\nb: primes from 10 to 20\n", "doc")
    assert abc2.terms == [Term(a, 2, b, 1) for a in (1, 3, 5) for b in (11, 13, 17, 19)]
    down = parse_sieve_text("ABC2 7*2^$a-1\na: from 20 downto 10 step 5\n", "doc")
    assert [t.n for t in down.terms] == [20, 15, 10]
    fbnc = parse_sieve_text("1000:M:0:2:2\n3 500\n7 500\n", "fbncsieve")  # fbncsieve's chain field 0
    assert fbnc.terms == [Term(3, 2, 500, -1), Term(7, 2, 500, -1)]


def test_factor_file_sample_and_round_trip():
    parsed = factor_files.read((SAMPLES / "proth_factors.txt").read_text(), "proth_factors.txt")
    assert parsed.pmin == 2
    removed = sorted(set(range(1, 121)) - set(PROTH_SURVIVORS))
    assert sorted(t.n for _, t in parsed.factors) == removed
    for p, t in parsed.factors:  # each claim holds (PARI's primality, gmpy2's remainder)
        assert pari.isprime(p) and gmpy2.mpz(3 * 2**t.n + 1) % p == 0 and p <= 1000
    again = factor_files.read(factor_files.write(parsed.factors), "again")
    assert again.factors == parsed.factors


BAD_SIEVE_FILES = [
    # (text, line, words in the reason)
    ("", 1, "no sieve file header"),
    ("hello\n", 1, "no sieve file header"),
    ("1000:P:1:2\n3 5\n", 1, "no sieve file header"),
    ("1000:P:1:2:1:9\n", 1, "no sieve file header"),
    ("1000:X:1:2:1\n3 5\n", 1, "contradicts mask"),
    ("1000:T:1:2:3\n3 5\n", 1, "mask 3 is not read"),
    ("1000:P:2:2:1\n3 5\n", 1, "chain length 2"),
    ("1e9:P:1:2:1\n3 5\n", 1, "sieved_to"),
    ("1000:P:1:1:1\n3 5\n", 1, "base"),
    ("1000:P:1:2:1\n3 5\n3\n", 3, "'k n'"),
    ("1000:P:1:2:1\n3 5\n3 five\n", 3, "not a whole number"),
    ("1000:P:1:2:1\n0 5\n", 2, "k must be >= 1"),
    ("1000:P:1:2:1\n" + "3" * 5000 + " 5\n", 2, "k has 5000 digits"),
    ("1000:P:1:2:1\n3 -5\n", 2, "n must be >= 0"),
    ("ABCD 3*2^$a+1 [5]\n4\nx\n", 3, "not a whole number"),
    ("ABCD 3*2^$a+1\n4\n", 1, "not 'ABCD <expression> [<start values>]'"),
    ("ABCD 3*2^$a+1 [5 6]\n4\n", 1, "holds 2 start values"),
    ("ABCD 3*2^$a+1 [5]\n4 4\n", 2, "has 2 differences"),
    ("ABCD 3*2^$a+1 [5]\n-9\n", 2, "n must be between"),
    ("ABCD 3*2^$a+1 [5]\n9223372036854775807\n", 2, "+-2^63"),
    ("ABCD (3*2^$a+1)/3 [5]\n", 1, "not of the form k*b^n+c"),
    ("ABCD 3*2^$a+1 & 3*2^$a-1 [5]\n", 1, "'&' or '|'"),
    ("ABCD 3*2^$b+1 [5]\n", 1, "must be $a"),
    ("ABCD 3*2^$a+0 [5]\n", 1, "c must not be 0"),
    ("ABC 3*2^$a+1\n5\n6 7\n", 3, "has 2 values"),
    ("ABC 3*2^$a+1\n5\n\n0x10\n", 4, "not a whole number"),
    ("ABC 3*2^1000+1\n5\n", 1, "has no variable"),
    ("ABC $a*$b^$c$d\n3 2 10 1\n3 1 10 +1\n", 3, "b must be >= 2"),
    ("ABC 3*2^$a+1 // Sieved to lots\n5\n", 1, "'Sieved to' depth"),
    ("ABC2 3*2^$a+1\n", 0, "no values for a"),
    ("ABC2 3*2^$a+1\na: from 1 to x\n", 2, "not a whole number"),
    ("ABC2 3*2^$a+1\na: sometimes\n", 2, "is not 'from X to Y"),
    ("ABC2 3*2^$a+1\nb: from 1 to 2\n", 2, "for one of a"),
    ("ABC2 3*2^$a+1\na: from 1 to 2\na: in { 4 }\n", 3, "described twice"),
    ("ABC2 3*2^$a+1\na: in { }\n", 2, "empty"),
    ("ABC2 3*2^$a+1\na: primes from 1 to 9 step 2\n", 2, "takes no step"),
    ("ABC2 3*2^$a+1\na: from 1 to 100000000\n", 2, "more than"),
]


@pytest.mark.parametrize(("text", "line", "reason"), BAD_SIEVE_FILES)
def test_bad_sieve_lines_are_refused_with_line_and_reason(text, line, reason):
    with pytest.raises(FormatError) as info:
        parse_sieve_text(text, "bad.txt")
    assert info.value.line == line, str(info.value)
    assert reason in info.value.reason, str(info.value)
    assert str(info.value).startswith("bad.txt line" if line else "bad.txt:")


def test_format_option_must_match_the_file():
    with pytest.raises(FormatError, match="is a abcd file, not newpgen"):
        read_sieve_file(SAMPLES / "proth_1000.abcd", "newpgen")


def test_binary_file_is_refused(tmp_path):
    path = tmp_path / "sieve.abcd"
    path.write_bytes(b"ABCD 3*2^$a+1 [5]\n\xff\xfe\n")
    with pytest.raises(FormatError, match="line 2: is not a text file"):
        read_sieve_file(path)


BAD_FACTOR_LINES = [
    ("5 3*2^3+1\n", 1, "is not '<p> | <k*b^n+c>'"),
    ("five | 3*2^3+1\n", 1, "not a whole number"),
    ("1 | 3*2^3+1\n", 1, "factor must be >= 2"),
    ("5 | 3*2^3+1\n5 | 3*x^3+1\n", 2, "is not a number k*b^n+c"),
    ("pmin=abc\n", 1, "pmin"),
    ("5 | " + "7" * 5000 + "*2^3+1\n", 1, "k has 5000 digits"),
]


@pytest.mark.parametrize(("text", "line", "reason"), BAD_FACTOR_LINES)
def test_bad_factor_lines(text, line, reason):
    with pytest.raises(FormatError) as info:
        factor_files.read(text, "factors.txt")
    assert (info.value.line, reason in info.value.reason) == (line, True), str(info.value)


# ----- results of other programs -------------------------------------------------------------------------------


def test_llr_sample(tmp_path):
    results = read_results_file(SAMPLES / "lresults.txt")
    assert {r.program for r in results} == {"llr"}
    primes = {r.term.n for r in results if r.result == PRIME}
    assert primes == {n for n in PROTH_SURVIVORS if n >= 8 and pari.isprime(3 * 2**n + 1)}
    composite = [r for r in results if r.result == COMPOSITE]
    assert composite and all(r.residue_type == "llr-proth" and len(r.res64) == 16 for r in composite)
    more = read_results_file(SAMPLES / "lresults.txt", "llr")
    assert more == results
    lines = ("5*6^100+1 is not prime.  RES64: 00FF00FF00FF00FF  Time : 4.1 ms.\n"
             "3*2^101-1 is not prime.  LLR Res64: 1A2B3C4D5E6F7081  Time : 1.2 ms.\n"
             "7*6^100+1 is a probable prime.  Time : 3 ms.\n"
             "9*2^5+1 is base 3-Strong Fermat PRP! (11 decimal digits)\n")
    other = read_results_file(_write(tmp_path, lines, "lresults-more.txt"))
    assert [(r.result, r.residue_type) for r in other] == [(COMPOSITE, "llr-prp"), (COMPOSITE, "llr-lucas"),
                                                          (PROBABLE_PRIME, ""), (PROBABLE_PRIME, "")]


def _write(folder: Path, text: str, name: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_pfgw_samples(tmp_path):
    out = read_results_file(SAMPLES / "pfgw.out")
    for r in out:  # the residues are Fermat base 3, as PARI computes them
        N = 3 * 2**r.term.n + 1
        assert r.residue_type == "fermat-3"
        assert int(r.res64, 16) == int(pari.lift(pari.Mod(3, N) ** (N - 1))) & (2**64 - 1)
        assert r.result == (PROBABLE_PRIME if r.res64 == "0000000000000001" else COMPOSITE)
    log = read_results_file(SAMPLES / "pfgw.log")
    proven = read_results_file(SAMPLES / "pfgw-prime.log")
    assert {r.result for r in log} == {PROBABLE_PRIME} and {r.result for r in proven} == {PRIME}
    assert [r.term for r in log] == [r.term for r in out if r.result == PROBABLE_PRIME]
    factored = read_results_file(_write(tmp_path, "3*2^3+1 has factors: 5\n3*2^8+1 is prime! (0.1s)\n", "pfgw-f.out"))
    assert [(r.result, r.residue_type) for r in factored] == [(COMPOSITE, ""), (PRIME, "")]


BAD_RESULT_LINES = [
    ("lresults.txt", "3*2^9+1 is not prime.  Time : 1 ms.\n", 1, "without its RES64"),
    ("lresults.txt", "LLR 3.8.21 starting\n", 1, "is not an LLR result line"),
    ("lresults.txt", "3*2^x+1 is prime!\n", 1, "is not a number k*b^n+c"),
    ("pfgw.out", "3*2^9+1 is composite: (0.1s)\n", 1, "without 'RES64"),
    ("pfgw.out", "3*2^9+1 is composite: RES64: [D52471BF5F4DADE0]\nPFGW Version 4.0\n", 2, "not a PFGW result line"),
    ("pfgw.log", "3*2^9+1\n3*2^9*1\n", 2, "is not a number k*b^n+c"),
    ("results.txt", "3*2^9+1\n", 0, "say which with --program"),
]


@pytest.mark.parametrize(("name", "text", "line", "reason"), BAD_RESULT_LINES)
def test_bad_result_lines(tmp_path, name, text, line, reason):
    with pytest.raises(FormatError) as info:
        read_results_file(_write(tmp_path, text, name))
    assert (info.value.line, reason in info.value.reason) == (line, True), str(info.value)


def test_program_is_detected_from_lines():
    assert detect_program("3*2^9+1 is composite: RES64: [D52471BF5F4DADE0]\n", "out.txt") == "pfgw"
    assert detect_program("3*2^9+1 is not prime.  RES64: D52471BF5F4DADE0\n", "out.txt") == "llr"
