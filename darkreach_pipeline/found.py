"""How a campaign's finds are counted and named: primes, or pairs for the two-member forms, each number once.

Two axis values can name the same number: 0!+1 = 1!+1 = 2. OEIS A002981 lists both n = 0 and n = 1 (it is a
list of n), and so do the result tables; but a prime search reports a prime once, so counts go by value.
"""

from __future__ import annotations

from collections.abc import Sequence

from darkreach_pipeline.forms.base import PrimeForm


def counted(count: int, noun: str) -> str:
    """'1 block', '2 blocks'."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def repeats(form: PrimeForm, values: Sequence[int], digits: Sequence[int], expressions: Sequence[str]
            ) -> dict[int, str]:
    """{position: expression of the first find with the same number} for each find (axis value, decimal digits,
    expression) whose number an earlier one already is. Only finds with equal digits are compared, so the
    numbers are built for few of them."""
    first: dict[int, tuple[int, str]] = {}  # number -> (position, expression) of its first find
    by_size: dict[int, list[int]] = {}
    for position, size in enumerate(digits):
        by_size.setdefault(int(size), []).append(position)
    out: dict[int, str] = {}
    for positions in by_size.values():
        if len(positions) < 2:
            continue
        for position in positions:
            number = int(form.number(int(values[position])))
            if number in first:
                out[position] = first[number][1]
            else:
                first[number] = (position, expressions[position])
    return out
