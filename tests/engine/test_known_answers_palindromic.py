"""Known answers for PalindromicForm (base-b palindromes with a given digit count) against two oracles and OEIS.

The expected answers are never taken from the engine: the palindromes are built here by mirroring digits
(all of them, including the even lengths and leading digits the engine skips), each is decided by PARI/GP
(isprime, a proof) and by gmpy2.is_prime, which must agree, and the counts are checked against OEIS. The
engine runs as the pipeline runs it: parse_campaign, then candidate_frame, sieve_frame, test_frame and
certificate_frame for every block, audited by checks.py; above 2^64 (beyond what a campaign may cover) the
same form calls are made directly on windows of candidate indexes.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import gmpy2
import pytest
from oracles import BlockRun, is_prime_two_oracles, run_blocks

from darkreach_pipeline.blocks import EXCLUDED, FACTOR, SURVIVOR
from darkreach_pipeline.campaign import load_campaign, parse_campaign
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.forms.palindromic import PalindromicForm
from darkreach_pipeline.primality.outcome import COMPOSITE, PRIME, PROBABLE_PRIME
from darkreach_pipeline.sieve.primes import prime_chunks, small_primes

REPO = Path(__file__).resolve().parents[2]
MASK64 = (1 << 64) - 1

# A002385, palindromic primes: the first 30 terms; A016115, palindromic primes with n digits, n = 1..7.
A002385 = [2, 3, 5, 7, 11, 101, 131, 151, 181, 191, 313, 353, 373, 383, 727, 757, 787, 797, 919, 929, 10301,
           10501, 10601, 11311, 11411, 12421, 12721, 12821, 13331, 13831]
A016115 = {1: 4, 2: 1, 3: 15, 4: 0, 5: 93, 6: 0, 7: 668}
# A117697, palindromic primes in base 2 (written in base 10): the first terms.
A117697 = [3, 5, 7, 17, 31, 73, 107, 127, 257, 313, 443]


def to_digits(N: int, base: int) -> list[int]:
    out = []
    while N:
        N, r = divmod(N, base)
        out.append(r)
    return out[::-1] or [0]


def all_palindromes(base: int, d: int) -> list[int]:
    """Every d-digit palindrome (leading digit non-zero), increasing: each first half mirrored."""
    half = (d + 1) // 2
    out = []
    for x in range(base ** (half - 1), base**half):
        digits = to_digits(x, base)
        full = digits + (digits[-2::-1] if d % 2 else digits[::-1])
        out.append(sum(a * base**i for i, a in enumerate(reversed(full))))
    return out


def eligible(N: int, base: int) -> bool:
    """A palindrome the engine must enumerate: 1 digit >= 2, b+1, or >= 3 digits (odd) with a coprime lead."""
    digits = to_digits(N, base)
    if len(digits) == 1:
        return N >= 2
    if len(digits) == 2:
        return N == base + 1
    return len(digits) % 2 == 1 and math.gcd(digits[0], base) == 1


def first_index(base: int, d: int) -> int:
    """Index of the first d-digit candidate, from the counts: b-2, 1, 0, phi'*b, 0, phi'*b^2, ..."""
    coprime = sum(1 for a in range(1, base) if math.gcd(a, base) == 1)
    counts = {1: base - 2, 2: 1}
    return sum(counts.get(e, coprime * base ** ((e - 1) // 2) if e % 2 else 0) for e in range(1, d))


@functools.cache
def primes_and_product(depth: int) -> tuple[list[int], gmpy2.mpz]:
    primes = [int(q) for q in small_primes(depth)]
    return primes, functools.reduce(lambda x, y: x * y, map(gmpy2.mpz, primes), gmpy2.mpz(1))


def smallest_factor_by_trial_division(N: int, depth: int) -> int:
    """Smallest prime q <= depth with q | N and q != N, else 0 (a gcd with the primorial first, for speed)."""
    primes, product = primes_and_product(depth)
    g = int(gmpy2.gcd(N, product))
    if g == 1 or g == N:  # g == N: N is a prime <= depth (the primorial is squarefree), or N = 1
        return 0 if g == 1 or gmpy2.is_prime(N) else next(q for q in primes if N % q == 0)
    return next(q for q in primes if g % q == 0 and q != N)


def run_pipeline(base: int, digits_min: int, digits_max: int, block_size: int, depth: int | str) -> BlockRun:
    """Every block of the campaign through the four stages, each audited as the asset checks do."""
    return run_blocks({"name": f"pal-{base}", "form": "palindromic", "base": base, "digits_min": digits_min,
                       "digits_max": digits_max, "block_size": block_size, "sieve_depth": depth})


def check_run(run: BlockRun, base: int, digits_min: int, digits_max: int) -> set[int]:
    """The full result set equals the oracles' over every palindrome; sieve, RES64 and proofs hold. Returns it."""
    form: PalindromicForm = run.form
    sieved, results, certs, spec = run.sieved, run.results, run.certs, run.spec
    palindromes = [N for d in range(digits_min, digits_max + 1) for N in all_palindromes(base, d)]
    expected = {N for N in palindromes if is_prime_two_oracles(N)}
    candidates = [N for N in palindromes if eligible(N, base)]
    assert not expected - set(candidates), "a prime the engine does not enumerate"
    # the engine's candidates, in index order: exactly the eligible palindromes, increasing
    numbers = [int(form.number(int(v))) for v in sieved["candidate"]]
    assert numbers == candidates
    assert (sieved["status"] != EXCLUDED).all()
    found = {int(form.number(int(v))) for v in results.loc[results["result"].isin([PRIME, PROBABLE_PRIME]),
                                                          "candidate"]}
    assert found == expected, f"missed {sorted(expected - found)[:10]}, extra {sorted(found - expected)[:10]}"
    for row in sieved.to_dict("records"):
        N, q = int(form.number(int(row["candidate"]))), int(row["factor"])
        if row["status"] == FACTOR:
            assert gmpy2.is_prime(q) and q <= spec.sieve_depth and N % q == 0 and q != N, row
        else:
            assert q == 0, row
    for row in results.to_dict("records"):
        N = int(form.number(int(row["candidate"])))
        assert row["base"] == base and row["expression"] == form.expression(int(row["candidate"]))
        assert row["res64"] == format(pow(3, N - 1, N) & MASK64, "016x"), row
        assert row["residue_type"] == "fermat-3"
        if row["result"] != COMPOSITE:
            assert row["result"] == PRIME and row["method"] == "bpsw-below-2^64" and N < 2**64, row
    assert certs["verified"].all() and (certs["status"] == "proven").all() and len(certs) == len(expected)
    return expected


