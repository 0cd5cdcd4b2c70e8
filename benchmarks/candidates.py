"""Shared by the benchmarks: the 'sieved' k of a size, as a sieve would leave it."""

import functools

import gmpy2
from gmpy2 import mpz

from darkreach_pipeline.sieve.primes import small_primes


@functools.cache
def trial_product(bound: int = 100_000) -> mpz:
    product = mpz(1)
    for p in small_primes(bound)[1:].tolist():
        product *= p
    return product


def sieved_k(n: int, c: int = 1, bound: int = 100_000) -> int:
    """Smallest odd k >= 3 with k*2^n + c free of prime factors below `bound`."""
    k = 3
    while gmpy2.gcd((mpz(k) << n) + c, trial_product(bound)) != 1:
        k += 2
    return k
