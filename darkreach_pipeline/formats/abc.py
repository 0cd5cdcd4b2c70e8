"""ABC files (PFGW abcfileformats.txt; srsieve2 -fA, fbncsieve): a header 'ABC <expr> [// comment]', then one
line of whitespace-separated values for $a $b ... per candidate. A header may appear again further down to
switch expressions (LLR Readme section 8), e.g. srsieve2 writes one 'ABC k*b^$a+c // Sieved to p' per k.

Read: expressions k*b^n+c with numbers or variables in each place; the depth from '// Sieved to <p>' (the
smallest stated when headers differ: every candidate is sieved at least that far). Written: srsieve2's
dialect, one header per (k, b, c) and one n per line."""

from __future__ import annotations

from darkreach_pipeline.formats.terms import (
    FormatError,
    SieveFile,
    Template,
    Term,
    content_lines,
    depth_comment,
    group_runs,
    parse_template,
    sieved_to,
    split_comment,
)


def header(line: str, word: str, source: str, number: int) -> tuple[Template, int | None]:
    """(template, depth) of a header line '<word> <expression> [// comment]'."""
    head, comment = split_comment(line[len(word):])
    return parse_template(head, source, number), sieved_to(comment, source, number)


def merge_depth(old: int | None, new: int | None, first: bool) -> int | None:
    """A file's depth: the smallest any header claims; unknown as soon as one header claims none."""
    if first:
        return new
    return None if old is None or new is None else min(old, new)


def read(text: str, source: str) -> SieveFile:
    template: Template | None = None
    terms, where, depth = [], [], None
    for number, stripped in content_lines(text):
        if stripped.startswith("ABC") and not stripped.startswith(("ABCD", "ABC2")):
            if stripped[3:4] not in (" ", "\t"):
                raise FormatError(source, number, f"{stripped[:40]!r}: a header is 'ABC <expression>'")
            first = template is None
            template, claimed = header(stripped, "ABC", source, number)
            depth = merge_depth(depth, claimed, first=first)
            continue
        if template is None:
            raise FormatError(source, number, "data before the first 'ABC <expression>' header")
        values = template.values(split_comment(stripped)[0].split(), source, number, "values")
        terms.append(template.term(dict(zip(template.variables, values, strict=True)), source, number))
        where.append(number)
    if template is None:
        raise FormatError(source, 0, "is empty: an ABC file starts with 'ABC <expression>'")
    return SieveFile("abc", terms, depth, where)


def write(terms: list[Term], sieved_to: int) -> str:
    lines = []
    for (k, b, c), ns in group_runs(terms):
        lines.append(f"ABC {k}*{b}^$a{c:+d}{depth_comment(sieved_to)}")
        lines += [str(n) for n in ns]
    return "\n".join(lines) + "\n"
