"""What every format shares: a candidate k*b^n+c (`Term`), a parsed sieve file (`SieveFile`), the error for a
bad line (`FormatError`), and the k*b^n+c expressions with `$a`-style variables that ABC, ABCD and ABC2
headers use."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

MAX_EXPONENT = 1 << 40  # n beyond this is no number anyone sieves; a typo rather than a candidate
MAX_DIGITS = 40  # every number in these files (k, b, n, p < 2^64) has at most 20 digits
SIEVED_TO = re.compile(r"sieved to:?\s*(\S*)", re.IGNORECASE)


class FormatError(ValueError):
    """A file that cannot be read as the format it claims: names the file, the line (1-based; 0 = the whole
    file) and the reason, so the user can fix that line. Raised before anything is stored."""

    def __init__(self, source: str, line: int, reason: str):
        self.source, self.line, self.reason = source, line, reason
        where = f"{source} line {line}" if line else source
        super().__init__(f"{where}: {reason}")


class Term(NamedTuple):
    """One candidate number k*b^n + c."""

    k: int
    b: int
    n: int
    c: int

    def expression(self) -> str:
        return f"{self.k}*{self.b}^{self.n}{self.c:+d}"


@dataclass
class SieveFile:
    """A sieve file's candidates in file order and the depth its header claims (None: the file does not say)."""

    format: str
    terms: list[Term]
    sieved_to: int | None
    lines: list[int] = field(default_factory=list)  # line number of each term, for errors found later


def numbered_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line without its end of line) for every line; a trailing newline adds no line."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        yield number, line.rstrip("\r")


def content_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, the line stripped) of every line that is not blank: blank lines carry nothing."""
    for number, line in numbered_lines(text):
        if line.strip():
            yield number, line.strip()


def parse_int(text: str, source: str, line: int, what: str, minimum: int | None = None) -> int:
    """A decimal integer (optional sign), or a FormatError naming what it should have been."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise FormatError(source, line, f"{what} {text[:40]!r} is not a whole number")
    if len(text) > MAX_DIGITS:
        raise FormatError(source, line, f"{what} has {len(text)} digits, more than any sieve file's numbers "
                          f"({MAX_DIGITS})")
    value = int(text)
    if minimum is not None and value < minimum:
        raise FormatError(source, line, f"{what} must be >= {minimum}, got {value}")
    return value


def sieved_to(comment: str, source: str, line: int) -> int | None:
    """The depth in a '// Sieved to <p>' comment (srsieve2, fbncsieve and NewPGen write it), or None."""
    match = SIEVED_TO.search(comment)
    if match is None:
        return None
    return parse_int(match.group(1).replace(",", "").replace("_", ""), source, line, "'Sieved to' depth", minimum=2)


def checked_term(k: int, b: int, n: int, c: int, source: str, line: int) -> Term:
    if k < 1:
        raise FormatError(source, line, f"k must be >= 1, got {k}")
    if b < 2:
        raise FormatError(source, line, f"b must be >= 2, got {b}")
    if not 0 <= n <= MAX_EXPONENT:
        raise FormatError(source, line, f"n must be between 0 and 2^40, got {n}")
    if c == 0:
        raise FormatError(source, line, "c must not be 0 in k*b^n+c")
    return Term(k, b, n, c)


TERM = re.compile(r"(?:([0-9]+)\*)?([0-9]+)\^([0-9]+)([+-][0-9]+)")


def parse_term(text: str, source: str, line: int) -> Term:
    """'k*b^n+c' or 'b^n+c' (k = 1), no spaces, as LLR, PFGW and mtsieve print them."""
    match = TERM.fullmatch(text.strip())
    if match is None:
        raise FormatError(source, line, f"{text.strip()[:80]!r} is not a number k*b^n+c (e.g. 3*2^1000+1); "
                          "other expressions are not read")
    k, b, n, c = (parse_int(g, source, line, name) if g else 1
                  for g, name in zip(match.groups(), ("k", "b", "n", "c"), strict=True))
    return checked_term(k, b, n, c, source, line)


