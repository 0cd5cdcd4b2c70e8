"""Expected primes and expected sieve survivors of a form over an axis range.

After a sieve to depth P, a survivor N is prime with probability about 1/(mertens(P) ln N), mertens(P) =
prod_{p <= P} (1 - 1/p) (algorithms.md section 8). What differs between forms is which values survive,
i.e. the form's *sieve weight*:

- k*b^n+-1, Cullen/Woodall, Carol/Kynea (`SieveWeight`): measured by sieving a window of the axis through
  the form's own sieve to depth D = max(2^16, 4 x the window's largest value): the share f of survivors,
  and a survivor is prime with 1/(mertens(D) ln N). D is that deep because these forms' factors are not
  random near the axis value (p = 2n-1 divides n*2^n+1 when 2 is not a square mod p): sieved by the primes
  below 256, Cullen numbers n <= 3000 survive as often as Woodall numbers; sieved to 10^4, 0.4x as often,
  and there is 1 Cullen prime there against 12 Woodall primes. `nash_weight` gives the standard Nash
  weight of k*2^n+-1 (survivors of n in [100000, 110000) by the primes below 256) to compare with lists.
- n!+-1, p#+-1, Wagstaff, repunits (`FactorFreeBelow`): no prime below a bound B(v) can divide the number
  (v for n! and p#, 2v for (2^p+1)/3 and (b^p-1)/(b-1), whose factors are 2kp+1), so the number is prime
  with probability 1/(mertens(B) ln N) (Caldwell-Gallot; Lenstra-Pomerance-Wagstaff); n!+-1 also loses the
  n that Wilson's theorem gives a factor, and half the odd n whose 2n+1 is prime (`FactorialWeight`).
- b^(2^m)+1 (`GfnWeight`): the Bateman-Horn constant C_m of forms/gfn.py, 2 C_m / ln N per even b.
- twin and Sophie Germain pairs, palindromes, near-repdigits (`TrialDivisionWeight`): each value's members
  divided by the primes below 256, then 1/(mertens(256) ln N) per member (Hardy-Littlewood for pairs).

The uncertainty stated with a count is Poisson's, sqrt(expected): primes of a range are rare, independent
events; the validation test (tests/engine/test_density_model.py) holds the model to it against known counts.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import gmpy2

from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.forms import form_class
from darkreach_pipeline.forms.base import EULER_GAMMA, PrimeForm
from darkreach_pipeline.forms.gfn import GFN_CONSTANTS, GfnForm
from darkreach_pipeline.forms.pair_base import TWIN_CONSTANT, PairForm
from darkreach_pipeline.forms.product_base import SMALL_BITS
from darkreach_pipeline.primality.prp import is_prime_small
from darkreach_pipeline.sieve.carried_product import mertens
from darkreach_pipeline.sieve.primes import prime_chunks

NASH_PRIMES_BELOW = 256  # Nash's weight sieves by the primes below 256
NASH_WINDOW = (100_000, 110_000)  # ... over these 10,000 n
WEIGHT_WINDOW = 10_000  # values sieved to measure a weight
WEIGHT_MIN_DEPTH = 1 << 16
WEIGHT_MAX_DEPTH = 1 << 24
EXACT_VALUES = 20_000  # ranges up to this many values are summed value by value, longer ones by sampling:
SAMPLE_WINDOWS, SAMPLE_WINDOW = 50, 80  # runs of consecutive values spread evenly (a regular stride would see
# only some residues: a stride of 7.5 over prime p takes 5% too few primes)
LN2 = math.log(2)


@dataclass(frozen=True)
class RangeEstimate:
    """What the model expects of the axis values lo..hi (inclusive) after a sieve to `depth`."""

    lo: int
    hi: int
    depth: int
    expected_primes: float
    expected_survivors: float
    candidates: float  # values that are numbers of the form (not excluded)

    @property
    def sigma(self) -> float:
        """Poisson standard deviation of the number of primes found."""
        return math.sqrt(self.expected_primes)


class FormDensity:
    """Per value: the probability its number is prime, and the share surviving a sieve to `depth`."""

    def __init__(self, form: PrimeForm):
        self.form = form

    def weight(self, value: int) -> float:
        """P(prime) x ln N: the form's sieve weight at `value` (2 for a random odd number)."""
        raise NotImplementedError

    def survival(self, value: int, depth: float) -> float:
        """Share of such values left by a sieve to `depth` (what the tests cost)."""
        raise NotImplementedError

    def prime_probability(self, value: int) -> float:
        ln_n = self.form.bits(value) * LN2
        return min(1.0, self.weight(value) / max(ln_n, 1.0))

    def mean_weight(self, lo: int, hi: int) -> float:
        """The weight averaged over the values lo..hi that are numbers of the form (what a plan shows: one
        value's weight is 0 when a small prime or Wilson's theorem strikes it)."""
        weights = [self.weight(v) for v in self.values(lo, hi)[0] if self.form.excluded(v) is None]
        return sum(weights) / len(weights) if weights else 0.0

    def values(self, lo: int, hi: int) -> tuple[list[int], float]:
        """The axis values that stand for lo..hi and the count each stands for (1 when exact)."""
        span = hi - lo + 1
        if span <= EXACT_VALUES:
            return list(range(lo, hi + 1)), 1.0
        gap = (span - SAMPLE_WINDOW) / (SAMPLE_WINDOWS - 1)
        starts = [lo + round(i * gap) for i in range(SAMPLE_WINDOWS)]
        return [v for start in starts for v in range(start, start + SAMPLE_WINDOW)], span / (SAMPLE_WINDOWS *
                                                                                            SAMPLE_WINDOW)

    def estimate(self, lo: int, hi: int, depth: int) -> RangeEstimate:
        primes = survivors = candidates = 0.0
        values, each = self.values(lo, hi)
        for v in values:
            if self.form.excluded(v) is not None:
                continue
            candidates += each
            primes += each * self.prime_probability(v)
            survivors += each * self.survival(v, depth)
        return RangeEstimate(lo, hi, depth, primes, survivors, candidates)

    def digits(self, value: int) -> int:
        return int(self.form.bits(value) * math.log10(2)) + 1