def test_base10_one_to_seven_digits_equals_oracles_and_oeis() -> None:
    run = run_pipeline(10, 1, 7, 1000, "auto")
    assert run.spec.sieve_depth <= math.isqrt(10**7) + 1
    expected = check_run(run, 10, 1, 7)
    assert sorted(expected)[: len(A002385)] == A002385
    for d, count in A016115.items():
        assert sum(1 for N in expected if len(str(N)) == d) == count, d
    assert len(expected) == 781  # A050251(7): palindromic primes below 10^7


def test_base2_up_to_25_digits_equals_oracles_and_oeis() -> None:
    run = run_pipeline(2, 1, 25, 5000, 2000)
    expected = check_run(run, 2, 1, 25)
    assert sorted(expected)[: len(A117697)] == A117697
    assert (run.sieved["status"] == SURVIVOR).sum() < 0.2 * len(run.sieved)


@pytest.mark.parametrize(("base", "digits_max"), [(3, 11), (6, 7), (7, 7), (16, 5), (36, 3), (10, 5)])
def test_shallow_sieve_sends_composites_to_the_test(base: int, digits_max: int) -> None:
    """Sieve depth 3: nearly every candidate reaches the deterministic test, which must sort them right."""
    run = run_pipeline(base, 1, digits_max, 700, 3)
    check_run(run, base, 1, digits_max)
    assert (run.results["result"] == COMPOSITE).sum() > 0.5 * len(run.results)


# (base, digit count, first index inside that digit count, window): all above 2^64, so Fermat + ECPP.
WINDOWS = [(10, 21, 1_234_567_890, 500), (2, 67, 5_000_000_000, 500), (7, 25, 3 * 7**12 + 7, 400)]


