"""sieve_kbn against brute-force trial division, and the prime generator against gmpy2 and PARI."""

from __future__ import annotations

import random

import cypari2
import gmpy2
import numpy as np
import pytest
from gmpy2 import mpz

from darkreach_pipeline.sieve.kbn import sieve_kbn
from darkreach_pipeline.sieve.primes import prime_chunks, small_primes

pari = cypari2.Pari()


def trial_division(k: int, b: int, c: int, lo: int, hi: int, depth: int) -> list[int | None]:
    """Smallest prime p <= depth with p | N and p != N, 0 if none; None where N < 2 (0 and 1 are
    excluded before sieving, so the sieve's value there does not matter)."""
    primes = [int(p) for p in small_primes(depth)]
    out: list[int | None] = []
    for n in range(lo, hi):
        N = mpz(k) * mpz(b) ** n + c
        if N < 2:
            out.append(None)
            continue
        out.append(next((p for p in primes if N % p == 0 and N != p), 0))
    return out


def assert_matches_trial_division(factors: np.ndarray, k: int, b: int, c: int, lo: int, hi: int, depth: int) -> None:
    assert factors.shape == (max(0, hi - lo),)
    expected = trial_division(k, b, c, lo, hi, depth)
    wrong = [(lo + i, int(got), want) for i, (got, want) in enumerate(zip(factors, expected, strict=True))
             if want is not None and int(got) != want]
    assert not wrong, f"(n, sieve, trial division) for {k}*{b}^n{c:+d}: {wrong[:10]}"


def random_cases(count: int, seed: int) -> list[tuple[int, int, int, int, int, int, int, int]]:
    """(k, b, c, lo, hi, depth, segment, batch)."""
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        k = rng.choice([1, 2, 3, 5, 7, 9, 15, 27, 1003, rng.randrange(1, 10**6), rng.randrange(2**32, 2**62)])
        b = rng.choice([2, 3, 4, 5, 6, 7, 8, 10, 12, 16, 30, 31, 100, rng.randrange(2, 1000)])
        c = rng.choice([1, -1])
        lo = rng.choice([0, 0, 1, 2, rng.randrange(0, 400)])
        hi = lo + rng.randrange(1, 250)
        depth = rng.choice([2, 3, 100, 1000, 5000, 20000, 20000])
        segment = rng.choice([1, 2, 7, 64, 1 << 22, 1 << 22, 1 << 22])
        batch = rng.choice([0, 0, 0, 1, 3, 17])
        if segment < 64 or 0 < batch < 17:  # one BSGS call per tiny chunk or batch: keep them few
            depth = min(depth, 1000)
        cases.append((k, b, c, lo, hi, depth, segment, batch))
    return cases


@pytest.mark.parametrize(("k", "b", "c", "lo", "hi", "depth", "segment", "batch"), random_cases(40, seed=2024))
def test_random_cases_match_trial_division(k, b, c, lo, hi, depth, segment, batch) -> None:
    factors = sieve_kbn(k, b, c, lo, hi, prime_chunks(2, depth, segment), batch=batch)
    assert_matches_trial_division(factors, k, b, c, lo, hi, depth)


