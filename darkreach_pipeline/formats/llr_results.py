"""LLR's lresults.txt: one line per test, e.g. (LLR Readme; LLR 3.5-3.8 output)

    3*2^1000+1 is not prime.  Proth RES64: 2D63BE6B7E03BD4D  Time : 2.041 ms.
    3*2^1001-1 is not prime.  LLR Res64: 1A2B3C4D5E6F7081  Time : 1.2 ms.
    5*6^1000+1 is not prime.  RES64: 00FF00FF00FF00FF  Time : 4.1 ms.
    3*2^1003+1 is prime! (303 decimal digits)  Time : 2.2 ms.
    7*6^1000+1 is a probable prime.  Time : ...     (also: 'is base 3-Fermat PRP!', 'is Fermat PRP!')

The Proth and LLR residues are of LLR's own chains (a^((N-1)/2) for a base LLR picks, the Lucas sequence), and
a plain 'RES64' is LLR's PRP residue: none is the same residue as this product's Fermat base 3, so LLR results
are compared by verdict only. Lines LLR writes that are not results (its banner, 'Resuming', timing lines
without a candidate) are refused by name: this reader expects a results file, nothing else."""

from __future__ import annotations

import re

from darkreach_pipeline.formats.results import COMPOSITE, PRIME, PROBABLE_PRIME, ExternalResult
from darkreach_pipeline.formats.terms import FormatError, content_lines, parse_term

HEX = r"([0-9A-Fa-f]{16})"
VERDICT = r"not prime\.|prime!|a probable prime\.?|(?:base \d+-)?(?:Strong )?Fermat PRP!|\d+-PRP!"
LINE = re.compile(rf"(\S+) is ({VERDICT})(.*)")
RESIDUE = re.compile(rf"\b(Proth RES64|LLR Res64|LLR RES64|RES64)\s*:\s*{HEX}\b", re.IGNORECASE)
TYPES = {"proth res64": "llr-proth", "llr res64": "llr-lucas", "res64": "llr-prp"}


def read(text: str, source: str) -> list[ExternalResult]:
    out = []
    for number, stripped in content_lines(text):
        match = LINE.match(stripped)
        if match is None:
            raise FormatError(source, number, f"{stripped[:80]!r} is not an LLR result line "
                              "('<k*b^n+c> is not prime.  ... RES64: <16 hex>' or '<k*b^n+c> is prime!')")
        term = parse_term(match.group(1), source, number)
        verdict, rest = match.group(2), match.group(3)
        if verdict.startswith("not prime"):
            residue = RESIDUE.search(rest)
            if residue is None:
                raise FormatError(source, number, "a composite without its RES64: LLR writes '<kind> RES64: <16 hex "
                                  "digits>' on every 'is not prime' line")
            out.append(ExternalResult(term, "llr", COMPOSITE, TYPES[residue.group(1).lower()],
                                      residue.group(2).lower(), number))
        else:
            result = PRIME if verdict == "prime!" else PROBABLE_PRIME
            out.append(ExternalResult(term, "llr", result, "", "", number))
    return out
