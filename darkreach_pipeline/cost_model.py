"""The analytic cost model: what one test costs, what one sieve prime costs, and the sieve depth that balances them.

One home for the formula every form's auto sieve depth, the run timeouts (stores/costs.py), the strategist's
prices (strategy/cost.py) and benchmarks/bench_form_costs.py use. A form gives only what differs: whether its
Fermat test runs the special-form loop, its survival model and its sieve's cost per prime.
"""

from __future__ import annotations

import math
from collections.abc import Callable

# Seconds per bits^2 * log2(bits) of one Fermat test on GMP's special-form loop (K*2^e+-1, K < 2^64), measured
# here (benchmarks/RESULTS.md "Test cost per form"); a generic modulus (powmod) costs GENERIC_FACTOR times that.
SPECIAL_CONSTANT = 1.4e-10
GENERIC_FACTOR = 2.5
GENERIC_CONSTANT = SPECIAL_CONSTANT * GENERIC_FACTOR
MIN_BITS = 64.0  # below 2^64 a test is a deterministic BPSW: priced as a 64-bit Fermat test

MIN_DEPTH = 1e3
MAX_DEPTH = 2**32 - 1  # sieve primes are uint32
START_DEPTH = 1e5
# Rounds of the depth fixed point. The map contracts fast (survivors fall like 1/ln(depth)): 4 rounds are within
# 0.07% of the converged depth, 6 within 0.01%. The nine copies this module replaced ran 4 (most forms) or 6
# (pairs, n! and p#), and both counts are kept: a campaign's auto depth is part of its fingerprint, so a
# registered campaign whose depth moved would be refused as a different one when its file is read again
# (stores/registry.py). tests/engine/test_cost_model.py pins every template's depth to main's.
ROUNDS = 4
ROUNDS_PAIRS_AND_PRODUCTS = 6


def test_constant(special: bool) -> float:
    """Seconds per bits^2 * log2(bits): the special-form loop's or a generic modulus's."""
    return SPECIAL_CONSTANT if special else GENERIC_CONSTANT


def test_seconds(bits: float, special: bool) -> float:
    """Seconds one Fermat test of a number of `bits` bits costs on one core (GMP)."""
    bits = max(MIN_BITS, bits)
    return test_constant(special) * bits * bits * math.log2(bits)


def sieve_seconds_per_prime(setup_seconds: float, seconds_per_value: float, values: float) -> float:
    """Seconds one sieve prime costs over a block of `values` axis values: a fixed set-up plus a per-value step."""
    return setup_seconds + seconds_per_value * values


def balanced_depth(
    tests_saved: Callable[[float], float],
    test_seconds: float,
    seconds_per_prime: float | Callable[[float], float],
    *,
    start: float = START_DEPTH,
    floor: float = MIN_DEPTH,
    rounds: int = ROUNDS,
) -> int:
    """Depth P where one more sieve prime costs what the tests it saves cost (algorithms.md 7.5).

    With survivors S(P) ~ 1/ln P, dS/dP = -S/(P ln P), so the balance is P = S(P) * test / (sieve per prime):
    `tests_saved(depth)` is S(depth) times the strikes per prime (2 for pairs), `seconds_per_prime` a constant
    or a function of the depth. Deterministic, so a campaign gets the same depth on every machine.
    """
    depth = start
    for _ in range(rounds):
        per_prime = seconds_per_prime(depth) if callable(seconds_per_prime) else seconds_per_prime
        depth = max(floor, min(MAX_DEPTH, tests_saved(depth) * test_seconds / per_prime))
    return int(depth)


def rebalanced_depth(depth: float, speedup: float, rounds: int = 6) -> int:
    """The balanced depth when each test costs 1/speedup of what `depth` was balanced for (the FFT arithmetic).

    At the balance P = S(P) * test / (sieve per prime) with S(P) ~ 1/ln P, so P ln P scales with the test cost:
    P' ln P' = P ln P / speedup. Deterministic, like balanced_depth."""
    if speedup == 1.0:
        return int(depth)
    target = depth * math.log(depth) / speedup
    new = depth / speedup
    for _ in range(rounds):
        new = max(MIN_DEPTH, min(MAX_DEPTH, target / math.log(max(new, 3.0))))
    return int(new)

