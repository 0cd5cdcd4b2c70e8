"""Write known_prime_counts.json: the primes of several forms over ranges, decided here by two independent
implementations (gmpy2.is_prime and PARI's ispseudoprime, which must agree on every number), for the density
model's validation test (test_density_model.py). Each case also names the OEIS sequence its list must match.

    PYTHONPATH=. .venv/bin/python tests/engine/known_prime_counts.py     # a few minutes on 2 cores
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import cypari2
import gmpy2

from darkreach_pipeline.forms import form_class

OUT = Path(__file__).with_name("known_prime_counts.json")
TRIAL_PRIMORIAL = gmpy2.primorial(20_000)  # a common factor below 20,000 settles a number as composite

KBN_N = (64, 3000)
CASES = [
    *({"form": "kbn", "range_key": "n", "params": {"k": k, "b": 2, "c": 1}, "range": KBN_N}
      for k in (78557, 4847, 47, 383, 3, 15, 1155, 165)),
    *({"form": "kbn", "range_key": "n", "params": {"k": k, "b": 2, "c": -1}, "range": KBN_N}
      for k in (509203, 2293, 127, 3, 2145, 195)),
    {"form": "factorial", "range_key": "n", "params": {"c": 1}, "range": (10, 1000), "oeis": "A002981"},
    {"form": "factorial", "range_key": "n", "params": {"c": -1}, "range": (10, 1000), "oeis": "A002982"},
    {"form": "primorial", "range_key": "p", "params": {"c": 1}, "range": (20, 2500), "oeis": "A005234"},
    {"form": "primorial", "range_key": "p", "params": {"c": -1}, "range": (20, 2500), "oeis": "A006794"},
    {"form": "wagstaff", "range_key": "p", "params": {}, "range": (40, 4000), "oeis": "A000978"},
    {"form": "repunit", "range_key": "n", "params": {"b": 3}, "range": (20, 1700), "oeis": "A028491"},
    {"form": "cullen", "range_key": "n", "params": {}, "range": (20, 3000), "oeis": "A005849"},
    {"form": "woodall", "range_key": "n", "params": {}, "range": (20, 3000), "oeis": "A002234"},
    {"form": "carol", "range_key": "n", "params": {}, "range": (10, 1500), "oeis": "A091515"},
    {"form": "kynea", "range_key": "n", "params": {}, "range": (10, 1500), "oeis": "A091514"},
    {"form": "gfn", "range_key": "b", "params": {"m": 4}, "range": (4, 20000)},
    {"form": "gfn", "range_key": "b", "params": {"m": 5}, "range": (4, 10000)},
    {"form": "gfn", "range_key": "b", "params": {"m": 6}, "range": (4, 3000)},
]


def primes_of(case: dict, pari: cypari2.Pari) -> list[int]:
    form = form_class(case["form"], case["range_key"])(**case["params"])
    lo, hi = case["range"]
    found = []
    for v in range(lo, hi + 1):
        if form.excluded(v) is not None:
            continue
        N = form.number(v)
        if N > 20_000 and gmpy2.gcd(N, TRIAL_PRIMORIAL) != 1:
            continue
        by_gmpy2 = bool(gmpy2.is_prime(N, 25))
        by_pari = bool(pari.ispseudoprime(int(N)))
        if by_gmpy2 != by_pari:
            raise SystemExit(f"{case['form']} {case['params']} value {v}: gmpy2 says {by_gmpy2}, PARI {by_pari}")
        if by_gmpy2:
            found.append(v)
    return found


def main() -> int:
    pari = cypari2.Pari()
    pari.allocatemem(2**28, silent=True)
    out = []
    for case in CASES:
        start = time.time()
        found = primes_of(case, pari)
        lo, hi = case["range"]
        print(f"{case['form']} {case['params']} {lo}..{hi}: {len(found)} primes ({time.time() - start:.0f} s)",
              file=sys.stderr)
        out.append({**case, "range": [lo, hi], "primes": found})
    OUT.write_text(json.dumps({
        "how": "every value of each range decided by gmpy2.is_prime(N, 25) and PARI ispseudoprime(N), which agreed "
               "on all; numbers with a factor below 20,000 skipped as composite (tests/engine/known_prime_counts.py)",
        "cases": out}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
