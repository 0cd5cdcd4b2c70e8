"""The independent verifier of Pietrzak proofs (proofs/pietrzak.py has the scheme, format and security argument).

It imports nothing from the prover, the test or its arithmetic (darkreach_pipeline.arith; the rule is pinned
by tests/engine/test_import_rules.py): its own parsing of the version-1 format, its own Fiat-Shamir hashing, its
own folding, and arithmetic of its own (gmpy2, and proofs/verifier_fft.py, used by nothing else). It takes N from
the caller (derived from the candidate's parameters) and never trusts a field it can derive: x = g^(A div s^T)
and the digit segments of A mod s^T are recomputed from N, the statement kind only selects which of three true
relations links y to the Fermat residue g^(N-1) mod N. It answers accept or reject with a reason and never
raises on bad input.

Cost: T/2^p steps x -> x^s (for s = 2 with the digits' small multiplications by g folded in: one binary chain),
p 64-bit exponentiations for the x side (each needs the previous one) and one Straus multi-exponentiation for the
y side (y_p = y * prod mu_i^r_i: the p powers share their 64 squarings), and 2^p small multiplications. When N
or 3N (Wagstaff) is K*2^e+-1 with K below 2^20 and at least FFT_FROM_BITS bits, all three run on the verifier's
own weighted FFT modulo that number (verifier_fft.py; b^(2^m)+1 too: a step costs 1.0-1.4 steps of the FFT test,
conversions included, once its plans are measured, 1.2-2.1 before, where GMP products cost 4.6-5.7;
benchmarks/RESULTS.md), and the claim is compared modulo N; a product whose round-off passes the limit is
redone on GMP, and a claim that fails on the FFT is recomputed on GMP before the proof is rejected (round-off can
neither accept nor reject). Smaller numbers of that shape (and larger K) use a GMP shape reduction of its own (a
quotient estimate from the top bits: 2.4-3.9x gmpy2.powmod's generic products); any other N gmpy2.powmod.
DARKREACH_VERIFIER_FFT=always|never overrides the size rule.
"""

from __future__ import annotations

import hashlib
import math
import os
import struct
from dataclasses import dataclass

import gmpy2
from gmpy2 import mpz

from darkreach_pipeline.proofs.verifier_fft import MAX_SMALL, GfnFFT, RoundoffError, ShapeFFT

FORMAT = struct.Struct(">4sBBBBIIQ32sI")
FORMAT_TAG = b"darkreach-pietrzak-v1"
MAX_P = 16
MAX_BYTES = 64 << 20  # a proof is (p+1) residues: 64 MiB covers 17 residues of 31 M bits
FFT_FROM_BITS = 6_000  # below, the shape reduction's GMP products beat the verifier's FFT (crossover 4-6k bits)


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    reason: str
    res64: str = ""  # the RES64 of g^(N-1) mod N the proof establishes (when accepted)
    power: int = 0  # p, T and s of the proof (what its verification cost)
    steps: int = 0
    step: int = 0
    arithmetic: str = ""  # what ran the long chain: "gmp", "fft/L", with "-> gmp" where round-off sent it back


