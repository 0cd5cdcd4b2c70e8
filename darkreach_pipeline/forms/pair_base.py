"""What every two-member form k*b^m + c shares (twins, Sophie Germain pairs): PairForm and its helpers.

number(value) is the first member: its Gerbicz-checked Fermat base-3 residue is the RES64 (primality/kbn.py's
test, which then proves it by LLR or Proth when b is a power of two). Only when it is prime or a probable prime
is the second member tested. When no special-form theorem applies, Morrison (N+1 = k*b^m) and Pocklington
(N-1 = k*b^m) over the known primes of k*b^m try to prove the member; a pair is "prime" only when both members
are proven, "probable-prime" when both are at least probable primes. A base of forms, not a form: the pair
forms import it, as every form imports base.py.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any, ClassVar

import gmpy2
import numpy as np
from gmpy2 import mpz

from darkreach_pipeline.cost_model import ROUNDS_PAIRS_AND_PRODUCTS, balanced_depth, test_seconds
from darkreach_pipeline.forms.base import EULER_GAMMA, PrimeForm
from darkreach_pipeline.primality.kbn import kbn_number, kbn_test
from darkreach_pipeline.primality.options import DEFAULT_OPTIONS, TestOptions
from darkreach_pipeline.primality.outcome import COMPOSITE, PRIME, PROBABLE_PRIME, TestOutcome
from darkreach_pipeline.primality.prp import is_prime_small
from darkreach_pipeline.primality.small_factors import small_factors
from darkreach_pipeline.primality.special_form import split_power_of_two
from darkreach_pipeline.proofs.certificate_check import verify_proof
from darkreach_pipeline.proofs.classical import factored_part, morrison, pocklington

TWIN_CONSTANT = 0.6601618158  # C2 = prod over odd p of (1 - 1/(p-1)^2)
SMALL_N_BITS = 66  # below ~2^64 the deterministic test decides; algebraic shortcuts are not needed

# A member is k*b^m + c; a term is (k, b, m, c).
Term = tuple[int, int, int, int]


@functools.cache
def _b_factors(b: int) -> dict[int, int]:
    return small_factors(b)


def known_primes(k: int, b: int) -> list[int]:
    """Primes of k*b^m we know for certain: all of b's, k's below 2^10, and k's cofactor when prime.

    F (the part of N-+1 made of them) decides whether Pocklington / Morrison can prove N.
    """
    primes = set(_b_factors(b))
    rest = k
    for q in range(2, 1 << 10):
        if rest % q == 0:
            primes.add(q)
            while rest % q == 0:
                rest //= q
    if rest > 1 and is_prime_small(rest):  # k < 2^62: deterministic
        primes.add(rest)
    return sorted(primes)


@functools.lru_cache(maxsize=64)
def _power_free_part(b: int, m: int, d: int, twos: int) -> mpz:
    """R with 2^twos * b^m = R * (a d-th power), R = prod q^((exponent of q) mod d): small, whatever m is."""
    exponents = {q: m * g for q, g in _b_factors(b).items()}
    exponents[2] = exponents.get(2, 0) + twos
    R = mpz(1)
    for q, exponent in exponents.items():
        R *= mpz(q) ** (exponent % d)
    return R


def _is_power(k: int, b: int, m: int, d: int, twos: int = 0) -> bool:
    """Is 2^twos * k*b^m a perfect d-th power? Only k times a small cofactor is built, never b^m."""
    return bool(gmpy2.iroot(mpz(k) * _power_free_part(b, m, d, twos), d)[1])


def algebraic_reason(k: int, b: int, m: int, c: int) -> str | None:
    """Why k*b^m + c is not prime without a test: N < 2, or an algebraic factorization whose factors
    both exceed 1 (small numbers, where a factor can be 1, are left to the deterministic test)."""
    if k * b ** min(m, 2) + c < 2:  # k*b^m >= 4 once m >= 2
        return "N < 2: neither prime nor composite"
    if m * math.log2(b) + math.log2(k) < SMALL_N_BITS:
        return None
    if c == -1 and _is_power(k, b, m, 2):
        return "algebraic: k*b^n = x^2, so N = (x-1)(x+1)"
    if _is_power(k, b, m, 3):
        return "algebraic: k*b^n = x^3, so N = (x%s1)(x^2%sx+1)" % (("+", "-") if c == 1 else ("-", "+"))
    if c == 1 and _is_power(k, b, m, 4, twos=6):  # 64*k*b^m = (4x)^4  <=>  k*b^m = 4x^4
        return "algebraic: k*b^n = 4x^4, so N = (2x^2+2x+1)(2x^2-2x+1)"
    return None


def _joined(*methods: str) -> str:
    """Method names of the members, each once, in member order ("llr+proth", "bpsw-below-2^64")."""
    return "+".join(dict.fromkeys(methods))


def pair_proof_methods(member_proofs: tuple[tuple[str, ...], tuple[str, ...]]) -> frozenset[str]:
    """Every method name a proven pair can get from its members' proofs."""
    first, second = member_proofs
    return frozenset(_joined(a, b) for a in first for b in second)