EDGE_CASES = [
    # (k, b, c, lo, hi, depth, segment, batch)
    (3, 2, 1, 0, 12, 100, 1 << 22, 0),  # N = 13 (n = 2) and 97 (n = 5) are sieve primes: not struck
    (3, 2, 1, 0, 12, 97, 5, 1),  # depth exactly 97
    (3, 2, -1, 0, 40, 1000, 3, 2),  # N = 2, 5, 11, 23, 47, ...
    (1, 10, 1, 0, 200, 120, 1 << 22, 0),  # small orders: 11 (ord 2), 101 (ord 4), 7 and 13 (ord 6)
    (1, 10, -1, 1, 200, 120, 4, 3),  # 37 (ord 3), 41 and 271 too deep
    (7, 10, -1, 0, 150, 2000, 1 << 22, 0),  # 3 divides every N
    (24, 10, 1, 0, 30, 100, 1 << 22, 0),  # N(0) = 25: 5 divides b, found by the direct n = 0 check
    (4, 10, 1, 0, 30, 100, 1 << 22, 0),  # N(0) = 5 is a sieve prime: not struck
    (14, 10, 1, 0, 30, 100, 2, 1),  # N(0) = 15
    (3, 5, 1, 0, 120, 50, 1 << 22, 0),  # b odd, k odd: N even, 2 everywhere
    (1, 3, 1, 0, 60, 30, 1, 1),  # N(0) = 2 is prime
    (1, 3, -1, 0, 60, 30, 1, 1),  # N(0) = 0 (excluded), N(1) = 2
    (2, 3, -1, 0, 60, 300, 7, 2),  # N(0) = 1 (excluded)
    (1, 2, -1, 0, 130, 3000, 1 << 22, 0),  # Mersenne: ord_p(2) small for many p
    (2**40 + 5, 6, -1, 0, 150, 3000, 64, 5),  # k >= 2^32
    (2**61 + 1, 2, 1, 0, 100, 5000, 1 << 22, 0),
    (1, 2147483647, 1, 0, 60, 2000, 1 << 22, 0),  # b = 2^31 - 1
    (5, 6, 1, 10000, 10030, 20000, 1 << 22, 0),  # large lo
    (9, 2, 1, 0, 300, 2, 1, 1),  # depth 2: only the prime 2
    (9, 2, 1, 0, 300, 1, 1, 1),  # no primes at all
    (15, 2, 1, 5, 6, 1000, 1 << 22, 0),  # a single n
]


@pytest.mark.parametrize(("k", "b", "c", "lo", "hi", "depth", "segment", "batch"), EDGE_CASES)
def test_edge_cases_match_trial_division(k, b, c, lo, hi, depth, segment, batch) -> None:
    factors = sieve_kbn(k, b, c, lo, hi, prime_chunks(2, depth, segment), batch=batch)
    assert_matches_trial_division(factors, k, b, c, lo, hi, depth)


def test_sieve_prime_equal_to_n_is_never_struck() -> None:
    factors = sieve_kbn(3, 2, 1, 0, 12, prime_chunks(2, 100))
    assert 3 * 2**5 + 1 == 97 and 3 * 2**2 + 1 == 13
    assert factors[5] == 0 and factors[2] == 0
    assert factors[3] == 5  # 25
    small = sieve_kbn(4, 10, 1, 0, 3, prime_chunks(2, 100))
    assert small[0] == 0  # N = 5
    assert sieve_kbn(24, 10, 1, 0, 1, prime_chunks(2, 100))[0] == 5  # N = 25, 5 | b


def test_small_order_primes_are_found() -> None:
    factors = sieve_kbn(1, 10, 1, 1, 200, prime_chunks(2, 120), batch=7)
    found = {int(f) for f in factors}
    assert {7, 11, 101} <= found  # 11 | 10^n+1 (n odd, unless 7 | N), 101 | 10^n+1 (n = 2 mod 4)


@pytest.mark.parametrize("pieces", [1, 2, 5, 33])
def test_arbitrary_chunking_gives_the_same_answer(pieces: int) -> None:
    primes = small_primes(5000)
    rng = np.random.default_rng(pieces)
    cuts = np.sort(rng.integers(0, len(primes), size=pieces - 1))
    chunks = np.split(primes, cuts)  # uneven, possibly empty chunks
    reference = sieve_kbn(1003, 6, -1, 0, 300, [primes])
    assert np.array_equal(sieve_kbn(1003, 6, -1, 0, 300, chunks, batch=3), reference)
    assert_matches_trial_division(reference, 1003, 6, -1, 0, 300, 5000)


