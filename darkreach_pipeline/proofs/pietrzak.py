"""Pietrzak proofs of Fermat/PRP chains, made while the test runs and checked for ~1/2^p of its cost.

The scheme (Pietrzak 2018, "Simple Verifiable Delay Functions"; the non-interactive form GIMPS adopted
for PRP results in 2020; PRST's proofs for k*b^n+c use the same steps x -> x^b). A test computes
y = g^A mod N by a chain whose last T steps are x -> x^s * g^(d_t) (s = 2 with binary digits d_t for the
Gerbicz-Li chain of any exponent; s = b, digits 0, for the x -> x^b chain of k*b^n+-1; s = 2, digits 0, for
the squarings of K*2^e+-1). So y = x^(s^T) * g^c with x = g^(A div s^T) and c = A mod s^T. Cut the T steps
into 2^p segments of T/2^p steps; c is then the vector of the segments' digit values C_0..C_(2^p-1).

One halving: the prover sends mu = the residue after T/2 steps, with mu = x^(s^(T/2)) g^C_hi and
y = mu^(s^(T/2)) g^C_lo. With a challenge r, both claims fold into one of half the length:
x' = x^r mu, y' = mu^r y, segments C'_k = r C_k + C_(k+half); the folded claim is true iff
alpha^r = beta^-1, where alpha, beta are the errors of the two halves, so a false claim folds into a true one
for at most one r modulo the order of alpha (Pietrzak's argument; the digits cancel out exactly). After p
halvings the verifier checks y_p = x_p^(s^(T/2^p)) * g^(C_0) directly: T/2^p steps plus 2p exponentiations
by 64-bit challenges (the y side's p share their squarings). Fiat-Shamir: h_0 = SHA-256(tag, N, g, s, T, kind,
x, y), h_i = SHA-256(h_(i-1), mu_i), r_i = the first 64 bits of h_i (GIMPS uses 64-bit challenges too), so the
prover cannot choose them.

Security: a wrong y survives with probability about p/2^64 per attempt against a prover who knows no element
of small order mod N (the low-order assumption; Boneh-Buenz-Fisch 2018). Why 64 bits is enough: a forger must
hit, at some level, the one r (mod the order of its error) that folds a false claim into a true one; each try
costs it a fresh mu, one SHA-256 and, to check the outcome, the folded claim's T/2^i steps, so 2^64 / p tries of
~T/2^p steps each are far beyond any volunteer's means (GIMPS's argument), and a forger gains nothing it could
not get by doing the test. Longer challenges would cost every verification 2p more squarings per 64 bits: at
T = 50k steps that term already dominates (RESULTS.md), so 64 bits is also the size that keeps verifying cheap.
-1 is always known: with it the
honest proof with y and a middle value negated passes for half the challenges, and a grinding prover always
wins. So the claim is checked in Z_N*/{+-1} (the last comparison is up to sign), and the proof stops one
step before the chain's end: y is the residue before the last step x -> x^s g^d, and the verifier finishes
that step itself, which removes the sign for even s (every squaring chain, even b). For odd b the sign of a
composite's residue stays unproven (the RES64 of -R would pass; the verdict composite is right either way)
and a residue of -1 is rejected, so the forgery cannot turn a PRP's 1 into -1. Other low-order elements
are known only when N is prime (from N-1's small factors): a saboteur who *completed the whole test* could
then hide a PRP behind a small-order residue. Against that: the verifier rejects trivial middle values
(0, +-1, values outside [0, N), non-units), the verification sensor still double-checks a 1-in-10 sample of
blocks accepted by their proofs (a saboteur loses its reliability), records always get a full second test,
and every reported probable prime is re-tested by the certificates stage. Proofs cannot save a lazy or
faulty worker the test, which is what they are for.

The honest middle values come from the 2^p - 1 residues kept during the test by tree evaluation (GIMPS):
mu_i = f(residues at the odd multiples of T/2^i, [r_1..r_(i-1)]), f(list, [r, rest]) = f(first half, rest)^r *
f(second half, rest): 2^(i-1) - 1 exponentiations by 64-bit numbers at level i, about 2^p in all. They run on
the test's own arithmetic and residues (tree_product: each kept value converted once, one integer out per level;
sliding-window powers, whose table entries the weighted FFT keeps as spectra), 80-106 steps of the test each.

Covered: every test that is one such chain and whose reported residue follows from y: kbn for every b (and
Cullen/Woodall, twin, Sophie Germain, Mersenne repunits, which test through kbn), GFN, Wagstaff (the chain
runs modulo 2^p+1 = 3N on the FFT; the proof is about N, whose residue is reported: the kept residues are
reduced mod N), and the Gerbicz-Li chain of n!+-1, p#+-1, Carol/Kynea, repunits, palindromes and
near-repdigits (s = 2, binary digits of N-1). Not covered: numbers below 2^64 (no chain: BPSW answers
directly, and re-deriving it costs nothing), the kbn -1 case with 3 | N (the residue is a plain powmod),
and proof steps after the Fermat test (Proth, LLR, Pocklington: they certify primes and are re-verified
by proofs/certificate_check.py anyway). Choice of p: from the measured costs of proving on the test's arithmetic
and of verifying (choose_power).

Format (version 1, big-endian; never pickled; base64 in the prp_proofs asset):
    magic b"DRPP" | version u8 = 1 | kind u8 (1: A = N-1, residue y; 2: A = (N-1)/2, residue y^2;
    3: A = N+1, residue y*g^-2) | p u8 (1..MAX_POWER) | reserved u8 = 0 | g u32 | s u32 | T u64 |
    SHA-256 of N (32 bytes) | residue length n u32 (= byte length of N) | y (n bytes: the residue one step
    before the chain's end) | mu_1 .. mu_p (n bytes each)
The file is exactly 56 + (p+1)*n bytes; N itself is not stored (the verifier derives it from the candidate).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

import gmpy2
from gmpy2 import mpz

from darkreach_pipeline.arith.base import ModularArithmetic, Residue, RoundoffError

MAGIC = b"DRPP"
VERSION = 1
HEADER = struct.Struct(">4sBBBBIIQ32sI")  # 56 bytes
TAG = b"darkreach-pietrzak-v1"
MAX_POWER = 16
KIND_N_MINUS_1, KIND_HALF, KIND_N_PLUS_1 = 1, 2, 3

# p from the measured costs (benchmarks/RESULTS.md, "Pietrzak proofs"), in units of one step of the test:
# - proving: the tree evaluation makes 2^p - p - 1 exponentiations by 64-bit challenges (and as many products) on the
#   test's own residues (tree_product). End to end per exponentiation, by arithmetic (ModularArithmetic.name):
#   PROVE_STEPS_PER_POWER, measured by `bench_pietrzak.py --prover-cost` ("p chosen per arithmetic", 2026-12-03):
#   a sliding window makes 64 squarings and ~20 products; on the weighted FFT a product by a table entry costs
#   a squaring (its spectrum is kept). Arithmetics not measured there (the generic FFT, the GFN transform,
#   device arrays) and a chain that does not say which arithmetic runs get PROVE_STEPS_UNKNOWN, the end-to-end
#   cost of the first prover (a 4-bit window per power through integers, GMP products: 190 steps on the FFT).
# - verifying: T/2^p steps, plus p exponentiations for the x side (~94 products each: 64 squarings, 16
#   multiplications, a table of 14) and one Straus multi-exponentiation for the y side (64 + 30p products).
# p is the largest whose proving stays within PROVE_BUDGET of the test, and no larger than the p that minimises
# verification (past it the 2p exponentiations cost more than the halved T/2^p saves).
PROVE_STEPS_PER_POWER = {"gmp": 100, "fft-ibdwt": 100}  # measured 80-106, median ~90: p = 6 at 200k, 7 at 400k
PROVE_STEPS_UNKNOWN = 190
VERIFY_STEPS_PER_POWER = 94
PROVE_BUDGET = 0.03


def proving_steps(p: int, arithmetic: str | None = None) -> float:
    """Modelled cost of making a proof with this p on `arithmetic` (a ModularArithmetic.name; None: not known), in
    steps of the test (the tree evaluation)."""
    return ((1 << p) - p - 1) * PROVE_STEPS_PER_POWER.get(arithmetic or "", PROVE_STEPS_UNKNOWN)


def verifying_steps(steps: int, p: int, verifier_step: float = 1.0) -> float:
    """Modelled cost of verifying a proof with this p: in steps of the verifier's arithmetic, or in steps of the
    test when `verifier_step` is what one step of the verifier costs in steps of the test (e.g. ~4 for the GMP
    verifier against a weighted-FFT test, RESULTS.md)."""
    return verifier_step * (steps / (1 << p) + p * VERIFY_STEPS_PER_POWER + 64 + 30 * p)


def choose_power(steps: int, arithmetic: str | None = None) -> int:
    """p for a chain of `steps` steps on `arithmetic` (1..MAX_POWER): proving within PROVE_BUDGET, verification as
    cheap as that allows. Arithmetic not known: 50k steps: p = 3 (verification ~13% of the steps); 200k: p = 5
    (~3.5%); 1.3M: p = 7 (~0.9%); 5M: p = 9 (~0.2%); on GMP or the weighted FFT one more at most sizes."""
    if steps < 2:
        return 0
    p, limit = 1, min(MAX_POWER, steps.bit_length() - 1)
    while (p < limit and proving_steps(p + 1, arithmetic) <= PROVE_BUDGET * steps
           and verifying_steps(steps, p + 1) < verifying_steps(steps, p)):
        p += 1
    return max(1, min(p, limit))


def _bytes(value: mpz, length: int) -> bytes:
    return int(value).to_bytes(length, "big")


def challenges_start(N: mpz, g: int, s: int, T: int, kind: int, x: mpz, y: mpz) -> bytes:
    n = (N.bit_length() + 7) // 8
    head = struct.pack(">IIQB", g, s, T, kind)
    return hashlib.sha256(TAG + _bytes(N, n) + head + _bytes(x, n) + _bytes(y, n)).digest()


def next_challenge(h: bytes, mu: mpz, n: int) -> tuple[bytes, int]:
    h = hashlib.sha256(h + _bytes(mu, n)).digest()
    return h, int.from_bytes(h[:8], "big")


def statement_kind(N: mpz, A: mpz) -> int | None:
    """Which residue y = g^A gives: A = N-1, (N-1)/2 or N+1; None for anything else."""
    if A == N - 1:
        return KIND_N_MINUS_1
    if 2 * A == N - 1:
        return KIND_HALF
    if A == N + 1:
        return KIND_N_PLUS_1
    return None


def tree_product(values: list[mpz], rs: list[int], N: mpz, arith: ModularArithmetic | None = None) -> mpz:
    """prod values[k]^(weight k) mod N with the weights of Pietrzak's folding: f(first half, rest)^r * f(second half,
    rest) for rs = [r, *rest]; 2^len(rs) - 1 exponentiations by one 64-bit challenge each. With `arith` (the test's
    arithmetic, modulo N or a multiple of it) the whole tree runs on its own residues: each value is converted
    once, one integer comes out; without it, plain gmpy2 (the reference the tests compare against)."""
    if arith is None:
        return _gmpy2_tree(values, rs, N)
    return arith.to_int(_native_tree([arith.from_int(v) for v in values], rs, arith)) % N


def _gmpy2_tree(values: list[mpz], rs: list[int], N: mpz) -> mpz:
    if not rs:
        return values[0]
    half = len(values) // 2
    first = gmpy2.powmod(_gmpy2_tree(values[:half], rs[1:], N), rs[0], N)
    return first * _gmpy2_tree(values[half:], rs[1:], N) % N


def _native_tree(values: list[Residue], rs: list[int], arith: ModularArithmetic) -> Residue:
    if not rs:
        return values[0]
    half = len(values) // 2
    first = _native_tree(values[:half], rs[1:], arith)
    first = arith.power_residue(first, rs[0]) if rs[0] else arith.from_int(1)
    return arith.multiply(first, _native_tree(values[half:], rs[1:], arith))


def prove(N: mpz, g: int, s: int, A: mpz, T: int, p: int, residues: list[mpz], arith: ModularArithmetic | None = None
          ) -> bytes:
    """The proof that the chain computing g^A mod N is right, from residues[j-1] = the chain's value after j*T/2^p
    of the T steps that end one step before the chain does (j = 1..2^p; the last one is y = g^(A div s)).
    `arith`: the test's arithmetic (modulo N or a multiple of it), which makes the tree's products and powers and
    x; None: gmpy2. The bytes are the same either way."""
    kind = statement_kind(N, A)
    if kind is None:
        raise ValueError("the chain's exponent is not N-1, (N-1)/2 or N+1: its residue is not the test's")
    if T % (1 << p) or len(residues) != 1 << p:
        raise ValueError(f"need 2^p = {1 << p} residues over T = {T} steps divisible by 2^p")
    n = (N.bit_length() + 7) // 8
    start = A // s // mpz(s) ** T  # up to ~sqrt(T) bits for a Gerbicz-Li chain (its head): on the test's arithmetic
    x = gmpy2.powmod(g, start, N) if arith is None or start < 2 else arith.power(g, int(start)) % N
    y = residues[-1] % N
    points = [r % N for r in residues]
    h = challenges_start(N, g, s, T, kind, x, y)
    rs: list[int] = []
    mus: list[mpz] = []
    for i in range(1, p + 1):
        stride = 1 << (p - i)  # level i: the odd multiples of T/2^i
        mu = tree_product([points[k * stride - 1] for k in range(1, 1 << i, 2)], rs, N, arith)
        mus.append(mu)
        h, r = next_challenge(h, mu, n)
        rs.append(r)
    header = HEADER.pack(MAGIC, VERSION, kind, p, 0, g, s, T, hashlib.sha256(_bytes(N, n)).digest(), n)
    return header + b"".join(_bytes(v, n) for v in [y, *mus])


@dataclass
class ProofRecorder:
    """Keeps the residues a chain is asked for and makes the proof at its end (gerbicz.ResidueRecorder).

    The proof covers T = the largest multiple of 2^p steps ending one step before the chain's last, so 2^p
    residues are kept (in memory and in the residue file beside the checkpoint, stores/residue_file.py: 2^p * bits/8
    bytes, 40 MiB at 1.3M bits with p = 8).
    `power` forces p (tests); otherwise choose_power for the chain's arithmetic. After the test, `proof` holds the
    bytes or None with `reason` saying why there is none (no chain ran, residues lost, exponent not the test's...).
    """

    power: int | None = None
    proof: bytes | None = None
    reason: str = "no Fermat chain ran (a number below 2^64 is answered directly)"
    p: int = 0
    T: int = 0

    def positions(self, steps: int, arithmetic: str | None = None) -> list[int]:
        """The proof covers the T steps ending one before the chain's last (see the module docs: the sign).
        `arithmetic`: the chain's (ModularArithmetic.name), whose measured cost of proving sets p."""
        self.p = min(self.power or choose_power(steps - 1, arithmetic), max(0, (steps - 1).bit_length() - 1),
                     MAX_POWER)
        if self.p < 1:
            self.reason = f"the chain has {steps} steps: too short for a proof"
            return []
        self.T = (steps - 1) - (steps - 1) % (1 << self.p)
        return self._wanted(steps)

    def _wanted(self, steps: int) -> list[int]:
        first, stride = steps - 1 - self.T, self.T >> self.p
        return [first + j * stride for j in range(1, (1 << self.p) + 1)]

    def finish(self, modulus: mpz, base: int, step: int, exponent: mpz, steps: int, captured: dict[int, mpz],
               y: mpz, arith: ModularArithmetic | None = None) -> None:
        self.proof = None
        if self.p < 1:
            return
        if gmpy2.gcd(base, modulus) != 1:
            self.reason = f"the base {base} shares a factor with N: no proof (N is composite)"
            return
        if statement_kind(mpz(modulus), mpz(exponent)) is None:
            self.reason = "the chain's exponent is not N-1, (N-1)/2 or N+1"
            return
        wanted = self._wanted(steps)
        missing = [k for k in wanted if k not in captured]
        if missing:
            self.reason = f"{len(missing)} kept residues missing (resumed from a checkpoint made without them)"
            return
        last = captured[wanted[-1]] % modulus
        if gmpy2.powmod(last, step, modulus) * gmpy2.powmod(base, exponent % step, modulus) % modulus != y % modulus:
            self.reason = "the kept residue before the last step does not lead to the result: no proof"
            return
        args = (mpz(modulus), base, step, mpz(exponent), self.T, self.p, [captured[k] for k in wanted])
        try:
            self.proof = prove(*args, arith)
        except RoundoffError:  # the FFT's round-off passed its limit at its longest length: the same proof in GMP
            self.proof = prove(*args)
        self.reason = ""