class SieveWeight(FormDensity):
    """Weight measured by the form's own sieve over a window of the axis (module docstring)."""

    def __init__(self, form: PrimeForm, window: tuple[int, int]):
        super().__init__(form)
        self.depth = weight_depth(window[1])
        survivors, candidates = window_survivors(form, *window, self.depth)
        self.fraction = survivors / max(candidates, 1)

    def weight(self, value: int) -> float:
        return self.fraction / mertens(self.depth)

    def survival(self, value: int, depth: float) -> float:
        return min(1.0, self.fraction * mertens(depth) / mertens(self.depth))


def weight_depth(largest_value: int) -> int:
    return min(WEIGHT_MAX_DEPTH, max(WEIGHT_MIN_DEPTH, 4 * largest_value))


def window_survivors(form: PrimeForm, lo: int, hi: int, depth: int) -> tuple[int, int]:
    """(survivors, candidates) of axis values lo..hi-1 after the form's own sieve to `depth`."""
    factors = form.sieve(lo, hi, prime_chunks(2, depth))
    candidates = [i for i, v in enumerate(range(lo, hi)) if form.excluded(v) is None]
    return sum(1 for i in candidates if factors[i] == 0), len(candidates)


class FactorFreeBelow(FormDensity):
    """No prime below bound(value) can divide the number; above it every prime p divides with 1/p."""

    def __init__(self, form: PrimeForm, multiplier: int):
        super().__init__(form)
        self.multiplier = multiplier

    def bound(self, value: int) -> float:
        return max(2.0, float(self.multiplier * value))

    def weight(self, value: int) -> float:
        return 1.0 / mertens(self.bound(value))

    def survival(self, value: int, depth: float) -> float:
        return min(1.0, mertens(depth) / mertens(self.bound(value)))


