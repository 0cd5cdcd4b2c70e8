"""PFGW ABC2 files (PFGW abcfileformats.txt): a header 'ABC2 <expr> [// comment]', then one line per variable
saying which values it takes, in the order $a, $b, ...:

    a: from 1 to 1000 [step 2]        a: from 1000 downto 1 [step 3]
    a: primes from 5000 to 5100       a: in { 0 4 6 }

The candidates are every combination. ABC2 states no sieve depth; a '// Sieved to <p>' comment on the
header (which this product writes) is read when present. Written: one header and 'a: in { n1 n2 ... }' with
the exponents of one (k, b, c)."""

from __future__ import annotations

import itertools
import re

import gmpy2

from darkreach_pipeline.formats.abc import header
from darkreach_pipeline.formats.terms import (
    FormatError,
    SieveFile,
    Term,
    content_lines,
    depth_comment,
    group_runs,
    parse_int,
    split_comment,
)

MAX_CANDIDATES = 10_000_000  # every combination is materialised: refuse a file that describes more
RANGE = re.compile(r"(primes\s+)?from\s+(\S+)\s+(to|downto)\s+(\S+)(?:\s+step\s+(\S+))?")
SET = re.compile(r"in\s*\{([^}]*)\}")


def values_of(spec: str, source: str, number: int) -> list[int]:
    """The values one 'x: ...' line describes."""
    match = SET.fullmatch(spec)
    if match is not None:
        items = match.group(1).split()
        if not items:
            raise FormatError(source, number, "the set 'in { }' is empty")
        return [parse_int(v, source, number, "set value") for v in items]
    match = RANGE.fullmatch(spec)
    if match is None:
        raise FormatError(source, number, f"{spec[:60]!r} is not 'from X to Y [step S]', 'from X downto Y [step S]', "
                          "'primes from X to Y' or 'in { ... }'")
    primes, lo, direction, hi, step = match.groups()
    start, stop = parse_int(lo, source, number, "from"), parse_int(hi, source, number, direction)
    stride = parse_int(step, source, number, "step", minimum=1) if step else 1
    if primes and (step or direction == "downto"):
        raise FormatError(source, number, "'primes from X to Y' takes no step and counts upwards")
    if (stop - start if direction == "to" else start - stop) // stride + 1 > MAX_CANDIDATES:
        raise FormatError(source, number, f"describes more than {MAX_CANDIDATES} values: split the file")
    if primes:
        found, p = [], gmpy2.next_prime(max(start, 2) - 1)
        while p <= stop:
            found.append(int(p))
            p = gmpy2.next_prime(p)
        return found
    return list(range(start, stop + 1, stride) if direction == "to" else range(start, stop - 1, -stride))


def read(text: str, source: str) -> SieveFile:
    lines = list(content_lines(text))
    if not lines or not lines[0][1].startswith("ABC2"):
        raise FormatError(source, lines[0][0] if lines else 0, "an ABC2 file starts with 'ABC2 <expression>'")
    number, first = lines[0]
    template, depth = header(first, "ABC2", source, number)
    names = template.variables
    ranges: dict[str, list[int]] = {}
    where: dict[str, int] = {}
    for number, line in lines[1:]:
        body = split_comment(line)[0]
        name, colon, spec = body.partition(":")
        var = f"${name.strip()}"
        if not colon or var not in names:
            raise FormatError(source, number, f"{line[:60]!r} is not '<variable>: <values>' for one of "
                              f"{' '.join(v[1:] for v in names)}")
        if var in ranges:
            raise FormatError(source, number, f"variable {name.strip()} is described twice (first on line "
                              f"{where[var]})")
        ranges[var], where[var] = values_of(spec.strip(), source, number), number
    missing = [v for v in names if v not in ranges]
    if missing:
        raise FormatError(source, 0, f"no values for {' '.join(m[1:] for m in missing)}: add a line "
                          f"'{missing[0][1:]}: from X to Y' (or 'in {{ ... }}')")
    total = 1
    for v in names:
        total *= len(ranges[v])
    if total > MAX_CANDIDATES:
        raise FormatError(source, 0, f"describes {total} candidates, more than {MAX_CANDIDATES}: split the file")
    terms = [template.term(dict(zip(names, combo, strict=True)), source, where[names[0]])
             for combo in itertools.product(*(ranges[v] for v in names))]
    return SieveFile("abc2", terms, depth, [where[names[0]]] * len(terms))


def write(terms: list[Term], sieved_to: int) -> str:
    groups = group_runs(terms)
    if len(groups) != 1:
        raise ValueError(f"an ABC2 file written here holds one k*b^n+c shape; these terms have {len(groups)}")
    (k, b, c), ns = groups[0]
    return f"ABC2 {k}*{b}^$a{c:+d}{depth_comment(sieved_to)}\na: in {{ {' '.join(map(str, ns))} }}\n"
