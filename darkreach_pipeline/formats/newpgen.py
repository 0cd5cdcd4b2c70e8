"""NewPGen files (LLR Readme; srsieve2 -fB, fbncsieve -fN): a header 'sieved_to:letter:chain:base:mask', then
one 'k n' line per candidate k*base^n+c.

Read: masks 1 (k*b^n+1) and 2 (k*b^n-1), and srsieve2's 257 / 258 (the same with bit 0x100 set); the mask
decides the sign (it overrides the letter, as in LLR), the letter must agree with it (P for +1, M for -1).
Chains, twins, Sophie Germain and the other letters are refused with the reason. Written: the classic
'depth:P:1:b:1' / 'depth:M:1:b:2' that LLR, PFGW and NewPGen all read; every line shares the header's base
and sign."""

from __future__ import annotations

from darkreach_pipeline.formats.terms import FormatError, SieveFile, Term, checked_term, numbered_lines, parse_int

MASKS = {1: 1, 2: -1, 257: 1, 258: -1}  # mask -> c
LETTERS = {1: "P", -1: "M"}


def read(text: str, source: str) -> SieveFile:
    lines = numbered_lines(text)
    try:
        number, header = next(lines)
    except StopIteration:
        raise FormatError(source, 0, "is empty: a NewPGen file starts with 'depth:letter:chain:base:mask'") from None
    fields = header.strip().split(":")
    if len(fields) != 5:
        raise FormatError(source, number, f"header {header[:60]!r} has {len(fields)} ':'-separated fields; NewPGen "
                          "headers have 5: sieved_to:letter:chain_length:base:mask (e.g. 1000000000:P:1:2:1)")
    depth = parse_int(fields[0], source, number, "sieved_to (header field 1)", minimum=1)
    letter = fields[1]
    chain = parse_int(fields[2], source, number, "chain length (header field 3)")
    base = parse_int(fields[3], source, number, "base (header field 4)", minimum=2)
    mask = parse_int(fields[4], source, number, "mask (header field 5)")
    if mask not in MASKS:
        raise FormatError(source, number, f"mask {mask} is not read: only k*b^n+1 (mask 1 or 257, letter P) and "
                          "k*b^n-1 (mask 2 or 258, letter M) files are; twins, chains and other shapes are not")
    c = MASKS[mask]
    if letter != LETTERS[c]:
        raise FormatError(source, number, f"letter {letter!r} contradicts mask {mask} (k*b^n{c:+d}): use letter "
                          f"{LETTERS[c]!r}")
    if chain not in (0, 1):
        raise FormatError(source, number, f"chain length {chain} is not read: only 1 (or fbncsieve's 0)")
    terms, where = [], []
    for number, line in lines:
        parts = line.split()
        if not parts:
            continue  # blank lines carry nothing; LLR skips them too
        if len(parts) != 2:
            raise FormatError(source, number, f"{line.strip()[:60]!r} has {len(parts)} fields: a NewPGen line is 'k n'")
        k = parse_int(parts[0], source, number, "k", minimum=1)
        n = parse_int(parts[1], source, number, "n", minimum=0)
        terms.append(checked_term(k, base, n, c, source, number))
        where.append(number)
    return SieveFile("newpgen", terms, depth, where)


def write(terms: list[Term], sieved_to: int) -> str:
    """A NewPGen file of terms sharing one base and one sign (what a kbn campaign's survivors are)."""
    if not terms:
        raise ValueError("a NewPGen file needs at least one candidate (its header takes the base from them)")
    shapes = {(t.b, t.c) for t in terms}
    if len(shapes) != 1 or next(iter(shapes))[1] not in LETTERS:
        raise ValueError(f"a NewPGen file holds one base and one sign c = +-1; these terms have {sorted(shapes)}")
    b, c = shapes.pop()
    lines = [f"{sieved_to}:{LETTERS[c]}:1:{b}:{1 if c == 1 else 2}"]
    lines += [f"{t.k} {t.n}" for t in terms]
    return "\n".join(lines) + "\n"
