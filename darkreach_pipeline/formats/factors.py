"""Factor files (mtsieve -O output, srsieve's factors.txt): one '<p> | <k*b^n+c>' line per removed candidate,
e.g. '1000003 | 27*2^1234+1'. mtsieve may add a 'pmin=<p>' line; it is read and kept as the lower bound of
the sieve that found them. The claims are not trusted here: whoever uses them re-checks p | N."""

from __future__ import annotations

from dataclasses import dataclass, field

from darkreach_pipeline.formats.terms import FormatError, Term, content_lines, parse_int, parse_term


@dataclass
class FactorFile:
    factors: list[tuple[int, Term]]  # (p, the candidate it divides), in file order
    lines: list[int] = field(default_factory=list)
    pmin: int | None = None


def read(text: str, source: str) -> FactorFile:
    out = FactorFile([])
    for number, stripped in content_lines(text):
        if stripped.startswith("pmin="):
            out.pmin = parse_int(stripped[5:], source, number, "pmin", minimum=0)
            continue
        p, bar, expression = stripped.partition("|")
        if not bar:
            raise FormatError(source, number, f"{stripped[:60]!r} is not '<p> | <k*b^n+c>'")
        prime = parse_int(p.strip(), source, number, "factor", minimum=2)
        out.factors.append((prime, parse_term(expression, source, number)))
        out.lines.append(number)
    return out


def write(factors: list[tuple[int, Term]]) -> str:
    return "".join(f"{p} | {t.expression()}\n" for p, t in factors)
