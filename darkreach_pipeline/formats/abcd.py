"""ABCD files (PFGW abcfileformats.txt; srsieve2's default output): a header 'ABCD <expr> [<a0> <b0> ...]
[// comment]' whose bracket holds the first candidate's values, then one line per further candidate holding
the differences to add to each running value (kept within +-2^63). Every header starts a new run, so files
can be concatenated; blank lines are ignored.

Read: expressions k*b^n+c with numbers or variables; the depth from '// Sieved to <p>' (the smallest when
headers differ). Written: srsieve2's dialect, 'ABCD k*b^$a+c [n0] // Sieved to p' then the gaps, one header
per (k, b, c)."""

from __future__ import annotations

import re

from darkreach_pipeline.formats.abc import merge_depth
from darkreach_pipeline.formats.terms import (
    FormatError,
    SieveFile,
    Term,
    content_lines,
    depth_comment,
    group_runs,
    parse_int,
    parse_template,
    sieved_to,
    split_comment,
)

LIMIT = 1 << 63
HEADER = re.compile(r"ABCD\s+(.*?)\s*\[([^\]]*)\]\s*$")


def read(text: str, source: str) -> SieveFile:
    names: list[str] = []
    template = None
    running: dict[str, int] = {}
    terms, where, depth = [], [], None
    for number, stripped in content_lines(text):
        if stripped.startswith("ABCD"):
            head, comment = split_comment(stripped)
            match = HEADER.fullmatch(head)
            if match is None:
                raise FormatError(source, number, f"header {head[:60]!r} is not 'ABCD <expression> [<start values>]'")
            template = parse_template(match.group(1), source, number)
            names = template.variables
            starts = match.group(2).split()
            if len(starts) != len(names):
                raise FormatError(source, number, f"the bracket holds {len(starts)} start values; the expression "
                                  f"{template.text()!r} needs {len(names)} ({' '.join(names)})")
            running = {name: parse_int(v, source, number, f"start value of {name}")
                       for name, v in zip(names, starts, strict=True)}
            depth = merge_depth(depth, sieved_to(comment, source, number), first=not terms)
        elif template is None:
            raise FormatError(source, number, "data before the first 'ABCD <expression> [<start values>]' header")
        else:
            deltas = template.values(split_comment(stripped)[0].split(), source, number, "differences")
            for name, delta in zip(names, deltas, strict=True):
                running[name] += delta
                if not -LIMIT < running[name] < LIMIT:
                    raise FormatError(source, number, f"{name} leaves the range +-2^63 that ABCD values must keep")
        terms.append(template.term(running, source, number))
        where.append(number)
    if template is None:
        raise FormatError(source, 0, "is empty: an ABCD file starts with 'ABCD <expression> [<start values>]'")
    return SieveFile("abcd", terms, depth, where)


def write(terms: list[Term], sieved_to: int) -> str:
    lines = []
    for (k, b, c), ns in group_runs(terms):
        lines.append(f"ABCD {k}*{b}^$a{c:+d} [{ns[0]}]{depth_comment(sieved_to)}")
        lines += [str(n - m) for m, n in zip(ns, ns[1:], strict=False)]
    return "\n".join(lines) + "\n"
