"""RES64 of the Fermat base-3 test: PFGW's measured residues, and PARI's for the -1 and non-binary forms.

The residue type is 3^(N-1) mod N for every form (low 64 bits, 16 hex digits). For c = -1 the engine's
chain ends at 3^(N+1) and divides by 9, for b not a power of two it steps x -> x^b: the residue must
not depend on that route.
"""

from __future__ import annotations

import gmpy2
import pytest
from oracles import pari

from darkreach_pipeline.forms.kbn import KbnForm
from darkreach_pipeline.primality.outcome import RESIDUE_TYPE

MASK64 = (1 << 64) - 1

# Measured with PFGW (Fermat 3-PRP test of N, "RES64: [...]").
PFGW_RES64 = [
    (15, 5000, "96e5e3856341ed2b"),
    (111, 10000, "9f123b35cab64e89"),
    (3, 20000, "5bde134b30abdb04"),
]


@pytest.mark.parametrize(("k", "n", "expected"), PFGW_RES64, ids=[f"{k}*2^{n}+1" for k, n, _ in PFGW_RES64])
def test_res64_matches_pfgw(k: int, n: int, expected: str) -> None:
    out = KbnForm(k, 2, 1).test(n)
    assert out.res64 == expected
    assert out.residue_type == RESIDUE_TYPE == "fermat-3"
    assert out.result == "composite" and out.method == "fermat-3"


def pari_res64(N: int) -> str:
    """Low 64 bits of lift(Mod(3, N)^(N-1)), by PARI, checked against gmpy2.powmod."""
    by_pari = int(pari.lift(pari.Mod(3, N) ** (N - 1)))
    assert by_pari == int(gmpy2.powmod(3, N - 1, N))
    return format(by_pari & MASK64, "016x")


# (k, b, c, n): -1 forms (3^(N+1)/9), b = 4 / 8 (special form, e = 2n / 3n), other b (x -> x^b steps),
# N divisible by 3 (3*2^n-1 never is; 7*10^n-1 always is), K wider than 64 bits (generic reduction).
FORMS = [
    (5, 2, -1, 5000),
    (57, 2, -1, 10000),
    (3, 2, -1, 4000),
    (1, 2, -1, 4423),  # prime by PARI's test below (a Mersenne prime): residue 1
    (9, 2, -1, 3001),
    (7, 4, -1, 2000),
    (5, 8, -1, 1500),
    (7, 8, 1, 1500),
    (3, 6, -1, 1500),
    (5, 6, 1, 1500),
    (7, 10, -1, 1000),
    (7, 10, 1, 1000),
    (2, 3, 1, 2000),
    (2**61 + 1, 2, -1, 3000),
    (2**61 + 1, 2, 1, 3000),
    (3, 2, 1, 534),  # prime by PARI's test below (a Proth prime): residue 1
]


@pytest.mark.parametrize(("k", "b", "c", "n"), FORMS, ids=[f"{k}*{b}^{n}{c:+d}" for k, b, c, n in FORMS])
def test_res64_is_fermat3_residue_for_every_form(k: int, b: int, c: int, n: int) -> None:
    N = k * b**n + c
    out = KbnForm(k, b, c).test(n)
    expected = pari_res64(N)
    assert out.res64 == expected
    assert out.residue_type == RESIDUE_TYPE
    probable_prime = bool(pari.ispseudoprime(N))  # BPSW in PARI
    assert (out.result != "composite") == probable_prime
    assert (expected == "0000000000000001") == probable_prime
