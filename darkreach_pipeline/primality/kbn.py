"""The test of N = k*b^n + c (c = +-1): a Gerbicz-checked Fermat base-3 chain, then Proth or LLR where they apply.

Every form whose numbers have this shape calls it, as peers: kbn itself, Cullen/Woodall (k = n, b = 2), base-2
repunits (the Mersenne numbers 1*2^n-1) and each member of twins and Sophie Germain pairs. Its Fermat residue is
the row's RES64 (PFGW's for the same N). With k*b^n = K*2^e (K odd): Proth for K*2^e+1 and LLR for K*2^e-1 when
K < 2^e; below 2^64 BPSW is deterministic; anything else stays a labelled probable prime.
"""

from __future__ import annotations

import gmpy2
from gmpy2 import mpz

from darkreach_pipeline.primality.fermat import deterministic_outcome, probable_prime_outcome
from darkreach_pipeline.primality.gerbicz import ChainReport, GerbiczChain, GerbiczError, Reducer
from darkreach_pipeline.primality.llr import llr_applies, llr_test
from darkreach_pipeline.primality.options import DEFAULT_OPTIONS, TestOptions
from darkreach_pipeline.primality.outcome import COMPOSITE, TestOutcome, res64
from darkreach_pipeline.primality.proth import proth_applies, proth_test
from darkreach_pipeline.primality.prp import DETERMINISTIC_LIMIT
from darkreach_pipeline.primality.special_form import split_power_of_two


def kbn_number(k: int, b: int, c: int, n: int) -> mpz:
    return mpz(k) * mpz(b) ** n + c


def kbn_fermat_chain(
    k: int, b: int, c: int, n: int, N: mpz, options: TestOptions = DEFAULT_OPTIONS
) -> tuple[mpz, mpz | None, ChainReport]:
    """3^(N-1) mod N by a Gerbicz-checked chain; also 3^((N-1)/2) when the chain passes through it.

    b a power of two: squarings of 3^K (N -+ 1 = K*2^e), special-form reduction. Other b: steps x -> x^b
    from 3^k (N -+ 1 = k*b^n). For c = -1 the chain ends at 3^(N+1).
    """
    if b & (b - 1) == 0:
        K, e = split_power_of_two(k, b, n)
        reducer = Reducer(N, K, e, c)
        chain = GerbiczChain(reducer, 3, K, e - 1 if c == 1 else e, check=options.check, faults=options.faults)
    else:
        reducer = Reducer(N, step=b)
        chain = GerbiczChain(reducer, 3, k, n, check=options.check, faults=options.faults)
    x = chain.run(**(options.chain_run or {}))
    if c == 1:
        if b & (b - 1):
            return x, None, chain.report
        squares = {reducer.reduce(x * x) for _ in range(2)}  # the one step after the chain, done twice
        if len(squares) != 1:
            raise GerbiczError("the last squaring disagreed with itself")
        return squares.pop(), x, chain.report
    if N % 3 == 0:
        return gmpy2.powmod(3, N - 1, N), None, chain.report
    return reducer.reduce(x * gmpy2.invert(9, N)), None, chain.report


def kbn_test(k: int, b: int, c: int, n: int, options: TestOptions = DEFAULT_OPTIONS) -> TestOutcome:
    """Fermat base 3 on every candidate (Gerbicz-checked), then a Proth or LLR proof for the probable primes.

    `options.chain_run` passes resume / on_verified / want_check / proof to the Fermat chain (checkpoints of
    long tests, Pietrzak proofs); `check=False` and `faults` exist for the fault-injection tests.
    """
    N = kbn_number(k, b, c, n)
    if N < DETERMINISTIC_LIMIT:
        return deterministic_outcome(N)
    fermat, half, report = kbn_fermat_chain(k, b, c, n, N, options)
    residue = res64(fermat)
    checked = report.outcome_fields()
    if fermat != 1:
        return TestOutcome(COMPOSITE, "fermat-3", residue, **checked)
    K, e = split_power_of_two(k, b, n)
    if c == 1 and proth_applies(K, e):
        return proth_test(N, K, e, residue, checked, half=half, check=options.check)
    if c == -1 and llr_applies(K, e):
        return llr_test(N, K, e, residue, checked)
    return probable_prime_outcome(N, residue, checked)