def residue_recurrence(k: int, b: int, c: int, lo: int, hi: int, depth: int) -> np.ndarray:
    """Brute force for long ranges: N mod p for every p <= depth, advanced n -> n+1 by one multiplication."""
    primes = small_primes(depth)
    r = np.array([k % p * pow(b, lo, p) % p for p in primes.tolist()], dtype=np.uint64)
    b_mod = np.uint64(b) % primes
    c_mod = np.uint64(1) if c == 1 else primes - np.uint64(1)
    out = np.zeros(hi - lo, dtype=np.uint64)
    for i in range(hi - lo):
        n = lo + i
        for j in np.flatnonzero((r + c_mod) % primes == 0).tolist():
            p = int(primes[j])
            if n >= 64 or k * b**n + c != p:
                out[i] = p
                break
        r = r * b_mod % primes
    return out


@pytest.mark.parametrize(("k", "b", "c", "lo", "hi", "depth"), [
    (1003, 6, 1, 0, 3000, 100_000),
    (3, 2, -1, 10_000, 14_000, 200_000),
    (2**40 + 1, 10, -1, 1, 2500, 100_000),
])
def test_long_ranges_match_residue_recurrence(k, b, c, lo, hi, depth) -> None:
    factors = sieve_kbn(k, b, c, lo, hi, prime_chunks(2, depth, 20_000))
    assert np.array_equal(factors, residue_recurrence(k, b, c, lo, hi, depth))


def test_progress_empty_range_and_prime_limit() -> None:
    seen: list[int] = []
    sieve_kbn(3, 2, 1, 0, 50, prime_chunks(2, 10_000, 1000), progress=seen.append)
    assert sum(seen) == len(small_primes(10_000))
    assert len(sieve_kbn(3, 2, 1, 10, 10, prime_chunks(2, 100))) == 0
    with pytest.raises(ValueError):
        sieve_kbn(3, 2, 1, 0, 10, [np.array([2**32 + 15], dtype=np.uint64)])


# ----- the prime generator ------------------------------------------------------------------------


def test_small_primes_against_gmpy2_and_pari() -> None:
    for limit in range(0, 300):
        assert small_primes(limit).tolist() == [p for p in range(limit + 1) if gmpy2.is_prime(p)], limit
    for limit in (10**5, 10**6, 2 * 10**6 + 1):
        primes = small_primes(limit)
        assert primes.dtype == np.uint64
        assert len(primes) == int(pari.primepi(limit))
        assert np.all(np.diff(primes.astype(np.int64)) > 0)
    assert small_primes(10**6).tolist() == [int(p) for p in pari.primes([2, 10**6])]


WINDOWS = [(0, 1, 10), (0, 2, 10), (2, 2, 1), (3, 3, 1), (4, 4, 1), (97, 97, 1), (5, 4, 3), (0, 1000, 1),
           (0, 1000, 2), (1, 10_000, 7), (10**6, 10**6 + 5000, 3), (10**9, 10**9 + 20_000, 1000),
           (2**32 - 30_000, 2**32 - 1, 4096), (2**31 - 1, 2**31 + 10_000, 1 << 22), (0, 3 * 10**5, 1 << 22)]


@pytest.mark.parametrize(("lo", "hi", "segment"), WINDOWS)
def test_prime_chunks_against_gmpy2(lo: int, hi: int, segment: int) -> None:
    chunks = list(prime_chunks(lo, hi, segment))
    for chunk in chunks:
        assert chunk.dtype == np.uint64
        assert len(chunk) <= max(segment, 1)
    got = [int(p) for chunk in chunks for p in chunk]
    assert got == [x for x in range(lo, hi + 1) if gmpy2.is_prime(x)]
    if hi <= 3 * 10**5:
        assert got == [p for p in small_primes(hi).tolist() if p >= lo]


def test_prime_chunks_random_shifted_windows() -> None:
    rng = random.Random(5)
    for _ in range(30):
        lo = rng.randrange(0, 10**8)
        hi = lo + rng.randrange(0, 3000)
        segment = rng.choice([64, 1000, 1 << 22])
        got = [int(p) for chunk in prime_chunks(lo, hi, segment) for p in chunk]
        assert got == [x for x in range(lo, hi + 1) if gmpy2.is_prime(x)], (lo, hi, segment)
