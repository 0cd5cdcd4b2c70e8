"""The table of known-answer cases (tests/oracles.py FORM_CASES): for every form, the engine's full result set over
the case's range, run block by block with the asset checks' audits, equals what PARI and gmpy2 decide (they must
agree on every number), and that equals the OEIS terms of the range. The form's own file checks the rest of the
same run (residues, methods, certificates, sieve claims)."""

from __future__ import annotations

import pytest
from oracles import FORM_CASES, case_run, oracle_values


@pytest.mark.parametrize("name", sorted(FORM_CASES))
def test_engine_equals_the_two_oracles_and_oeis(name: str) -> None:
    case = FORM_CASES[name]
    expected = oracle_values(case)
    if case.oeis is not None:
        assert expected == set(case.oeis), f"the oracles disagree with OEIS: {sorted(expected ^ set(case.oeis))}"
    assert expected, "a case without primes proves nothing"
    found = case_run(name).found()  # every block audited as the asset checks audit it
    assert found == expected, f"missed {sorted(expected - found)}, extra {sorted(found - expected)}"
