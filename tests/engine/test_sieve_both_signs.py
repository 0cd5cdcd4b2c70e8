"""Both signs in one carried-product sieve (sieve_signs): n!+1 and n!-1, p#+1 and p#-1 from one walk equal each
sign sieved alone and trial division by every sieve prime (the smallest factor, never the number itself)."""

from __future__ import annotations

import gmpy2
import numpy as np
import pytest

from darkreach_pipeline.forms.factorial import FactorialForm
from darkreach_pipeline.forms.primorial import PrimorialForm
from darkreach_pipeline.sieve.primes import prime_chunks, small_primes

DEPTH = 20_000


def smallest_factor(N: int, primes: list[int]) -> int:
    return next((q for q in primes if N % q == 0 and N != q), 0)


@pytest.mark.parametrize(("cls", "lo", "hi"), [(FactorialForm, 0, 260), (PrimorialForm, 1, 700)])
def test_both_signs_in_one_walk_equal_each_sign_alone_and_trial_division(cls, lo, hi):
    both = cls(1).sieve_signs(lo, hi, prime_chunks(2, DEPTH))
    primes = small_primes(DEPTH).tolist()
    for c in (1, -1):
        form = cls(c)
        alone = form.sieve(lo, hi, prime_chunks(2, DEPTH))
        assert both[c].tolist() == alone.tolist()
        assert np.count_nonzero(alone) > sum(form.excluded(v) is None for v in range(lo, hi)) // 3
        for v in range(lo, hi, 3):
            expected = 0 if form.excluded(v) else smallest_factor(int(gmpy2.mpz(form.number(v))), primes)
            assert int(both[c][v - lo]) == expected, (c, v)
