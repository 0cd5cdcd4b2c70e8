"""Independent answers for the known-answer tests, in one place: the two-oracle primality check (PARI/GP through
cypari2 and gmpy2, which must agree), one shared PARI instance, the Fermat residues computed without the
engine, a driver that runs a campaign's blocks through the four stages with the asset checks' audits, and the
table of form cases (campaign, formula, OEIS terms). The forms whose axis names one number each draw their main
range from the table; kbn's families, the pair forms (twin, Sophie Germain) and the index-axis forms
(palindromic, near-repdigit) keep their ranges in their own files and use the same oracle and driver.

Adding a form: one FORM_CASES entry (its campaign fields, the formula of its numbers written here from the
definition, never from the form class, and the OEIS terms of the range); test_known_answer_table.py then
checks engine == oracles == OEIS for it. Importable as `oracles` because tests/conftest.py sits at the tests/
root (pytest's default import mode puts a rootless conftest's folder on sys.path).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import cypari2
import gmpy2
import pandas as pd

from darkreach_pipeline import blocks, checks
from darkreach_pipeline.campaign import CampaignSpec, parse_campaign
from darkreach_pipeline.forms import form_for
from darkreach_pipeline.primality.outcome import PRIME, PROBABLE_PRIME

pari = cypari2.Pari()  # the one PARI instance of the test session (cypari2 keeps a single PARI stack anyway)
pari.default("debugmem", 0)
pari.default("parisizemax", 2**30)  # isprime of a few hundred digits needs more than the 8 MB default

MASK64 = (1 << 64) - 1
ALWAYS = math.inf  # prove_up_to_bits: PARI's isprime (a proof) at every size
NEVER = 0  # prove_up_to_bits: PARI's ispseudoprime (its own BPSW) at every size


@functools.cache
def is_prime_two_oracles(N: int, prove_up_to_bits: float = ALWAYS, pari_flag: int = 0) -> bool:
    """PARI and gmpy2.is_prime (Miller-Rabin + BPSW), which must agree; cached, several tests ask about one N.

    PARI proves (isprime; flag 1 = Pocklington-Lehmer, 0 = APR-CL/ECPP) up to `prove_up_to_bits` bits and runs
    its BPSW above, where APR-CL would take seconds per number."""
    if N < 2:
        return False
    by_pari = bool(pari.isprime(N, pari_flag) if N.bit_length() <= prove_up_to_bits else pari.ispseudoprime(N))
    by_gmpy2 = bool(gmpy2.is_prime(N, 30))
    assert by_pari == by_gmpy2, f"the oracles disagree on {N}: pari {by_pari}, gmpy2 {by_gmpy2}"
    return by_pari


def fermat3_res64(N: int) -> str:
    """Low 64 bits of 3^(N-1) mod N by CPython's pow (not gmpy2, not the engine)."""
    return format(pow(3, N - 1, N) & MASK64, "016x")


def pari_res64(N: int) -> str:
    """Low 64 bits of 3^(N-1) mod N by PARI."""
    return format(int(pari.lift(pari.Mod(3, N) ** (N - 1))) & MASK64, "016x")


@dataclass
class BlockRun:
    """The blocks of one campaign through the four stages, concatenated (every block passed its audits)."""

    spec: CampaignSpec
    form: Any
    sieved: pd.DataFrame
    results: pd.DataFrame
    certs: pd.DataFrame

    def found(self) -> set[int]:
        """The axis values the engine reports as prime or probable prime."""
        hits = self.results["result"].isin([PRIME, PROBABLE_PRIME])
        return set(self.results.loc[hits, self.spec.axis].astype(int))


def run_blocks(campaign: CampaignSpec | Mapping[str, Any], block_numbers: Iterable[int] | None = None) -> BlockRun:
    """Run the stages by hand as the pipeline does (candidates, sieve, test, certificates), each block audited as
    the asset checks audit it (a problem fails the test at once). Every block unless `block_numbers` names some."""
    spec = campaign if isinstance(campaign, CampaignSpec) else parse_campaign(dict(campaign))
    form = form_for(spec)
    frames: list[tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]] = []
    for block in range(spec.block_count) if block_numbers is None else block_numbers:
        sieved = blocks.sieve_frame(spec, block, blocks.candidate_frame(spec, block))
        results = blocks.test_frame(spec, block, sieved)  # a plain function, not a pytest test
        certs = blocks.certificate_frame(spec, results)
        problems = (checks.sieve_coverage_problems(spec, block, sieved)
                    + checks.factor_claim_problems(form, spec.axis, sieved)
                    + checks.tested_once_problems(spec.axis, sieved, results) + checks.result_problems(form, results)
                    + checks.certificate_problems(spec.axis, results, certs))
        assert problems == [], problems
        frames.append((sieved, results, certs))
    sieved, results, certs = (pd.concat([f[i] for f in frames], ignore_index=True) for i in range(3))
    return BlockRun(spec, form, sieved, results, certs)


