"""sieve_kbn against brute-force trial division, and the prime generator against gmpy2 and PARI."""

from __future__ import annotations

import random

import gmpy2
import numpy as np
import pytest
from gmpy2 import mpz
from oracles import pari

from darkreach_pipeline.sieve.kbn import sieve_kbn
from darkreach_pipeline.sieve.primes import prime_chunks, small_primes


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


# ----- large primes (p > 2^21, up to 2^32): the compiled kernel against a residue recurrence -------


def recurrence_oracle(k: int, b: int, c: int, lo: int, hi: int, primes: np.ndarray) -> np.ndarray:
    """Smallest p in `primes` (ascending, < 2^32) with p | k*b^n + c and p != N, 0 if none: N mod p for
    all primes at once, advanced n -> n+1 by one multiplication (products of residues < 2^32 fit in uint64)."""
    r = np.array([k * pow(b, lo, p) % p for p in primes.tolist()], dtype=np.uint64)
    b_mod = np.array([b % p for p in primes.tolist()], dtype=np.uint64)
    neg_c = np.array([-c % p for p in primes.tolist()], dtype=np.uint64)
    out = np.zeros(hi - lo, dtype=np.uint64)
    for i in range(hi - lo):
        n = lo + i
        for p in primes[r == neg_c].tolist():
            if n >= 64 or k * b**n + c != p:
                out[i] = p
                break
        r = r * b_mod % primes
    return out


def window(lo: int, hi: int) -> np.ndarray:
    return np.concatenate([np.zeros(0, dtype=np.uint64), *prime_chunks(lo, hi)])


def planted_k(b: int, c: int, hits: list[tuple[int, int]], cofactor: int = 1) -> int:
    """A k with p | k*b^n + c for every (p, n) in hits (CRT), times a multiple of the product."""
    k, modulus = 0, 1
    for p, n in hits:
        want = -c * pow(b, -n, p) % p
        k += modulus * ((want - k) * pow(modulus, -1, p) % p)
        modulus *= p
    return k + cofactor * modulus


NEAR_2_32 = [4294967291, 4294967279, 4294967231, 4294967197]
LARGE_CASES = [
    # (k, b, c, lo, hi, prime window): b = 2, 3, 10, 2^k; even k; k sharing b's factors; planted hits
    (3, 2, 1, 1000, 4000, (2**21, 2**21 + 150_000)),
    (3, 2, -1, 0, 3000, (2**22 - 150_000, 2**22 + 50_000)),
    (2, 3, 1, 1, 2500, (2**21 + 10**5, 2**21 + 2 * 10**5)),
    (7, 10, -1, 100, 2600, (3 * 10**6, 3 * 10**6 + 10**5)),
    (5, 16, 1, 0, 3000, (2**23, 2**23 + 10**5)),
    (3, 1024, -1, 0, 2000, (2**21, 2**21 + 10**5)),
    (96, 2, 1, 0, 3000, (2**21, 2**21 + 10**5)),  # even k = 3*2^5
    (70, 10, 1, 0, 2500, (2**24, 2**24 + 10**5)),  # k = 7*10
    (12, 6, -1, 0, 2500, (2**25, 2**25 + 10**5)),  # k = 2*6
    (planted_k(2, 1, [(4294967291, 1234), (4294967279, 1500), (4294967231, 2999)]), 2, 1, 1000, 3000,
     (2**32 - 2000, 2**32 - 1)),
    (planted_k(2, -1, [(4294967291, 5000), (4294967197, 5001)], cofactor=3), 2, -1, 4000, 7000,
     (2**32 - 120_000, 2**32 - 1)),
    (planted_k(3, 1, [(4294967279, 17), (4294967231, 900)]), 3, 1, 0, 1000, (2**32 - 2000, 2**32 - 1)),
    (planted_k(10, -1, [(4294967291, 4), (4294967231, 2400)], cofactor=2), 10, -1, 1, 2500,
     (2**32 - 100_000, 2**32 - 1)),
    (planted_k(16, 1, [(4294967197, 77)]), 16, 1, 0, 800, (2**32 - 2000, 2**32 - 1)),
]


@pytest.mark.parametrize(("k", "b", "c", "lo", "hi", "prime_window"), LARGE_CASES)
def test_large_primes_match_recurrence(k, b, c, lo, hi, prime_window) -> None:
    primes = window(*prime_window)
    assert len(primes) > 0 and int(primes[-1]) < 2**32
    factors = sieve_kbn(k, b, c, lo, hi, prime_chunks(*prime_window, 3000))
    expected = recurrence_oracle(k, b, c, lo, hi, primes)
    assert np.array_equal(factors, expected), [(lo + i, int(f), int(e)) for i, (f, e) in
                                                enumerate(zip(factors, expected, strict=True)) if f != e][:10]
    for p in NEAR_2_32:  # every planted hit inside the window and range is found
        if prime_window[0] <= p <= prime_window[1]:
            for n in range(lo, hi):
                if (k * pow(b, n, p) + c) % p == 0:
                    assert 0 < factors[n - lo] <= p


def test_planted_hits_near_2_32_are_found() -> None:
    hits = [(4294967291, 1234), (4294967279, 1500), (4294967231, 2999)]
    k = planted_k(2, 1, hits)
    factors = sieve_kbn(k, 2, 1, 1000, 3000, prime_chunks(2**32 - 2000, 2**32 - 1))
    assert {(int(factors[n - 1000]), n) for _, n in hits} == set(hits)
    assert np.count_nonzero(factors) == len(hits)  # no over-removal: nothing else in the window divides