class PairForm(PrimeForm):
    """Two members k*b^m + c that must both be prime; subclasses say which (terms()) and how to sieve.

    number(value) is the first member: its Fermat base-3 residue is the RES64, and the second member
    is tested only when the first is prime or a probable prime.
    """

    pair_method: ClassVar[str]  # certificate "method" of a proven pair
    unit = "pair"

    def terms(self, value: int) -> tuple[Term, Term]:
        raise NotImplementedError

    # ----- numbers ---------------------------------------------------------------------------
    def bits(self, value: int) -> float:
        k, b, m, _ = self.terms(value)[0]
        return m * math.log2(b) + math.log2(k)

    def number(self, value: int) -> mpz:
        return self.members(value)[0]

    def members(self, value: int) -> list[mpz]:
        return [mpz(k) * mpz(b) ** m + c for k, b, m, c in self.terms(value)]

    def binary_shape(self, value: int) -> tuple[int, int, int] | None:
        k, b, m, c = self.terms(value)[0]
        K, e = split_power_of_two(k, b, m)
        return K, e, c

    def useless_bases(self, value: int) -> frozenset[int]:
        """Base 2 when a member is 2^e+-1 (Mersenne and Fermat numbers pass it), else none."""
        shapes = [split_power_of_two(k, b, m)[0] for k, b, m, _ in self.terms(value)]
        return frozenset({2}) if 1 in shapes else frozenset()

    def excluded(self, value: int) -> str | None:
        for k, b, m, c in self.terms(value):
            reason = algebraic_reason(k, b, m, c)
            if reason is not None:
                return f"{'' if k == 1 else f'{k}*'}{b}^{m}{'+' if c == 1 else '-'}1: {reason}"
        return None

    def residue_mod(self, value: int, p: int) -> int:
        """Product of the members mod p, without building them (re-checks factor claims)."""
        product = 1
        for k, b, m, c in self.terms(value):
            product = product * ((k % p * pow(b, m, p) + c) % p) % p
        return product

    # ----- tests and proofs ----------------------------------------------------------------
    def member_outcome(self, value: int, i: int, options: TestOptions = DEFAULT_OPTIONS) -> TestOutcome:
        """primality/kbn.py's test of member i (Fermat 3, Gerbicz-checked; Proth / LLR / BPSW below 2^64), then a
        Pocklington or Morrison proof for a probable prime when the known part of N-+1 is large enough."""
        k, b, m, c = self.terms(value)[i]
        outcome = kbn_test(k, b, c, m, options)
        if outcome.result != PROBABLE_PRIME:
            return outcome
        primes = known_primes(k, b)
        N = kbn_number(k, b, c, m)
        F_bits = m * math.log2(b) + factored_part(mpz(k), primes)[0].bit_length()  # F = b^m * known part of k
        if 2 * F_bits < N.bit_length() - 1:  # F^2 < N: no proof possible (saves dividing N-+1 m times)
            return outcome
        status, certificate = (pocklington if c == 1 else morrison)(N, primes)
        if status == PROBABLE_PRIME:
            return outcome
        method = "pocklington" if c == 1 else "morrison"
        return TestOutcome(status, method, outcome.res64, certificate=certificate if status == PRIME else {},
                           checks=outcome.checks, rollbacks=outcome.rollbacks, arithmetic=outcome.arithmetic,
                           max_roundoff=outcome.max_roundoff)

    def test(self, value: int, options: TestOptions = DEFAULT_OPTIONS) -> TestOutcome:
        """The first member (its RES64; `chain_run` checkpoints its chain), then the second if needed.

        The second member's chain gets no checkpoint hooks: a saved chain state belongs to the first.
        """
        first = self.member_outcome(value, 0, options)
        if first.result == COMPOSITE:
            return TestOutcome(COMPOSITE, first.method, first.res64, checks=first.checks, rollbacks=first.rollbacks,
                               arithmetic=first.arithmetic, max_roundoff=first.max_roundoff)
        second = self.member_outcome(value, 1, options.without_hooks())
        counts = {"checks": first.checks + second.checks, "rollbacks": first.rollbacks + second.rollbacks,
                  "arithmetic": first.arithmetic, "max_roundoff": max(first.max_roundoff, second.max_roundoff)}
        method = _joined(first.method, second.method)
        if second.result == COMPOSITE:
            return TestOutcome(COMPOSITE, method, first.res64, **counts)
        members = [first.certificate, second.certificate]
        if first.result == PRIME and second.result == PRIME:
            return TestOutcome(PRIME, method, first.res64,
                               certificate={"method": self.pair_method, "members": members}, **counts)
        tests = [t for m in members for t in m.get("tests", [])]
        return TestOutcome(PROBABLE_PRIME, method, first.res64,
                           certificate={"method": "prp", "tests": list(dict.fromkeys(tests)), "members": members},
                           **counts)

    def verify(self, value: int, certificate: Mapping[str, Any]) -> tuple[bool, str]:
        """Each member's certificate re-checked against its own number by the shared verifier."""
        if certificate.get("method") != self.pair_method:
            return False, f"no proof: method {certificate.get('method')!r} is not a {self.pair_method} proof"
        subs = certificate.get("members")
        if not isinstance(subs, list) or len(subs) != 2:
            return False, "a pair proof needs one certificate per member"
        notes = []
        for which, N, sub in zip(("first", "second"), self.members(value), subs, strict=True):
            if not isinstance(sub, Mapping):
                return False, f"{which} member: the certificate is not a table"
            try:
                ok, note = verify_proof(N, dict(sub))
            except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
                ok, note = False, f"malformed certificate ({exc!r})"
            if not ok:
                return False, f"{which} member: {note}"
            notes.append(f"{which} member: {note}")
        return True, "; ".join(notes)

    # ----- sieve depth ---------------------------------------------------------------------
    @staticmethod
    def survival_fraction(depth: float) -> float:
        """Both members sieved: prod (1 - 2/p) over odd p <= depth = C2 * (2 e^-gamma / ln depth)^2."""
        return min(1.0, TWIN_CONSTANT * (2 * math.exp(-EULER_GAMMA) / math.log(max(depth, 3))) ** 2)

    @classmethod
    def special_test(cls, params: Mapping[str, int]) -> bool:
        """The first member's chain squares on the special-form loop when b is a power of two."""
        b = params.get("b", 2)
        return b & (b - 1) == 0

    @classmethod
    def pair_depth(cls, params: Mapping[str, int], bits: float, span: int, sieve_seconds_per_prime: float) -> int:
        """cost_model's balanced depth for a pair: a prime p strikes about 2/p of the survivors (one class per
        member), and each strike saves the first member's test."""
        test = test_seconds(bits, cls.special_test(params))
        return balanced_depth(lambda depth: 2 * span * cls.survival_fraction(depth), test, sieve_seconds_per_prime,
                              rounds=ROUNDS_PAIRS_AND_PRODUCTS)


# Sieve cost per prime: sieve_kbn's seconds_per_prime(span) per sign; sieve_over_k 0.14 us per member for
# primes above the block length (measured in one run, span 25,000).
OVER_K_SECONDS_PER_PRIME_MEMBER = 0.15e-6


def merge_factors(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise smallest nonzero factor of two sieve results (0 where both are 0)."""
    a, b = a.astype(np.uint64), b.astype(np.uint64)
    return np.where((a == 0) | ((b != 0) & (b < a)), b, a)