@pytest.mark.parametrize(("base", "d", "j0", "size"), WINDOWS, ids=[f"b={w[0]},d={w[1]}" for w in WINDOWS])
def test_windows_above_2_to_the_64(base: int, d: int, j0: int, size: int) -> None:
    """Candidate indexes deep inside a digit count: the numbers, the sieve, Fermat + ECPP, the certificates."""
    form = PalindromicForm(base)
    lo = first_index(base, d) + j0
    h = (d - 1) // 2
    coprime = [a for a in range(1, base) if math.gcd(a, base) == 1]
    numbers = []
    for j in range(j0, j0 + size):  # the j-th eligible first half (coprime leading digit, increasing), mirrored
        lead, rest = divmod(j, base**h)
        tail = to_digits(rest, base) if rest else []
        half = [coprime[lead], *([0] * (h - len(tail))), *tail]
        numbers.append(sum(a * base**i for i, a in enumerate(half + half[-2::-1])))  # symmetric: order is moot
    assert [int(form.number(v)) for v in range(lo, lo + size)] == numbers
    assert all(N >= 2**64 for N in numbers)
    assert all(b > a for a, b in zip(numbers, numbers[1:], strict=False))

    depth = 30_000
    assert all(form.excluded(v) is None for v in range(lo, lo + size))
    factors = form.sieve(lo, lo + size, prime_chunks(2, depth))
    found = set()
    for v, N, q in zip(range(lo, lo + size), numbers, factors.tolist(), strict=True):
        assert q == smallest_factor_by_trial_division(N, depth), (N, q)
        if q:
            assert N % q == 0 and form.residue_mod(v, q) == 0
            continue
        out = form.test(v)
        assert out.res64 == format(pow(3, N - 1, N) & MASK64, "016x") and out.residue_type == "fermat-3"
        if out.result != COMPOSITE:
            found.add(N)
            assert out.result == PRIME and out.method == "ecpp", out
            ok, reason = form.verify(v, out.certificate)
            assert ok, reason
    expected = {N for N in numbers if is_prime_two_oracles(N)}
    assert found == expected and len(expected) >= 10


@pytest.mark.parametrize(("base", "lo", "hi", "depth"), [
    (10, 0, 4449, 3000), (10, 0, 60, 100), (2, 0, 400, 50_000), (6, 0, 300, 2000), (36, 0, 600, 40_000),
    (10, 4449 + 40_000 + 4_000_000 + 3, 4449 + 40_000 + 4_000_000 + 2503, 20_000), (2, 2**30 - 700, 2**30 + 800, 5000),
])
def test_sieve_agrees_with_trial_division(base: int, lo: int, hi: int, depth: int) -> None:
    """The smallest prime <= depth dividing each candidate, never the candidate itself (2, 3, 5, 7, 11 in base
    10; "11" = 3 in base 2, = 7 in base 6, = 37 in base 36 are primes below the depth)."""
    form = PalindromicForm(base)
    seen: list[int] = []
    factors = form.sieve(lo, hi, prime_chunks(2, depth), seen.append)
    assert factors.dtype.kind == "i" and factors.shape == (hi - lo,)
    assert sum(seen) == len(small_primes(depth))
    for v in range(lo, hi):
        N = int(form.number(v))
        assert int(factors[v - lo]) == smallest_factor_by_trial_division(N, depth), (base, v, N)
    if lo == 0:
        tiny = {int(form.number(v)) for v in range(lo, hi) if factors[v - lo] == 0}
        assert {p for p in (2, 3, 5, 7, 11, base + 1) if eligible(p, base) and gmpy2.is_prime(p)} <= tiny


def test_traps_even_digit_counts_and_leading_digits() -> None:
    """Even lengths: all divisible by b+1 (the engine enumerates only b+1 itself); leading digit sharing a prime
    with b: that prime divides N. The oracles confirm no prime hides there; the one-digit 2 and 5 are kept."""
    for base, d in ((10, 4), (10, 6), (2, 8), (2, 12), (7, 4), (16, 4)):
        for N in all_palindromes(base, d):
            assert N % (base + 1) == 0 and not is_prime_two_oracles(N)
    for N in all_palindromes(10, 5):
        if str(N)[0] in "024568":
            assert not is_prime_two_oracles(N)
    form = PalindromicForm(10)
    assert [int(form.number(v)) for v in range(9)] == [2, 3, 4, 5, 6, 7, 8, 9, 11]
    assert form.axis_bounds({"base": 10}, 4, 4)[0] > form.axis_bounds({"base": 10}, 4, 4)[1]
    assert form.axis_bounds({"base": 10}, 4, 6) == form.axis_bounds({"base": 10}, 5, 5)
    assert form.axis_bounds({"base": 10}, 2, 2) == (8, 8)
    assert PalindromicForm(2).axis_bounds({"base": 2}, 1, 1)[1] < 0  # base 2 has no one-digit candidate
    for v, N in ((0, 2), (3, 5), (8, 11)):
        out = form.test(v)
        assert int(form.number(v)) == N and out.result == PRIME and form.verify(v, out.certificate)[0]
    for base in (2, 3, 10, 36):  # a leading digit sharing a prime with b is never enumerated
        f = PalindromicForm(base)
        lo, hi = f.axis_bounds({"base": base}, 3, 5)
        assert all(math.gcd(to_digits(int(f.number(v)), base)[0], base) == 1 for v in range(lo, min(hi, lo + 3000)))


