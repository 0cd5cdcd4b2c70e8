"""Known answers for KbnForm: which k*b^n+c are prime, checked against two independent oracles.

The expected answers are never typed in: every N is decided by PARI/GP's isprime (a proof) and by
gmpy2.is_prime (Miller-Rabin + BPSW), the two must agree, and then the engine must agree with them.
"""

from __future__ import annotations

import math

import gmpy2
import pytest
from gmpy2 import mpz
from oracles import MASK64, fermat3_res64, is_prime_two_oracles, pari

from darkreach_pipeline.forms.kbn import KbnForm
from darkreach_pipeline.primality.llr import llr_applies, llr_is_prime, rodseth_p
from darkreach_pipeline.primality.outcome import COMPOSITE, PRIME, PROBABLE_PRIME, RESIDUE_TYPE
from darkreach_pipeline.primality.proth import proth_applies, proth_witness
from darkreach_pipeline.primality.special_form import power_chain, split_power_of_two
from darkreach_pipeline.proofs.certificate_check import verify_kbn

# (k, b, c, n_max): n runs over 0..n_max.
FAMILIES = [
    (3, 2, 1, 700),  # Proth
    (3, 2, -1, 700),  # Riesel, 3 | K: Rodseth's P search
    (1, 2, -1, 700),  # Mersenne, K = 1
    (1, 2, 1, 300),  # Fermat numbers: 2^64+1, 2^128+1, 2^256+1 are base-2 Fermat pseudoprimes
    (15, 2, 1, 400),
    (12, 2, -1, 300),  # even k: K = 3, e = n + 2
    (9, 2, -1, 400),  # square k: k*2^n = x^2 for even n, N = (x-1)(x+1)
    (81, 2, 1, 400),  # 81*2^n = 4x^4 for n = 2 mod 4: Aurifeuillean factors
    (27, 2, 1, 400),  # cube k: k*2^n = x^3 for n = 0 mod 3
    (27, 2, -1, 300),
    (3, 4, 1, 300),  # b = 4: e = 2n
    (3, 4, -1, 300),
    (5, 8, -1, 200),  # b = 8: e = 3n
    (7, 8, 1, 200),
    (5, 6, 1, 300),  # K = 5*3^n > 2^n: never a Proth proof, probable primes only
    (5, 6, -1, 250),
    (5, 12, 1, 200),  # b = 12: K = 5*3^n < 2^(2n) for n >= 3, Proth applies
    (7, 10, -1, 200),  # always divisible by 3
    (1, 10, 1, 100),
    (1003, 2, 1, 60),  # K = 1003 > 2^n for n < 10: no Proth proof there
    (1003, 2, -1, 60),
    (3, 5, 1, 100),  # b odd, k odd: N even, all composite
    (1, 3, 1, 100),  # N even; N = 2 at n = 0
    (1, 3, -1, 100),  # N even; N = 2 at n = 1
    (2, 3, 1, 200),  # k even, b odd: K = 3^n, e = 1
    (2, 3, -1, 200),
]


def check_outcome(form: KbnForm, n: int, truly_prime: bool) -> None:
    """Everything that must hold for one tested n, whatever the answer."""
    k, b, c = form.k, form.b, form.c
    N = k * b**n + c
    out = form.test(n)
    K, e = split_power_of_two(k, b, n)
    label = f"{form.expression(n)}: {out}"
    assert out.result in (PRIME, PROBABLE_PRIME, COMPOSITE), label
    assert (out.result != COMPOSITE) == truly_prime, label
    assert out.residue_type == RESIDUE_TYPE
    assert out.res64 == fermat3_res64(N), label
    if out.method == "fermat-3+bpsw":
        assert out.result == PROBABLE_PRIME, label
    if out.result == PROBABLE_PRIME:
        assert out.method == "fermat-3+bpsw", label
        assert N >= 2**64, label  # below 2^64 the answer is deterministic
        ok, _ = verify_kbn(k, b, c, n, out.certificate)
        assert not ok, f"a probable-prime certificate must not verify as a proof: {label}"
    if out.method == "proth":
        assert c == 1 and proth_applies(K, e), label
    if out.method == "llr":
        assert c == -1 and llr_applies(K, e), label
    if out.result == PRIME:
        assert out.method in ("proth", "llr", "bpsw-below-2^64"), label
        ok, reason = verify_kbn(k, b, c, n, out.certificate)
        assert ok, f"{label}: certificate rejected ({reason})"
        assert out.certificate["method"] == out.method
    else:
        assert out.result == PROBABLE_PRIME or out.certificate == {}, label


