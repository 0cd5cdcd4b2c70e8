"""Prime factorization of the small numbers a form's parameters are (b, k, n < 2^63): trial division, then Pollard rho.

One helper for every form: the kbn-shaped forms factor b (algebraic exclusions, Pocklington / Morrison's known
primes), GFN factors b for Pocklington, Cullen/Woodall the exponent of n*2^n.
"""

from __future__ import annotations

import math

from darkreach_pipeline.primality.prp import is_prime_small

TRIAL_LIMIT = 1 << 10


def small_factors(x: int) -> dict[int, int]:
    """{prime: exponent} of 1 <= x < 2^64: trial division to 2^10, then Pollard rho on what is left."""
    out: dict[int, int] = {}
    for q in (2, *range(3, TRIAL_LIMIT, 2)):
        while x % q == 0:
            out[q] = out.get(q, 0) + 1
            x //= q
    stack = [x] if x > 1 else []
    while stack:
        y = stack.pop()
        if is_prime_small(y):
            out[y] = out.get(y, 0) + 1
            continue
        d = _rho(y)
        stack += [d, y // d]
    return dict(sorted(out.items()))


def prime_divisors(x: int) -> list[int]:
    """The distinct primes of x, ascending."""
    return list(small_factors(x))


def _rho(n: int) -> int:
    """A non-trivial factor of the composite n (odd, no factor below 2^10): Floyd's cycle search."""
    for c in range(1, 100):
        x = y = 2
        d = 1
        while d == 1:
            x = (x * x + c) % n
            y = (y * y + c) % n
            y = (y * y + c) % n
            d = math.gcd(abs(x - y), n)
        if d != n:
            return d
    raise ArithmeticError(f"no factor of {n} found")
