"""P-1 bounds per candidate size: the (B1, B2) whose expected saving most exceeds its cost, or none.

GIMPS's rule (prime95's pm1 bound selection), with this product's costs: a P-1 run is worth its cost when
P(it finds a factor) x the tests a factor saves x seconds per test > seconds of P-1.

- P(factor): the candidate has no factor below the sieve depth 2^t; a prime factor p of ~k bits exists with
  probability ln((k+1)/k) per bit-size k > t (Mertens), and P-1 finds it when p - 1 is B1-smooth but for one
  prime <= B2: the semismooth probability G(a, b) = rho(a) + integral_{a-b}^{a-1} rho(s)/(a - s) ds with a =
  ln(p/2)/ln(B1), b = ln(B2)/ln(B1) (Dickman's rho; p - 1 is even, hence p/2). The expected number of findable
  factors is summed over k; P(at least one) = 1 - exp(-sum) (GIMPS's depths make the sum small, ours need not).
- Tests saved: the first test plus its double check (TESTS_SAVED = 2, GIMPS's count for a first-time test).
- Seconds per test: strategy/cost.py (the measured cost per form and size when a block has finished, else the
  model, FFT arithmetic included).
- Seconds of P-1: P-1 runs on the test's own arithmetic (factoring/p_minus_1.py), so its operations are priced
  in the test's squarings (seconds per test / bits): stage 1 ~ log2(E) = B1 / ln 2 steps of a squaring and a
  small multiplication (STAGE1_STEP squarings each), stage 2 PAIRED_SHARE products per prime in (B1, B2] plus
  one per giant step, each a conversion and a multiplication (STAGE2_PRODUCT squarings).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

TESTS_SAVED = 2.0
# Stage 2 products per prime in (B1, B2]: prime pairing covers both primes of m*D +- j with one product
# (0.8-0.9 with D = 2310 at B2 = 10^5..10^7), plus a giant step per D.
PAIRED_SHARE = 0.85
# In squarings of the test's arithmetic, at 3*2^100000+1 (benchmarks/RESULTS.md "P-1"): a stage-1 step (squaring,
# then x3 for a set bit) 1.33 on the FFT, 1.17 on GMP's special form; a stage-2 product (from_int + multiply)
# 3.9-4.4 on the FFT (100k and 20k bits), 1.5 on GMP. The FFT's figures are used (the larger).
STAGE1_STEP = 1.35
STAGE2_PRODUCT = 4.0
B2_RATIOS = (1, 10, 20, 50, 100)  # B2 / B1 tried (1: stage 1 only)
B1_GRID = tuple(int(round(1000 * 1.5**i)) for i in range(30))  # 1,000 .. ~1.3e8
MAX_FACTOR_BITS_OVER_DEPTH = 160  # factor sizes summed above the sieve depth (rho is negligible beyond)
_STEP = 1 / 256


@functools.lru_cache(maxsize=1)
def _rho_table(limit: float = 40.0) -> np.ndarray:
    """Dickman's rho on [0, limit] at step _STEP from u rho(u) = integral_{u-1}^{u} rho (trapezoid rule, solved
    for rho(u): every term is positive, so the tiny values at large u keep their relative accuracy)."""
    n = int(limit / _STEP) + 1
    lag = int(round(1 / _STEP))
    rho = np.ones(n)
    inner = (lag - 1) * 1.0  # sum of rho over the window's interior points, here all 1
    for i in range(lag + 1, n):
        inner += rho[i - 1] - rho[i - lag]  # the window moves one step: (i-lag, i) exclusive
        rho[i] = _STEP * (0.5 * rho[i - lag] + inner) / (i * _STEP - 0.5 * _STEP)
    return rho


def rho(u: np.ndarray | float) -> np.ndarray:
    table = _rho_table()
    return np.interp(np.asarray(u, dtype=float), np.arange(len(table)) * _STEP, table, right=0.0)


def semismooth(alpha: np.ndarray, beta: float, points: int = 64) -> np.ndarray:
    """G(alpha, beta): the probability that a random number x = B1^alpha has every prime factor <= B1 but one <= B2
    = B1^beta (beta = 1: rho(alpha), stage 1 alone)."""
    alpha = np.atleast_1d(np.asarray(alpha, dtype=float))
    out = rho(alpha)
    if beta <= 1:
        return out
    lo = np.maximum(alpha - beta, 0.0)
    hi = np.maximum(alpha - 1.0, lo)
    s = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, points)[None, :]
    f = rho(s) / np.maximum(alpha[:, None] - s, 1.0)
    return out + np.trapezoid(f, s, axis=1)


def factor_probability(bits: float, depth_bits: float, b1: int, b2: int) -> float:
    """P(P-1 with bounds b1, b2 finds a factor of a number of `bits` bits with no factor below 2^depth_bits)."""
    top = min(bits / 2, depth_bits + MAX_FACTOR_BITS_OVER_DEPTH)
    if top <= depth_bits:
        return 0.0
    k = np.arange(depth_bits, top, 1.0)
    exists = np.log((k + 1) / k)
    alpha = (k + 0.5 - 1) * math.log(2) / math.log(b1)  # p ~ 2^(k+1/2); p - 1 is even
    found = semismooth(alpha, math.log(b2) / math.log(b1))
    return float(-np.expm1(-np.sum(exists * found)))  # at least one: 1 - exp(-expected findable factors)


def squarings(b1: int, b2: int) -> float:
    """What a P-1 run with these bounds costs, in squarings of the test's arithmetic (stage 1 + stage 2, model)."""
    stage2 = 0.0
    if b2 > b1:
        primes = b2 / math.log(b2) - b1 / math.log(b1)
        stage2 = (PAIRED_SHARE * primes + (b2 - b1) / 2310 + 2310 / 2) * STAGE2_PRODUCT
    return b1 / math.log(2) * STAGE1_STEP + stage2


@dataclass(frozen=True)
class Bounds:
    """The chosen bounds and the figures behind them (seconds are per candidate)."""

    b1: int
    b2: int
    probability: float
    saved_seconds: float  # probability x TESTS_SAVED x seconds per test
    cost_seconds: float

    @property
    def net_seconds(self) -> float:
        return self.saved_seconds - self.cost_seconds


def evaluate(bits: float, depth: int, test_seconds: float, b1: int, b2: int, tests_saved: float = TESTS_SAVED
             ) -> Bounds:
    """The expected saving and the cost of P-1 with (b1, b2) on one candidate (a test: one squaring per bit)."""
    probability = factor_probability(bits, math.log2(max(depth, 2)), b1, b2)
    return Bounds(b1, b2, probability, probability * tests_saved * test_seconds,
                  squarings(b1, b2) * test_seconds / max(bits, 1.0))


def choose_bounds(bits: float, depth: int, test_seconds: float, tests_saved: float = TESTS_SAVED) -> Bounds | None:
    """The bounds with the largest expected net saving for a candidate of `bits` bits sieved to `depth` whose test
    costs `test_seconds`; None when no bounds save more than they cost (P-1 is skipped for it)."""
    best = None
    for b1 in B1_GRID:
        for ratio in B2_RATIOS:
            option = evaluate(bits, depth, test_seconds, b1, b1 * ratio, tests_saved)
            if best is None or option.net_seconds > best.net_seconds:
                best = option
    return best if best is not None and best.net_seconds > 0 else None