@dataclass(frozen=True)
class FormCase:
    """One known-answer range of one form: the campaign that covers it, the number each axis value names (from
    the definition), the oracle settings, and the OEIS terms of the range (None where OEIS has no list)."""

    campaign: Mapping[str, Any]
    number: Callable[[int], int]
    oeis: tuple[int, ...] | None
    prove_up_to_bits: float = ALWAYS
    pari_flag: int = 0
    values: Callable[[int, int], Iterable[int]] | None = None  # the axis values that can name a prime; all by default

    @property
    def axis_range(self) -> tuple[int, int]:
        axis = next(key[:-4] for key in self.campaign if key.endswith("_min"))
        return self.campaign[f"{axis}_min"], self.campaign[f"{axis}_max"]


def oracle_values(case: FormCase) -> set[int]:
    """The axis values of the case's range whose number both oracles call prime."""
    lo, hi = case.axis_range
    values = case.values(lo, hi) if case.values else range(lo, hi + 1)
    return {v for v in values if is_prime_two_oracles(case.number(v), case.prove_up_to_bits, case.pari_flag)}


@functools.cache
def case_run(name: str) -> BlockRun:
    """The audited run of FORM_CASES[name], once per session (the table test and the form's own file share it)."""
    return run_blocks(FORM_CASES[name].campaign)


def primes_between(lo: int, hi: int) -> list[int]:
    """Primes lo..hi by PARI (the axis of the primorial form)."""
    return [int(p) for p in pari.primes([lo, hi])] if hi >= 2 else []


@functools.cache
def primorial(p: int) -> int:
    """p#, the product of the primes up to p, by PARI's prime list."""
    return math.prod(primes_between(2, p))


def repunit_case(b: int, n_max: int, oeis: tuple[int, ...]) -> FormCase:
    """(b^n-1)/(b-1), n = 0..n_max; depth 20,000 is above R_2(10) = 11, R_3(2) = 7, R_3(3) = 13, R_5(3) = 121,
    R_3(5) = 31...: none is struck by itself."""
    return FormCase({"name": f"repunit-{b}", "form": "repunit", "b": b, "n_min": 0, "n_max": n_max,
                     "block_size": 150, "sieve_depth": 20_000}, lambda n: (b**n - 1) // (b - 1), oeis,
                    prove_up_to_bits=512)


PROVE_150_DIGITS = math.ceil(150 * math.log2(10))  # PARI's APR-CL of n!-1, p#-1 takes seconds above 10^150


def factorial_case(c: int, oeis: tuple[int, ...]) -> FormCase:
    """n!+c, n = 0..250: PARI proves n!+1 by its own Pocklington-Lehmer (flag 1, it factors N-1) at every size,
    n!-1 by APR-CL up to 150 digits and runs BPSW above (where the engine's proof must verify too)."""
    return FormCase({"name": f"ka-factorial-{'plus' if c == 1 else 'minus'}", "form": "factorial", "c": c,
                     "n_min": 0, "n_max": 250, "block_size": 100, "sieve_depth": 20_000},
                    lambda n: math.factorial(n) + c, oeis, prove_up_to_bits=ALWAYS if c == 1 else PROVE_150_DIGITS,
                    pari_flag=1 if c == 1 else 0)


def primorial_case(c: int, oeis: tuple[int, ...]) -> FormCase:
    """p#+c, p = 0..1100 (the primes: p# of a composite p is no new number), p# built from PARI's prime list
    (no code shared with the engine's gmpy2.primorial); the oracles as for factorials."""
    return FormCase({"name": f"ka-primorial-{'plus' if c == 1 else 'minus'}", "form": "primorial", "c": c,
                     "p_min": 0, "p_max": 1100, "block_size": 250, "sieve_depth": 20_000},
                    lambda p: primorial(p) + c, oeis, prove_up_to_bits=ALWAYS if c == 1 else PROVE_150_DIGITS,
                    pari_flag=1 if c == 1 else 0, values=primes_between)


def gfn_case(m: int, oeis: tuple[int, ...]) -> FormCase:
    """b^(2^m)+1 for b = 2 up to the last OEIS term listed."""
    return FormCase({"name": f"gfn-m{m}", "form": "gfn", "m": m, "b_min": 2, "b_max": oeis[-1], "block_size": 100,
                     "sieve_depth": "auto"}, lambda b: b ** (2**m) + 1, oeis)