class _Modulus:
    """Arithmetic modulo M = N or a multiple of N of the shape K*2^e + c (K < 2^64): on the verifier's own FFT
    (verifier_fft.py) where it pays, else products reduced from the top bits, squaring loops and 64-bit powers by
    a 4-bit window; generic gmpy2.powmod for any other N. `arithmetic` names what ran."""

    def __init__(self, N: mpz, *, fft: bool = True):
        self.M, self.shape, self.use_fft = N, None, fft
        self._engine: ShapeFFT | None = None
        self.trips: list[float] = []  # round-offs that sent a product back to GMP
        for multiple in (1, 3):
            for c in (1, -1):
                top = N * multiple - c
                e = gmpy2.bit_scan1(top)
                if e is not None and e >= 64 and (top >> e).bit_length() <= 64:
                    self.M, self.shape = N * multiple, (int(top >> e), e, c)
                    return
        self.gfn = _generalized_fermat(N)

    def engine(self) -> ShapeFFT | None:
        """The verifier's own FFT for M where it pays (M of the shape, at least FFT_FROM_BITS bits, K small);
        DARKREACH_VERIFIER_FFT=always|never overrides the size rule (tests take it on small numbers)."""
        mode = os.environ.get("DARKREACH_VERIFIER_FFT", "auto")
        if not self.use_fft or mode == "never" or mode != "always" and self.M.bit_length() < FFT_FROM_BITS:
            return None
        if self._engine is not None:
            return self._engine
        writings = [(ShapeFFT, self.shape)] if self.shape is not None else [(GfnFFT, bm) for bm in self.gfn]
        for kind, args in writings:  # for b^(2^m)+1 the shortest length whose base-b digits fit
            try:  # a shape the FFT does not take (K too large, digits too wide) stays on GMP: never a verdict
                self._engine = kind(*args)
                break
            except ValueError:
                continue
        return self._engine

    @property
    def arithmetic(self) -> str:
        if self._engine is None:
            return "gmp"
        trips = f" -> gmp after round-off {max(self.trips):.2f}" if self.trips else ""
        return f"fft/{self._engine.L}{trips}"

    def mul(self, a: mpz, b: mpz) -> mpz:
        if self.shape is None:
            return a * b % self.M
        K, e, c = self.shape
        y = a * b
        q = (y >> e) // K
        r = y - ((q * K) << e) - c * q  # y - q*M
        while r < 0:
            r += self.M
        while r >= self.M:
            r -= self.M
        return r

    def power(self, x: mpz, r: int) -> mpz:
        return self.multi_power([x], [r])

    def multi_power(self, bases: list[mpz], exponents: list[int]) -> mpz:
        """prod bases[i]^exponents[i] (64-bit exponents) by Straus's method: the squarings are shared, so p
        powers cost 64 squarings + p * (14 + 16) products instead of p * 94. On the FFT where it pays (a
        round-off trip redoes it on GMP)."""
        engine = self.engine()
        if engine is not None:
            try:
                return engine.multi_power(bases, exponents)
            except RoundoffError as trip:
                self.trips.append(trip.roundoff)
        if self.shape is None:
            out = mpz(1)
            for b, r in zip(bases, exponents, strict=True):
                out = out * gmpy2.powmod(b, r, self.M) % self.M
            return out
        tables = []
        for b in bases:
            table = [mpz(1), b]
            for _ in range(14):
                table.append(self.mul(table[-1], b))
            tables.append(table)
        width = max(r.bit_length() for r in exponents)
        out = mpz(1)
        for shift in range(((width + 3) // 4) * 4 - 4, -4, -4):
            for _ in range(4):
                out = self.mul(out, out)
            for table, r in zip(tables, exponents, strict=True):
                if (r >> shift) & 15:
                    out = self.mul(out, table[(r >> shift) & 15])
        return out

    def binary_chain(self, z: mpz, digits: mpz, count: int, g: int) -> mpz:
        """z^(2^count) * g^digits (digits < 2^count): count squarings, each followed by a multiplication by the
        small g where the digit's bit is 1 (a linear-time product, not a full one). On the FFT where it pays; a
        squaring whose round-off passes the limit sends the rest of the chain, from the last state saved before
        it, to the GMP products."""
        engine = self.engine() if count and g < MAX_SMALL else None
        if engine is not None:
            try:
                return engine.chain(z, digits, count, g)
            except RoundoffError as trip:
                self.trips.append(trip.roundoff)
                z, count = trip.state, trip.left
                digits &= (mpz(1) << count) - 1
        if self.shape is None:
            return gmpy2.powmod(z, mpz(2) ** count, self.M) * gmpy2.powmod(g, digits, self.M) % self.M
        for i in range(count - 1, -1, -1):
            z = self.mul(z, z)
            if (digits >> i) & 1:
                z = z * g % self.M
        return z


def _generalized_fermat(N: mpz) -> list[tuple[int, int]]:
    """Every (b, m) with N = b^(2^m) + 1, m >= 4 and b < 2^32, the smallest m first (b^(2^m) for b = c^2 is also
    c^(2^(m+1))): the writings a GfnFFT may take."""
    found, root, m = [], N - 1, 0
    while root > 1 and gmpy2.is_square(root):
        root, m = gmpy2.isqrt(root), m + 1
        if m >= 4 and root.bit_length() <= 32:
            found.append((int(root), m))
    return found


def _reject(reason: str) -> Verdict:
    return Verdict(False, reason)


def _big_endian(value: mpz, length: int) -> bytes:
    return int(value).to_bytes(length, "big")


def _head_limit(A: mpz, p: int, s: int) -> int:
    """The most bits A div s^T may have: a chain's head (its first Gerbicz block, the odd k) plus the steps the
    proof leaves out to make T a multiple of 2^p; a larger head would make the verifier redo the test."""
    return 4 * math.isqrt(A.bit_length()) + (1 << p) * s.bit_length() + 192


def verify_prp_proof(N: int, proof: bytes, *, base: int | None = None, res64: str | None = None) -> Verdict:
    """Check `proof` for the number N: accept only if it proves g^(N-1) mod N, and (if given) that the base is
    `base` and the RES64 equals `res64`."""
    try:
        return _verify(mpz(N), proof, base, res64)
    except (ValueError, TypeError, OverflowError, ZeroDivisionError, struct.error) as exc:  # never a crash
        return _reject(f"malformed proof: {exc!r}")


def _verify(N: mpz, proof: bytes, base: int | None, res64: str | None) -> Verdict:
    if not isinstance(proof, (bytes, bytearray)):
        return _reject(f"the proof is {type(proof).__name__}, not bytes")
    if N < 5 or N % 2 == 0:
        return _reject(f"N = {N} is not an odd number above 4: no proof applies")
    if len(proof) > MAX_BYTES:
        return _reject(f"the proof has {len(proof)} bytes, above the limit of {MAX_BYTES}")
    if len(proof) < FORMAT.size:
        return _reject(f"truncated: {len(proof)} bytes, shorter than the {FORMAT.size}-byte header")
    magic, version, kind, p, reserved, g, s, T, digest, n = FORMAT.unpack_from(proof)
    if magic != b"DRPP":
        return _reject(f"not a proof file (magic {magic!r}, expected b'DRPP')")
    if version != 1:
        return _reject(f"proof format version {version}: this verifier reads version 1")
    if reserved:
        return _reject("reserved header byte is not 0")
    width = (N.bit_length() + 7) // 8
    if n != width:
        return _reject(f"residues of {n} bytes, but N has {width}: a proof for another number")
    if hashlib.sha256(_big_endian(N, width)).digest() != digest:
        return _reject("the proof names another number (SHA-256 of N differs): a proof for another candidate")
    if not 1 <= p <= MAX_P:
        return _reject(f"p = {p} outside 1..{MAX_P}")
    expected = FORMAT.size + (p + 1) * n
    if len(proof) != expected:
        what = "truncated" if len(proof) < expected else "oversized"
        return _reject(f"{what}: {len(proof)} bytes, a proof with p = {p} has {expected}")
    if base is not None and g != base:
        return _reject(f"base {g}, but the reported residue is to base {base}")
    if not 2 <= g < N or gmpy2.gcd(g, N) != 1:
        return _reject(f"base {g} is not a unit below N")
    if s < 2:
        return _reject(f"step exponent s = {s} below 2")
    if kind == 1:
        A, residue = N - 1, None
    elif kind == 2:
        A, residue = (N - 1) // 2, None
    elif kind == 3:
        A, residue = N + 1, None
    else:
        return _reject(f"unknown statement kind {kind} (1: N-1, 2: (N-1)/2, 3: N+1)")
    if T < (1 << p) or T % (1 << p):
        return _reject(f"T = {T} steps is not a positive multiple of 2^p = {1 << p}")
    if T * (s.bit_length() - 1) >= A.bit_length():
        return _reject(f"T = {T} steps of x -> x^{s} exceed the exponent of N's test")
    A, last = divmod(A, s)  # the proof is about the chain one step before its end
    s_T = mpz(s) ** T
    head, tail = divmod(A, s_T)
    if head == 0:
        return _reject(f"T = {T} steps of x -> x^{s} exceed the exponent of N's test")
    if head.bit_length() > _head_limit(A, p, s):
        return _reject(f"T = {T} leaves a head of {head.bit_length()} bits to compute: too short a proof")
    values = [mpz(int.from_bytes(proof[FORMAT.size + i * n: FORMAT.size + (i + 1) * n], "big")) for i in range(p + 1)]
    y, mus = values[0], values[1:]
    if y >= N:
        return _reject("y is not reduced mod N")
    if y == 0:
        return _reject("y is not a unit mod N")
    for i, mu in enumerate(mus, start=1):
        if mu >= N:
            return _reject(f"middle value {i} is not reduced mod N")
        if mu in (0, 1, N - 1):
            return _reject(f"middle value {i} is trivial ({0 if mu == 0 else 1 if mu == 1 else -1} mod N)")
    product = y
    for mu in mus:  # all are units iff their product is: one gcd instead of p + 1 (each costs ~15 products)
        product = product * mu % N
    if gmpy2.gcd(product, N) != 1:
        names = ["y", *(f"middle value {i}" for i in range(1, p + 1))]
        which = next(name for name, v in zip(names, values, strict=True) if gmpy2.gcd(v, N) != 1)
        return _reject(f"{which} is not a unit mod N")
    segment = T >> p
    s_seg = mpz(s) ** segment
    segments = []
    for _ in range(1 << p):  # the digit value of each segment, the last segment first
        tail, part = divmod(tail, s_seg)
        segments.append(part)
    segments.reverse()

    def folded_claim(work: _Modulus) -> tuple[mpz, mpz]:
        """(x_p^(s^segment) g^digits, y_p) mod N: the two sides of the last level's claim, x = g^head and the
        challenges computed again, x and y folded (representatives modulo M, a multiple of N)."""
        x = work.binary_chain(mpz(1), head, head.bit_length(), g) % N  # g^head
        state = hashlib.sha256(FORMAT_TAG + _big_endian(N, n) + struct.pack(">IIQB", g, s, T, kind)
                               + _big_endian(x, n) + _big_endian(y, n)).digest()
        parts, rs = segments, []
        for mu in mus:
            state = hashlib.sha256(state + _big_endian(mu, n)).digest()
            r = int.from_bytes(state[:8], "big")
            rs.append(r)
            x = work.mul(work.power(x, r), mu)
            half = len(parts) // 2
            parts = [r * parts[k] + parts[k + half] for k in range(half)]
        y_p = work.mul(work.multi_power(mus, rs), y)  # y_i = mu_i^r_i y_(i-1): y_p = y prod mu_i^r_i, one chain
        if s == 2:  # x^(2^seg) g^c = (x g^(c >> seg))^(2^seg) g^(c mod 2^seg): one binary chain of seg steps
            high, low = divmod(parts[0], s_seg)
            end = work.binary_chain(work.mul(x, gmpy2.powmod(g, high, work.M)), low, segment, g)
        else:
            end = gmpy2.powmod(x, s_seg, work.M) * gmpy2.powmod(g, parts[0], work.M) % work.M
        return end % N, y_p % N

    work = _Modulus(N)
    end, y_end = folded_claim(work)
    if end != y_end and end != N - y_end and work.arithmetic != "gmp":  # a rejection never rests on round-off
        work = _Modulus(N, fft=False)
        end, y_end = folded_claim(work)
    if end != y_end and end != N - y_end:  # equal up to sign: the claim holds in Z_N*/{+-1}
        return _reject("the folded claim fails: the residue does not follow from the chain")
    y0 = gmpy2.powmod(values[0], s, N) * gmpy2.powmod(g, last, N) % N  # the chain's last step, sign-free for even s
    if kind == 1:
        residue = y0
    elif kind == 2:
        residue = y0 * y0 % N
    else:
        residue = y0 * gmpy2.invert(g * g, N) % N
    if s % 2 and kind != 2 and residue == N - 1:
        return _reject("the residue is -1 after an odd last step: indistinguishable from the sign forgery")
    found = format(int(residue) & 0xFFFF_FFFF_FFFF_FFFF, "016x")
    if res64 is not None and found != res64.lower():
        return Verdict(False, f"the proof gives RES64 {found}, the result reports {res64}", found, p, T, s,
                       work.arithmetic)
    return Verdict(True, f"accepted: p = {p}, T = {T} steps of x -> x^{s}", found, p, T, s, work.arithmetic)
