"""PFGW's results (OpenPFGW pfgwdoc.txt):

- its console output or the file -l writes (pfgw.out), one line per test:
      3*2^1000+1 is composite: RES64: [D52471BF5F4DADE0] (0.0015s+0.0001s)
      3*2^1001+1 is 3-PRP! (0.0003s+0.0001s)
      3*2^1002+1 is prime! (0.0020s+0.0003s)          (with -t, -tp, -tc: a proof)
      3*2^1005+1 has factors: 5                        (with -f: trial factoring)
- pfgw.log and pfgw-prime.log: only the expressions of the probable primes (pfgw.log) and of the proven
  primes (pfgw-prime.log), one per line.

PFGW's default test is Fermat base 3 and its RES64 the low 64 bits of 3^(N-1) mod N: the same residue as
this product's (residue type 'fermat-3'), so those are compared residue by residue. 'is b-PRP!' with another
base b is recorded as 'fermat-b'."""

from __future__ import annotations

import re

from darkreach_pipeline.formats.results import COMPOSITE, FERMAT_3, PRIME, PROBABLE_PRIME, PRP_RESIDUE, ExternalResult
from darkreach_pipeline.formats.terms import FormatError, content_lines, parse_term

LINE = re.compile(r"(\S+) (is composite|is (\d+)-PRP!|is prime!|has factors:)(.*)")
RESIDUE = re.compile(r"RES64:\s*\[([0-9A-Fa-f]{16})\]")


def read(text: str, source: str, expressions_are: str | None = None) -> list[ExternalResult]:
    """`expressions_are`: what a line holding only an expression means (PROBABLE_PRIME for pfgw.log, PRIME for
    pfgw-prime.log); by default it is taken from the file name and refused elsewhere."""
    if expressions_are is None:
        name = source.rsplit("/", 1)[-1]
        expressions_are = PRIME if name.startswith("pfgw-prime") else PROBABLE_PRIME if name.startswith("pfgw") \
            else None
    out = []
    for number, stripped in content_lines(text):
        match = LINE.match(stripped)
        if match is None:
            if " " in stripped or expressions_are is None:
                raise FormatError(source, number, f"{stripped[:80]!r} is not a PFGW result line ('<expr> is "
                                  "composite: RES64: [<16 hex>]', '<expr> is 3-PRP!', '<expr> is prime!') nor, in "
                                  "pfgw.log / pfgw-prime.log, a bare expression")
            term = parse_term(stripped, source, number)
            out.append(ExternalResult(term, "pfgw", expressions_are, "", "", number))
            continue
        term = parse_term(match.group(1), source, number)
        verdict, base, rest = match.group(2), match.group(3), match.group(4)
        if verdict == "is composite":
            residue = RESIDUE.search(rest)
            if residue is None:
                raise FormatError(source, number, "a composite without 'RES64: [<16 hex digits>]'")
            out.append(ExternalResult(term, "pfgw", COMPOSITE, FERMAT_3, residue.group(1).lower(), number))
        elif verdict == "has factors:":
            out.append(ExternalResult(term, "pfgw", COMPOSITE, "", "", number))
        elif base is not None:
            kind = f"fermat-{base}"
            out.append(ExternalResult(term, "pfgw", PROBABLE_PRIME, kind, PRP_RESIDUE, number))
        else:
            out.append(ExternalResult(term, "pfgw", PRIME, "", "", number))
    return out