class FactorialWeight(FactorFreeBelow):
    """n!+-1 has no factor up to n, and Wilson's theorem gives two more certain facts the sieve sees at any depth:

    - n+1 prime divides n!+1, n+2 prime divides n!-1 (forms/factorial.py sieves them): such n are never prime,
      about 1 in ln n of them (n = 2000..2599 sieved left 199 and 209 survivors, against 250 without this);
    - reflected, (p-1)! = -1 (mod p) for p = 2n+1 gives n!^2 = (-1)^(n+1): for odd n, n! = +-1, so p divides
      exactly one of n!+1 and n!-1 (which one follows the class number of Q(sqrt(-p)), Mordell 1961; taken as
      1/2 each), and for even n, n! = +-i and p divides neither. A random p would divide with 1/p, so without
      this the model expected 6% too many survivors and primes (n = 1000..5999 sieved to 2*10^6: 4,598
      survivors over both signs against 4,884 expected; primes p in (2n, 4n) struck 1.67x their 1/p share).
    """

    def __init__(self, form: PrimeForm):
        super().__init__(form, 1)
        self.shift = 1 if form.c == 1 else 2

    def wilson_struck(self, value: int) -> bool:
        q = value + self.shift
        return self.form.bits(value) > SMALL_BITS and is_prime_small(q)

    def reflection(self, value: int, depth: float = math.inf) -> float:
        """How p = 2n+1 changes the odds that n!+-1 has no factor, against the 1 - 1/p of a random prime
        (1 when 2n+1 is not prime or above the sieve's `depth`)."""
        p = 2 * value + 1
        if p > depth or self.form.bits(value) <= SMALL_BITS or not is_prime_small(p):
            return 1.0
        return 0.5 / (1 - 1 / p) if value % 2 else 1 / (1 - 1 / p)

    def weight(self, value: int) -> float:
        return 0.0 if self.wilson_struck(value) else super().weight(value) * self.reflection(value)

    def survival(self, value: int, depth: float) -> float:
        if self.wilson_struck(value):
            return 0.0
        return min(1.0, super().survival(value, depth) * self.reflection(value, depth))


class GfnWeight(FormDensity):
    """b^(2^m)+1: 2 C_m per even b (Bateman-Horn over all b counts odd b, which never give a prime)."""

    def weight(self, value: int) -> float:
        return 2.0 * GFN_CONSTANTS[self.form.m]

    def survival(self, value: int, depth: float) -> float:
        return min(1.0, 2.0 * GfnForm.survival_at(self.form.m, depth))


class TrialDivisionWeight(FormDensity):
    """Each value's own small factors, then the prime-number theorem: for forms without a window sieve weight.

    Every member of the value's number is divided by the primes up to TRIAL_LIMIT (the form's residue_mod,
    which does not build the number when the form can avoid it). A value with such a factor is never prime;
    otherwise each member is prime with 1/(mertens(L) ln N), independently above L. This holds every local
    restriction of the form exactly and per value: the base's divisibility rules of palindromes (a leading
    digit coprime to b, the alternating digit sum for b+1, the digit sum for b-1) and near-repdigits (11 | N
    for some (d, m)), and for pairs the Hardy-Littlewood local factors, whose product over all primes is the
    twin constant: 1 - nu(p)/p against (1 - 1/p)^2 for the nu(p) classes p strikes (nu = 2 for k*b^n-+1 and for
    the Sophie Germain N, 2N+1). Above L the pair factor is prod_{p > L} (1 - 1/(p-1)^2), the twin constant's
    tail (PAIR_TAIL, 0.9993). Numbers below L^2 are decided outright (trial division to L is then exact).
    """

    def __init__(self, form: PrimeForm):
        super().__init__(form)
        self.members = 2 if isinstance(form, PairForm) else 1
        self.tail = PAIR_TAIL if self.members == 2 else 1.0
        self.builds_numbers = type(form).residue_mod is PrimeForm.residue_mod  # no shortcut: build N once

    @functools.lru_cache(maxsize=4096)  # noqa: B019 (one model per plan: the cache dies with it)
    def smallest_factor(self, value: int) -> int | None:
        """The smallest prime up to TRIAL_LIMIT dividing a member of `value`'s number (None when none does)."""
        if self.form.bits(value) <= 2 * TRIAL_BITS:  # N < L^2: prime exactly when no p <= L divides it
            return None if all(gmpy2.is_prime(N) for N in self.form.members(value)) else 2
        if self.builds_numbers:
            numbers = self.form.members(value)
            return next((p for p in TRIAL_PRIMES if any(N % p == 0 for N in numbers)), None)
        return next((p for p in TRIAL_PRIMES if self.form.residue_mod(value, p) == 0), None)

    def weight(self, value: int) -> float:
        """P(prime) x (ln N)^members: 2 for a random odd number, 4 C2 = 2.64 for a random odd N and N+2."""
        ln_n = max(self.form.bits(value) * LN2, 1.0)
        if self.smallest_factor(value) is not None:
            return 0.0
        if self.form.bits(value) <= 2 * TRIAL_BITS:
            return ln_n**self.members  # prime for certain
        return self.tail / mertens(TRIAL_LIMIT) ** self.members

    def prime_probability(self, value: int) -> float:
        ln_n = max(self.form.bits(value) * LN2, 1.0)
        return min(1.0, self.weight(value) / ln_n**self.members)

    def survival(self, value: int, depth: float) -> float:
        factor = self.smallest_factor(value)
        if factor is not None:
            return 0.0 if factor <= depth else 1.0
        bits = self.form.bits(value)
        if bits <= 2 * TRIAL_BITS or depth <= TRIAL_LIMIT:
            return 1.0
        u = bits * LN2 / math.log(depth)  # a sieve near sqrt(N) leaves fewer than Mertens says: Buchstab's omega
        return min(1.0, (mertens(depth) / mertens(TRIAL_LIMIT) * buchstab(u) * math.exp(EULER_GAMMA)) ** self.members)


