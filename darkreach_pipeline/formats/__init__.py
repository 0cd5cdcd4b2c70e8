"""Files of the srsieve / NewPGen / LLR / PFGW world, read strictly and written exactly.

One module per format family: `newpgen`, `abc` (ABC), `abcd` (ABCD), `abc2` (PFGW ABC2), `factors`
(`p | expression` lines), `llr_results` (LLR's lresults.txt), `pfgw_results` (pfgw.log, pfgw-prime.log and
PFGW's console output). Sieve files become a `SieveFile` (terms k*b^n+c and the depth the header claims);
every bad line is a `FormatError` naming the file, the line number and the reason. Nothing here knows about
campaigns or Dagster: `darkreach_pipeline/sieve_import.py` maps a file onto a campaign.
"""

from __future__ import annotations

from pathlib import Path

from darkreach_pipeline.formats import abc, abc2, abcd, llr_results, newpgen, pfgw_results
from darkreach_pipeline.formats.results import ExternalResult
from darkreach_pipeline.formats.terms import FormatError, SieveFile, Term

READERS = {"newpgen": newpgen.read, "abc": abc.read, "abcd": abcd.read, "abc2": abc2.read}
WRITERS = {"newpgen": newpgen.write, "abc": abc.write, "abcd": abcd.write, "abc2": abc2.write}
MAX_FILE_BYTES = 1 << 30  # a sieve file of a billion bytes is already far beyond any block range


def detect_format(first_line: str, source: str) -> str:
    """The sieve format of a file from its first line (LLR and PFGW decide the same way)."""
    word = first_line.split(maxsplit=1)[0] if first_line.strip() else ""
    if word in ("ABCD", "ABC2", "ABC"):
        return word.lower()
    if first_line.count(":") == 4:
        return "newpgen"
    raise FormatError(source, 1, f"first line {first_line[:60]!r} is no sieve file header: expected 'ABC <expr>', "
                      "'ABCD <expr> [<start>]', 'ABC2 <expr>' or a NewPGen header 'depth:letter:chain:base:mask'")


def read_text(path: str | Path) -> str:
    """A sieve or result file's text (ASCII/UTF-8); an unreadable or binary file is a FormatError."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise FormatError(str(path), 0, f"is larger than {MAX_FILE_BYTES} bytes: split it")
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(str(path), 0, f"cannot be read: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FormatError(str(path), line, "is not a text file (invalid byte); sieve and result files are ASCII"
                          ) from None


def read_sieve_file(path: str | Path, fmt: str | None = None) -> SieveFile:
    """Parse a sieve file, its format detected from the first line unless `fmt` names it."""
    text = read_text(path)
    return parse_sieve_text(text, str(path), fmt)


def parse_sieve_text(text: str, source: str, fmt: str | None = None) -> SieveFile:
    first = text.split("\n", 1)[0].rstrip("\r")
    detected = detect_format(first, source)
    if fmt is not None and fmt != detected:
        raise FormatError(source, 1, f"is a {detected} file, not {fmt}: drop --format or name the right one")
    return READERS[detected](text, source)


def detect_program(text: str, source: str) -> str:
    """'llr' or 'pfgw' for a result file, from its name (lresults*, pfgw*) or else its first result line."""
    name = Path(source).name.lower()
    if name.startswith("lresults"):
        return "llr"
    if name.startswith("pfgw"):
        return "pfgw"
    for line in text.splitlines():
        if " is not prime." in line or " is a probable prime" in line:
            return "llr"
        if " is composite" in line or "-PRP!" in line or " has factors:" in line:
            return "pfgw"
    raise FormatError(source, 0, "is neither LLR's lresults.txt nor a PFGW log (no 'is not prime.' or 'is "
                      "composite' line, and not named lresults* or pfgw*): say which with --program llr|pfgw")


def read_results_file(path: str | Path, program: str | None = None) -> list[ExternalResult]:
    """The results in LLR's lresults.txt or a PFGW log (pfgw.log, pfgw-prime.log, its console output)."""
    text = read_text(path)
    program = program or detect_program(text, str(path))
    if program == "llr":
        return llr_results.read(text, str(path))
    return pfgw_results.read(text, str(path))


__all__ = ["READERS", "WRITERS", "ExternalResult", "FormatError", "SieveFile", "Term", "detect_format",
           "detect_program", "parse_sieve_text", "read_results_file", "read_sieve_file", "read_text"]