def test_certificates_are_checked_and_tampering_is_rejected() -> None:
    form = PalindromicForm(10)
    lo = first_index(10, 23)
    proofs = []
    for v in range(lo + 10**6, lo + 10**6 + 600):
        out = form.test(v)
        if out.result == PRIME:
            proofs.append((v, out.certificate))
        if len(proofs) == 2:
            break
    (v, cert), (w, other) = proofs
    assert cert["method"] == "ecpp" and form.verify(v, cert)[0] and form.verify(w, other)[0]
    assert not form.verify(w, cert)[0], "a certificate for another number must not verify"
    text = cert["certificate"]
    digit_at = text.index(",") + 3  # inside t of the first step
    flipped = text[:digit_at] + str((int(text[digit_at]) + 1) % 10) + text[digit_at + 1 :]
    assert not form.verify(v, {**cert, "certificate": flipped})[0]
    steps = json.loads(text)  # PARI's printed form is a nested list of integers
    steps[0][4][0] += 1  # move the point off the curve
    assert not form.verify(v, {**cert, "certificate": json.dumps(steps)})[0]
    assert not form.verify(v, {**cert, "certificate": text + ' + system("true")'})[0]
    assert not form.verify(v, {**cert, "certificate": str(int(form.number(v)))})[0]  # a bare N is not a chain
    assert not form.verify(v, {"method": "bpsw-below-2^64"})[0]  # N is above 2^64
    assert not form.verify(v, {"method": "prp", "tests": ["fermat-3", "strong-bpsw"]})[0]
    assert not form.verify(v, {})[0]
    composite = next(u for u in range(lo, lo + 100) if not is_prime_two_oracles(int(form.number(u))))
    assert not form.verify(composite, cert)[0]
    assert form.verify(3, {"method": "bpsw-below-2^64"})[0] and not form.verify(2, {"method": "bpsw-below-2^64"})[0]


def test_campaign_validation_and_template() -> None:
    path = REPO / "campaigns" / "palindromic.toml"
    assert path.read_text().startswith("#")
    spec = load_campaign(path)
    assert spec.form == "palindromic" and spec.axis == "candidate" and spec.range_key == "digits"
    assert spec.sieve_depth == PalindromicForm.auto_sieve_depth(spec.params, spec.axis_min, spec.axis_max,
                                                                spec.block_size)
    base = {"name": "p", "form": "palindromic", "base": 10, "digits_min": 1, "digits_max": 7, "block_size": 1000,
            "sieve_depth": "auto"}
    for field, overrides, words in (
        ("base", {"base": 1}, "between 2 and 36"), ("base", {"base": 37}, "between 2 and 36"),
        ("digits_min", {"digits_min": 0}, ">= 1"),
        ("digits_min", {"digits_min": 4, "digits_max": 4}, "digits_min = digits_max = 5"),
        ("digits_max", {"digits_max": 41}, "use digits_max <= "),
        ("block_size", {"digits_min": 19, "digits_max": 19}, "block_size >="),
    ):
        with pytest.raises(CampaignError) as err:
            parse_campaign({**base, **overrides})
        assert err.value.field == field and words in str(err.value), str(err.value)
    with pytest.raises(CampaignError) as err:
        parse_campaign({**base, "n_min": 1})
    assert err.value.field in ("n_min", "digits_min")


def test_bits_survival_and_auto_depth_match_the_form() -> None:
    for base in (2, 10, 36):
        form = PalindromicForm(base)
        for v in (0, 5, 40, 1000, 123_456):
            assert abs(form.bits(v) - int(form.number(v)).bit_length()) <= 1, (base, v)
    form = PalindromicForm(10)
    lo = first_index(10, 21) + 10**9
    depth = 50_000
    factors = form.sieve(lo, lo + 6000, prime_chunks(2, depth))
    share = float((factors == 0).mean())
    assert 0.85 < share / form.survival_fraction(depth) < 1.15, share
    params = {"base": 10}
    first, last = PalindromicForm.axis_bounds(params, 15, 17)
    depth_a = PalindromicForm.auto_sieve_depth(params, first, last, 10**6)
    assert depth_a == PalindromicForm.auto_sieve_depth(params, first, last, 10**6) and 10**3 <= depth_a < 2**32