def buchstab(u: float) -> float:
    """Buchstab's omega: numbers near x with no prime factor up to x^(1/u) are x omega(u) / ln(x^(1/u)).

    1/u up to u = 2 (below 2 only primes are left), (1 + ln(u - 1)) / u up to 3, then e^-gamma, Mertens' own
    constant, within 0.2%. The 9-digit palindromes of base 10 sieved to 10^4 (u = 2 to 2.25) left 5,932 of
    40,000: 6,200 expected without this (-3.7 sd), 5,850 with it (+1.2 sd).
    """
    if u <= 2:
        return 1 / u
    if u <= 3:
        return (1 + math.log(u - 1)) / u
    return math.exp(-EULER_GAMMA)


TRIAL_BITS = 8
TRIAL_LIMIT = 1 << TRIAL_BITS  # L: the primes below 256 (54 of them), divided into every value
TRIAL_PRIMES = tuple(int(p) for chunk in prime_chunks(2, TRIAL_LIMIT) for p in chunk)
# The twin constant C2 = prod_{p > 2} (1 - 1/(p-1)^2) over the part the trial division already holds.
PAIR_TAIL = TWIN_CONSTANT / math.prod(1 - 1 / (p - 1) ** 2 for p in TRIAL_PRIMES if p > 2)


MODELLED_FORMS = ("kbn", "cullen", "woodall", "carol", "kynea", "factorial", "primorial", "wagstaff", "repunit", "gfn",
                  "twin", "sophie_germain", "palindromic", "near_repdigit")


def density_for(form_name: str, range_key: str, params: dict[str, int], lo: int, hi: int) -> FormDensity:
    """The density model of one campaign's form and parameters over axis values lo..hi."""
    if form_name not in MODELLED_FORMS:
        raise CampaignError("form", f"{form_name!r} has no density model yet: plan one of {', '.join(MODELLED_FORMS)}")
    form = form_class(form_name, range_key)(**params)
    if form_name in ("kbn", "cullen", "woodall", "carol", "kynea"):
        return SieveWeight(form, weight_window(lo, hi))
    if form_name == "factorial":
        return FactorialWeight(form)
    if form_name == "primorial":
        return FactorFreeBelow(form, 1)
    if form_name in ("wagstaff", "repunit"):
        return FactorFreeBelow(form, 2)
    if form_name in ("twin", "sophie_germain", "palindromic", "near_repdigit"):
        return TrialDivisionWeight(form)
    return GfnWeight(form)


def weight_window(lo: int, hi: int) -> tuple[int, int]:
    """The range itself when short, else 10,000 values from its middle (a weight may drift with n, as
    Cullen's does, so it is measured where the range is)."""
    if hi - lo + 1 <= WEIGHT_WINDOW:
        return lo, hi + 1
    mid = (lo + hi) // 2
    return mid - WEIGHT_WINDOW // 2, mid + WEIGHT_WINDOW // 2


def nash_weight(k: int, c: int) -> int:
    """Nash's weight of k*2^n+c: survivors of n in [100000, 110000) after the primes below 256."""
    form = form_class("kbn", "n")(k=k, b=2, c=c)
    return window_survivors(form, *NASH_WINDOW, NASH_PRIMES_BELOW - 1)[0]