# One slot of a template: an integer, or a variable '$a'..'$z'.
SLOT = r"([0-9]+|\$[a-z])"
TEMPLATE = re.compile(rf"(?:{SLOT}\*)?{SLOT}\^{SLOT}([+-][0-9]+|\$[a-z])")


@dataclass(frozen=True)
class Template:
    """A header expression k*b^n+c whose slots are numbers or variables, e.g. '3*2^$a+1' or '$a*$b^$c$d'."""

    slots: tuple[int | str, int | str, int | str, int | str]  # k, b, n, c

    @property
    def variables(self) -> list[str]:
        """The variables in the order a data line gives their values: $a, $b, ..."""
        return sorted({s for s in self.slots if isinstance(s, str)})

    def term(self, values: Mapping[str, int], source: str, line: int) -> Term:
        k, b, n, c = (values[s] if isinstance(s, str) else s for s in self.slots)
        return checked_term(k, b, n, c, source, line)

    def values(self, fields: list[str], source: str, line: int, what: str) -> list[int]:
        """A data line's numbers, exactly one per variable."""
        names = self.variables
        if len(fields) != len(names):
            raise FormatError(source, line, f"{' '.join(fields)[:60]!r} has {len(fields)} {what}; the header "
                              f"{self.text()!r} needs {len(names)} ({' '.join(names)})")
        return [parse_int(v, source, line, f"{what[:-1]} for {name}") for name, v in zip(names, fields, strict=True)]

    def text(self) -> str:
        k, b, n, c = (s if isinstance(s, str) else str(s) for s in self.slots)
        sign = c if c.startswith("$") else f"{int(c):+d}"
        return f"{k}*{b}^{n}{sign}"


def parse_template(expression: str, source: str, line: int) -> Template:
    """A header's expression; what this product cannot represent is refused with the reason."""
    text = expression.strip()
    if "&" in text or "|" in text:
        raise FormatError(source, line, f"header {text[:80]!r} joins several expressions with '&' or '|' (twin or "
                          "chain files): only files of one expression k*b^n+c are read")
    match = TEMPLATE.fullmatch(text)
    if match is None:
        raise FormatError(source, line, f"header expression {text[:80]!r} is not of the form k*b^n+c with numbers "
                          "or $a..$z in each place (e.g. 3*2^$a+1, $a*2^1000-1, $a*$b^$c$d): other expressions are "
                          "not read")
    k, b, n, c = match.groups()
    slots = tuple(s if s.startswith("$") else int(s) for s in (k or "1", b, n, c))
    template = Template(slots)  # type: ignore[arg-type]
    names = template.variables
    expected = [f"${chr(ord('a') + i)}" for i in range(len(names))]
    if names != expected:
        raise FormatError(source, line, f"header uses the variables {' '.join(names) or 'none'}: they must be "
                          f"{' '.join(expected) or 'at least $a'}, in order, each line giving one value per variable")
    if not names:
        raise FormatError(source, line, f"header expression {text[:80]!r} has no variable: a sieve file's header "
                          "needs at least $a")
    return template


def split_comment(text: str) -> tuple[str, str]:
    """(the part before '//', the comment after it)."""
    head, _, comment = text.partition("//")
    return head.strip(), comment.strip()


def group_runs(terms: list[Term]) -> list[tuple[tuple[int, int, int], list[int]]]:
    """Terms grouped by (k, b, c) in order of first appearance, each with its exponents ascending (how
    srsieve2 writes: one header per k)."""
    groups: dict[tuple[int, int, int], list[int]] = {}
    for t in terms:
        groups.setdefault((t.k, t.b, t.c), []).append(t.n)
    return [(key, sorted(ns)) for key, ns in groups.items()]


def depth_comment(depth: int | None) -> str:
    return f" // Sieved to {depth}" if depth else ""