@pytest.mark.parametrize(("k", "b", "c", "n_max"), FAMILIES, ids=[f"{k}*{b}^n{c:+d}" for k, b, c, _ in FAMILIES])
def test_family_agrees_with_pari_and_gmpy2(k: int, b: int, c: int, n_max: int) -> None:
    form = KbnForm(k, b, c)
    expected: set[int] = set()
    found: set[int] = set()
    for n in range(n_max + 1):
        N = k * b**n + c
        truly_prime = is_prime_two_oracles(N)
        if truly_prime:
            expected.add(n)
        reason = form.excluded(n)
        if reason is not None:
            assert not truly_prime, f"excluded({n}) = {reason!r} but {form.expression(n)} is prime"
            continue
        check_outcome(form, n, truly_prime)
        if truly_prime:
            found.add(n)
    assert found == expected, f"missed {sorted(expected - found)}, extra {sorted(found - expected)}"


@pytest.mark.parametrize(("k", "b", "c", "power"), [(9, 2, -1, 2), (81, 2, 1, 4), (27, 2, 1, 3), (27, 2, -1, 3),
                                                   (1, 8, 1, 3), (1, 4, -1, 2), (25, 10, -1, 2)])
def test_algebraic_factorizations_are_excluded(k: int, b: int, c: int, power: int) -> None:
    """The algebraic cases are recognized from k*b^n itself (gmpy2 root tests), and never hide a prime."""
    form = KbnForm(k, b, c)
    hits = 0
    for n in range(1, 500):
        kbn = mpz(k) * mpz(b) ** n
        if n * math.log2(b) < 67:  # excluded() leaves numbers near 2^64 to the deterministic test
            continue
        if power == 2:
            algebraic = c == -1 and gmpy2.is_square(kbn)
        elif power == 3:
            algebraic = gmpy2.iroot(kbn, 3)[1]
        else:
            algebraic = c == 1 and kbn % 4 == 0 and gmpy2.iroot(kbn // 4, 4)[1]
        if algebraic:
            hits += 1
            assert form.excluded(n) is not None, form.expression(n)
            assert not gmpy2.is_prime(kbn + c)
    assert hits >= 10


def test_proth_must_not_prove_when_k_exceeds_2_to_the_e() -> None:
    """k ~ 2^61 and n < 61: N >= 2^64 but K >= 2^e, so a prime can only be a probable prime."""
    seen_prime = {1: 0, -1: 0}
    for c in (1, -1):
        for k in range(2**61 + 1, 2**61 + 16, 2):
            form = KbnForm(k, 2, c)
            for n in range(3, 61):
                N = k * 2**n + c
                K, e = split_power_of_two(k, 2, n)
                assert N >= 2**64 and K >= 2**e
                truly_prime = is_prime_two_oracles(N)
                out = form.test(n)
                check_outcome(form, n, truly_prime)
                assert out.method not in ("proth", "llr")
                if truly_prime:
                    seen_prime[c] += 1
                    assert out.result == PROBABLE_PRIME and out.method == "fermat-3+bpsw"
    assert seen_prime[1] >= 2 and seen_prime[-1] >= 2, seen_prime  # the probable-prime path was exercised


# ----- pseudoprime traps ----------------------------------------------------------------------------


def test_base2_fermat_pseudoprimes_are_composite() -> None:
    """Composites k*2^n+-1 >= 2^64 with 2^(N-1) = 1 mod N (Fermat numbers, composite Mersennes), found by
    search, must come out composite."""
    traps = []
    for c in (1, -1):
        for k in range(1, 40, 2):
            for n in range(60, 300):
                N = (mpz(k) << n) + c
                if N >= 2**64 and gmpy2.powmod(2, N - 1, N) == 1 and not gmpy2.is_prime(N):
                    traps.append((k, c, n))
    plus = [t for t in traps if t[1] == 1]
    minus = [t for t in traps if t[1] == -1]
    assert len(plus) >= 3 and len(minus) >= 20, traps  # 2^64+1, 2^128+1, 2^256+1; 2^67-1, 2^71-1, ...
    for k, c, n in traps:
        N = k * 2**n + c
        assert not is_prime_two_oracles(N)
        form = KbnForm(k, 2, c)
        if form.excluded(n) is not None:
            continue
        out = form.test(n)
        assert out.result == COMPOSITE, f"{form.expression(n)}: {out}"
        assert out.res64 == fermat3_res64(N)


def base3_fermat_pseudoprime_candidates() -> list[tuple[int, int]]:
    """(N, c) with 3^(N-1) = 1 mod N by construction.

    (3^(2^i)+1)/2: 3 has order 2^(i+1) modulo it and 2^(i+1) divides N-1.
    (3^p-1)/2, p prime: 3 has order p modulo it and p divides N-1 = (3^p-3)/2.
    """
    out = [((3 ** (2**i) + 1) // 2, 1) for i in range(6, 10)]
    out += [((3**p - 1) // 2, -1) for p in range(43, 200) if gmpy2.is_prime(p)]
    return out


def test_base3_fermat_pseudoprimes_are_caught_after_the_fermat_test() -> None:
    """The Fermat base-3 test passes on these; the engine's second stage must still call the composites
    composite and the primes (no theorem applies: K >= 2^e) probable primes."""
    composites = 0
    for N, c in base3_fermat_pseudoprime_candidates():
        assert N >= 2**64 and pow(3, N - 1, N) == 1  # the trap is real, above the deterministic range
        K, e = split_power_of_two(N - c, 2, 0)
        assert K * 2**e + c == N and K % 2 == 1
        form = KbnForm(K, 2, c)
        out = form.test(e)
        truly_prime = is_prime_two_oracles(N)
        assert out.res64 == "0000000000000001"
        if truly_prime:
            assert out.result == PROBABLE_PRIME, out
        else:
            composites += 1
            assert out.result == COMPOSITE and out.method == "bpsw", out
    assert composites >= 10


def test_proth_composites_fail_the_fermat_test_with_the_pari_residue() -> None:
    form = KbnForm(3, 2, 1)
    composites = 0
    for n in range(64, 260):
        N = 3 * 2**n + 1
        if is_prime_two_oracles(N):
            continue
        composites += 1
        out = form.test(n)
        pari_residue = int(pari.lift(pari.Mod(3, N) ** (N - 1)))
        assert pari_residue != 1
        assert out.result == COMPOSITE and out.method == "fermat-3", out
        assert out.res64 == format(pari_residue & MASK64, "016x")
    assert composites > 150


# ----- the proof stages on their own (the Fermat filter normally shields them from composites) -------


@pytest.mark.parametrize(("k", "n_max"), [(1, 400), (3, 500), (5, 300), (9, 300), (2**40 + 15, 300)])
def test_llr_alone_agrees_with_pari(k: int, n_max: int) -> None:
    proofs = 0
    for n in range(3, n_max + 1):
        K, e = split_power_of_two(k, 2, n)
        if not llr_applies(K, e):
            continue
        N = mpz(K) * 2**e - 1
        truly_prime = is_prime_two_oracles(int(N))
        P = rodseth_p(N)
        if P is None:
            assert not truly_prime
            continue
        assert pari.kronecker(P - 2, int(N)) == 1 and pari.kronecker(P + 2, int(N)) == -1
        assert llr_is_prime(K, e, P) == truly_prime, f"{K}*2^{e}-1"
        proofs += truly_prime
    assert proofs >= 1


@pytest.mark.parametrize(("k", "n_max"), [(1, 300), (3, 500), (15, 400), (81, 300), (2**40 + 15, 300)])
def test_proth_alone_agrees_with_pari(k: int, n_max: int) -> None:
    proofs = 0
    for n in range(1, n_max + 1):
        K, e = split_power_of_two(k, 2, n)
        if not proth_applies(K, e):
            continue
        N = mpz(K) * 2**e + 1
        truly_prime = is_prime_two_oracles(int(N))
        a = proth_witness(N)
        if a is None:
            assert not truly_prime
            continue
        assert pari.kronecker(a, int(N)) == -1
        assert (power_chain(a, K, e - 1, N) == N - 1) == truly_prime, f"{K}*2^{e}+1"
        proofs += truly_prime
    assert proofs >= 1