FORM_CASES: dict[str, FormCase] = {
    "wagstaff": FormCase(
        {"name": "wagstaff-known", "form": "wagstaff", "p_min": 0, "p_max": 800, "block_size": 200,
         "sieve_depth": 50_000},  # above N for p = 5..17 (11, 43, 683, 2731, 43691): never struck by themselves
        lambda p: (2**p + 1) // 3,
        (3, 5, 7, 11, 13, 17, 19, 23, 31, 43, 61, 79, 101, 127, 167, 191, 199, 313, 347, 701),  # A000978
        prove_up_to_bits=512, values=lambda lo, hi: range(max(lo, 3) | 1, hi + 1, 2)),  # odd p; composite p too
    "repunit-10": repunit_case(10, 400, (2, 19, 23, 317)),  # A004023
    "repunit-3": repunit_case(3, 560, (3, 7, 13, 71, 103, 541)),  # A028491; b a power of 3: the Fermat base is 2
    "repunit-2": repunit_case(2, 620, (2, 3, 5, 7, 13, 17, 19, 31, 61, 89, 107, 127, 521, 607)),  # A000043: LLR
    "repunit-5": repunit_case(5, 200, (3, 7, 11, 13, 47, 127, 149, 181)),  # A004061
    "repunit-6": repunit_case(6, 300, (2, 3, 7, 29, 71, 127, 271)),  # A004062
    "factorial+1": factorial_case(1, (0, 1, 2, 3, 11, 27, 37, 41, 73, 77, 116, 154)),  # A002981
    "factorial-1": factorial_case(-1, (3, 4, 6, 7, 12, 14, 30, 32, 33, 38, 94, 166)),  # A002982
    "primorial+1": primorial_case(1, (2, 3, 5, 7, 11, 31, 379, 1019, 1021)),  # A014545
    "primorial-1": primorial_case(-1, (3, 5, 11, 13, 41, 89, 317, 337, 991)),  # A057704
    # Cullen primes are sparse (two below 4713; deciding all of 0..4713 with two oracles takes a minute).
    "cullen": FormCase({"name": "cullen-0", "form": "cullen", "n_min": 0, "n_max": 1200, "block_size": 150,
                        "sieve_depth": 100_000}, lambda n: n * 2**n + 1, (1, 141), prove_up_to_bits=600),  # A005849
    "woodall": FormCase({"name": "woodall-0", "form": "woodall", "n_min": 0, "n_max": 900, "block_size": 150,
                         "sieve_depth": 100_000}, lambda n: n * 2**n - 1,
                        (2, 3, 6, 30, 75, 81, 115, 123, 249, 362, 384, 462, 512, 751, 822),  # A002234
                        prove_up_to_bits=600),
    # A091516 says 25 Carol primes below 4^1000, the count without 252 (test_carol_252_is_composite).
    "carol": FormCase({"name": "carol", "form": "carol", "n_min": 0, "n_max": 500, "block_size": 125,
                       "sieve_depth": 100_000}, lambda n: (2**n - 1) ** 2 - 2,
                      (2, 3, 4, 6, 7, 10, 12, 15, 18, 19, 21, 25, 27, 55, 129, 132, 159, 171, 175, 315, 324, 358,
                       393, 435), prove_up_to_bits=600),  # A091515
    "kynea": FormCase({"name": "kynea", "form": "kynea", "n_min": 0, "n_max": 500, "block_size": 125,
                       "sieve_depth": 100_000}, lambda n: (2**n + 1) ** 2 - 2,
                      (0, 1, 2, 3, 5, 8, 9, 12, 15, 17, 18, 21, 23, 27, 32, 51, 65, 87, 180, 242, 467, 491),
                      prove_up_to_bits=600),  # A091513
    "gfn-m1": gfn_case(1, (2, 4, 6, 10, 14, 16, 20, 24, 26, 36, 40, 54, 56, 66, 74, 84, 90, 94)),  # A005574
    "gfn-m2": gfn_case(2, (2, 4, 6, 16, 20, 24, 28, 34, 46, 48, 54, 56, 74, 80, 82, 88, 90, 106, 118, 132)),  # A000068
    "gfn-m3": gfn_case(3, (2, 4, 118, 132, 140, 152, 208, 240, 242, 288, 290, 306)),  # A006314
    "gfn-m4": gfn_case(4, (2, 44, 74, 76, 94, 156, 158, 176, 188, 198)),  # A006313
}
