"""Gerbicz error checking for squaring chains x -> x^(2^T) mod N, with rollback and fault injection.

The chain is cut into blocks of L squarings. The checksum d(t) = u(0)*u(L)*...*u(tL) obeys
d(t+1) = u(0) * d(t)^(2^L), so recomputing the right side (L squarings) every few blocks proves
that every squaring since the last check was right, with probability ~1 - 1/N per check. On a
mismatch the chain rolls back to the last verified state and replays; the same failure repeated
fails the candidate loudly. Coverage gaps of plain GEC are closed: the start value is computed
twice, the T mod L head squarings are done twice, and a check is forced at the end.

Cost: T/L multiplications for the checksum, L squarings per check, the head twice: about
2*sqrt(T) extra operations for a chain checked once at the end (0.65% at T = 100,000).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import gmpy2
from gmpy2 import mpz

from darkreach_pipeline.arith.base import ModularArithmetic, RoundoffError
from darkreach_pipeline.arith.gmp import GMPArithmetic
from darkreach_pipeline.arith.select import arithmetic_for
from darkreach_pipeline.primality.special_form import SpecialModulus

MAX_RETRIES = 3


class GerbiczError(RuntimeError):
    """The same block failed its check repeatedly: the hardware or software cannot be trusted."""


@dataclass
class Fault:
    """Test/diagnostic hook: flip `bit` of the residue right after squaring number `iteration`.

    iteration 0 corrupts the start value. A fault fires once (a transient hardware error) unless
    `persistent`, which fires every time the chain passes that squaring (a broken machine).
    """

    iteration: int
    bit: int = 0
    persistent: bool = False
    fired: bool = False


class ResidueRecorder(Protocol):
    """What a chain tells a proof recorder (proofs/pietrzak.ProofRecorder): which steps to keep, then the end."""

    def positions(self, steps: int, arithmetic: str | None = None) -> list[int]:
        """Steps (1..steps, counted after the chain's head) whose residue is kept; `arithmetic` names the chain's
        arithmetic (ModularArithmetic.name), whose cost of proving sets how many."""
        ...

    def finish(self, modulus: mpz, base: int, step: int, exponent: mpz, steps: int, captured: dict[int, mpz],
               y: mpz, arith: ModularArithmetic | None = None) -> None:
        """The chain computed y = base^exponent mod modulus; its last `steps` steps (x -> x^step*base^digit) were
        recorded at the positions asked for (`captured`, possibly modulo a multiple of modulus). `arith`: the
        chain's own arithmetic (modulo modulus or a multiple of it), when it has one: the proof is made on it."""
        ...


@dataclass
class ChainState:
    """A verified point of the chain: enough to resume after a crash, with the residues kept for a proof."""

    done: int  # squarings done (after the head)
    x: mpz
    d: mpz
    start: mpz  # u(0) of the block chain (after the head)
    block: int  # L, which a resumed chain must keep
    captured: dict[int, mpz] = field(default_factory=dict)  # proof residues up to `done` (absolute step -> x)

    def to_json(self) -> dict[str, object]:
        """The state without its kept residues: those travel as a binary file (stores/residue_file.py)."""
        return {"done": self.done, "x": self.x.digits(16), "d": self.d.digits(16), "start": self.start.digits(16),
                "block": self.block}

    @classmethod
    def from_json(cls, data: dict, captured: dict[int, mpz] | None = None) -> ChainState:
        return cls(int(data["done"]), mpz(data["x"], 16), mpz(data["d"], 16), mpz(data["start"], 16),
                   int(data["block"]), dict(captured or {}))


def kept_until(captured: dict[int, mpz], step: int) -> dict[int, mpz]:
    """The captured residues at or before absolute `step` (what a verified state may carry)."""
    return {k: v for k, v in captured.items() if k <= step}


def steps_with_events(faults: list[Fault], capture: set[int], first: int, count: int) -> list[tuple[int, Fault | None]]:
    """The stops inside steps first+1..first+count, in order: each unfired fault, and each capture (None),
    a fault before a capture of the same step (so the captured residue is the one the chain goes on with)."""
    events: list[tuple[int, int, Fault | None]] = [
        (f.iteration, 0, f) for f in faults if not f.fired and first < f.iteration <= first + count]
    events += [(c, 1, None) for c in capture if first < c <= first + count]
    return [(step, f) for step, _, f in sorted(events, key=lambda e: (e[0], e[1]))]


@dataclass
class ChainReport:
    checks: int = 0
    rollbacks: int = 0
    squarings: int = 0
    extra_operations: int = 0
    resumed_from: int | None = None
    faults_injected: list[int] = field(default_factory=list)
    arithmetic: str = "gmp"  # which arithmetic squared (arith.select), with its FFT length
    max_roundoff: float = 0.0  # the largest FFT round-off seen (0 for GMP)

    def outcome_fields(self) -> dict[str, int | float | str]:
        """What a TestOutcome records of its chain: checks, rollbacks and the arithmetic that ran."""
        return {"checks": self.checks, "rollbacks": self.rollbacks, "arithmetic": self.arithmetic,
                "max_roundoff": self.max_roundoff}


def default_block(total: int) -> int:
    """L minimising the extra work of one checked chain: T/L checksum products, one final check of
    L squarings, and the T mod L head squarings done twice."""
    if total < 16:
        return max(1, total)
    root = math.isqrt(total)
    return min(range(max(2, root // 2), 2 * root + 1), key=lambda L: total // L + L + total % L)


def inject_fault(faults: list[Fault], report: ChainReport, iteration: int, x: mpz) -> mpz:
    """x with the scheduled fault of step `iteration` applied (if any), recorded in the report; faults are
    applied between steps, never inside the arithmetic."""
    for f in faults:
        if f.iteration == iteration and not f.fired:
            f.fired = not f.persistent
            report.faults_injected.append(iteration)
            return x ^ (mpz(1) << f.bit)
    return x


def computed_until_agreed(compute: Callable[[], mpz], report: ChainReport, check: bool) -> mpz:
    """A chain's start value, computed until two computations agree (it precedes the first checksum, so
    no Gerbicz check covers it); each disagreement counts as a rollback. Unchecked: computed once."""
    previous = None
    for _ in range(2 + MAX_RETRIES):
        x = compute()
        if previous is not None and x == previous:
            return x
        if previous is not None:
            report.rollbacks += 1
        previous = x
        if not check:
            return x
    raise GerbiczError("start value disagreed between repeated computations")


def initial_state(chain: GerbiczChain | GerbiczLiChain, resume: ChainState | None, offset: int) -> ChainState:
    """Where a chain starts: the verified state it resumes (same block length; the proof residues it still needs
    kept), else its start value, computed until two computations agree. `offset`: steps before the blocks."""
    chain.captured = {}
    if resume is None:
        start = chain._start_value()
        return ChainState(done=0, x=start, d=start, start=start, block=chain.L)
    if resume.block != chain.L:
        raise ValueError(f"checkpoint uses block length {resume.block}, this chain {chain.L}")
    chain.captured = {k: v for k, v in resume.captured.items() if k in chain.capture}
    chain.report.resumed_from = offset + resume.done
    return resume


def rolled_back(report: ChainReport, failures: int, where: str) -> int:
    """Count a failed check (the chain rolls back to its last verified state); give up past MAX_RETRIES."""
    failures += 1
    report.rollbacks += 1
    if failures > MAX_RETRIES:
        raise GerbiczError(f"{where}: the check failed {failures} times; no result is reported for this candidate")
    return failures


def exact_or_gmp(owner, run: Callable[[ModularArithmetic], mpz]) -> mpz:
    """run(owner.arith); if an FFT arithmetic's round-off passed its limit at its longest length, the chain
    switches to GMP for good and reruns the same steps from their (integer) input: never a guessed result."""
    try:
        return run(owner.arith)
    except RoundoffError:
        owner.arith = GMPArithmetic(owner.arith.N, *owner.shape)
        return run(owner.arith)


def describe(arith: ModularArithmetic) -> tuple[str, float]:
    """(the arithmetic's name with its FFT length if any, the largest round-off it saw): what a result records."""
    length = getattr(arith, "L", None)
    return (f"{arith.name}/{length}" if length else arith.name), arith.stats.max_roe


class Reducer:
    """Arithmetic mod N for a chain. `step` is the chain's exponent per step: 2 (squarings), or b for base-b
    forms (x -> x^b).

    Squaring chains run on the arithmetic `arith.select` picks for N = K*2^e+c (an FFT arithmetic above its
    crossover, else GMP's special-form loop or a generic reduction); the Gerbicz checksum products, one per
    block, stay in GMP.
    """

    def __init__(self, N: mpz, K: int | None = None, e: int | None = None, c: int | None = None, step: int = 2):
        self.N = N
        self.step = step
        self.shape = (K, e, c)
        self.arith = arithmetic_for(N, K, e, c) if step == 2 else None
        shaped = step == 2 and K is not None and e is not None and c in (1, -1) and SpecialModulus.applies(K, e)
        self.special = SpecialModulus(K, e, c) if shaped else None

    def reduce(self, y: mpz) -> mpz:
        """y mod N for a product of two residues, in GMP."""
        return self.special.reduce(y) if self.special else y % self.N

    def square_chain(self, x: mpz, count: int) -> mpz:
        """x^(step^count) mod N: the chosen arithmetic's squaring loop, or one powmod over the whole run of steps
        (a powmod per step would pay its Montgomery set-up every time: 3.4-5.1x slower)."""
        if self.arith:
            return exact_or_gmp(self, lambda arith: arith.square_chain(x, count))
        return gmpy2.powmod(x, mpz(self.step) ** count, self.N)

    def describe(self) -> tuple[str, float]:
        return describe(self.arith) if self.arith else ("gmp", 0.0)


class GerbiczChain:
    """Compute base^(exponent_odd * step^total) mod N with Gerbicz checks (step = reducer.step).

    `faults` inject transient or persistent errors (tests and diagnostics); `check=False` turns the checking
    off, which is how the tests show that an unchecked fault silently corrupts the residue.
    `on_verified` receives each verified ChainState (checkpoints); `resume` continues from one.
    """

    def __init__(
        self,
        reducer: Reducer,
        base: int,
        exponent_odd: int,
        total: int,
        block: int | None = None,
        check_every: int | None = None,
        check: bool = True,
        faults: list[Fault] | None = None,
    ):
        self.r = reducer
        self.base, self.odd, self.total = base, exponent_odd, total
        self.L = min(block or default_block(total), max(1, total))
        self.check_every = check_every or self.L  # blocks between checks (L^2 squarings)
        self.check = check
        self.faults = sorted(faults or [], key=lambda f: f.iteration)
        self.report = ChainReport()
        self.capture: set[int] = set()  # absolute steps whose residue a proof recorder keeps
        self.captured: dict[int, mpz] = {}

    # --- fault injection (inject_fault) ----------------------------------------------------------
    def _fault_at(self, iteration: int, x: mpz) -> mpz:
        return inject_fault(self.faults, self.report, iteration, x)

    def _squarings(self, x: mpz, first: int, count: int) -> mpz:
        """count squarings numbered first+1 .. first+count, with any scheduled faults applied and the residues
        a proof needs kept (a copy every T/2^p steps)."""
        done = 0
        for step, fault in steps_with_events(self.faults, self.capture, first, count):
            if step - first > done:
                x = self.r.square_chain(x, step - first - done)
            done = step - first
            if fault is not None:
                x = self._fault_at(step, x)
            else:
                self.captured[step] = x
        self.report.squarings += count
        return self.r.square_chain(x, count - done) if count > done else x

    # --- the chain -------------------------------------------------------------------------------
    def _start_value(self) -> mpz:
        """base^odd, computed until two computations agree (covers GEC's blind spot at u(0))."""
        head = self.total % self.L
        return computed_until_agreed(
            lambda: self._squarings(self._fault_at(0, gmpy2.powmod(self.base, self.odd, self.r.N)), 0, head),
            self.report, self.check)

    def run(
        self,
        resume: ChainState | None = None,
        on_verified: Callable[[ChainState], None] | None = None,
        want_check: Callable[[], bool] | None = None,
        proof: ResidueRecorder | None = None,
    ) -> mpz:
        """Run (or resume) the chain. `want_check` lets a checkpointer force an early check, so that a
        long test can save a verified state on its schedule; each verified state goes to `on_verified`.
        `proof` keeps the residues it asks for (carried by every verified state, so they survive a resume)
        and gets the end of the chain."""
        head = self.total % self.L
        arithmetic = self.r.arith.name if self.r.arith else "gmp"  # x -> x^b chains: gmpy2.powmod
        self.capture = ({head + s for s in proof.positions(self.total - head, arithmetic)} if proof is not None
                        else set())
        state = initial_state(self, resume, head)
        remaining_blocks = (self.total - head - state.done) // self.L
        verified = state
        x, d, done = state.x, state.d, state.done
        d_prev = None
        failures = 0
        blocks_since_check = 0
        while remaining_blocks > 0 or (self.check and blocks_since_check > 0):
            if remaining_blocks > 0:
                d_prev = d
                x = self._squarings(x, head + done, self.L)
                done += self.L
                if self.check:
                    d = self.r.reduce(d * x)
                    self.report.extra_operations += 1
                remaining_blocks -= 1
                blocks_since_check += 1
            if not self.check:
                continue
            due = blocks_since_check >= self.check_every or remaining_blocks == 0
            if due or (want_check is not None and want_check()):
                self.report.checks += 1
                self.report.extra_operations += self.L + 1
                expected = self.r.reduce(self.r.square_chain(d_prev, self.L) * verified.start)
                if expected == d:
                    verified = ChainState(done=done, x=x, d=d, start=verified.start, block=self.L,
                                          captured=kept_until(self.captured, head + done))
                    failures = 0
                    blocks_since_check = 0
                    if on_verified is not None:
                        on_verified(verified)
                else:
                    failures = rolled_back(self.report, failures, f"Gerbicz check, squaring {head + verified.done}")
                    x, d, done = verified.x, verified.d, verified.done
                    self.captured = dict(verified.captured)
                    remaining_blocks = (self.total - head - done) // self.L
                    blocks_since_check = 0
        self.report.arithmetic, self.report.max_roundoff = self.r.describe()
        if proof is not None:
            proof.finish(self.r.N, self.base, self.r.step, mpz(self.odd) * mpz(self.r.step) ** self.total,
                         self.total - head, {k - head: v for k, v in self.captured.items()}, x, self.r.arith)
        return x


class GerbiczLiChain:
    """base^E mod N for an arbitrary exponent E (n!+-1, p#+-1, Wagstaff, repunits...), Gerbicz-Li checked.

    E is read from the top in a head of 1..L bits and m blocks of L bits (digits c_j). With
    x_j = x_{j-1}^(2^L) * base^(c_j) and checksum d_j = x_0 * x_1 * ... * x_j, every block obeys
    d_j = x_0 * d_{j-1}^(2^L) * base^(c_1 + ... + c_j): a check costs L squarings plus a small power
    of the base, so the checking overhead is ~2/sqrt(T) as for squaring chains. Inside a block the
    chain is plain left-to-right binary exponentiation (a square, and a multiply by the small base).
    Same interface as GerbiczChain (ChainState checkpoints, faults, want_check, report).

    The blocks run on `arith` (its modulus may be a multiple of the number `tested`: Wagstaff's (2^p+1)/3 is
    tested modulo 2^p+1, where the weighted FFT applies; the caller reduces the result); the checksums and
    checks stay in GMP and compare modulo `tested`, so a checkpoint made modulo either resumes on either.
    """

    def __init__(
        self,
        arith: ModularArithmetic,
        base: int,
        exponent: int,
        block: int | None = None,
        check_every: int | None = None,
        check: bool = True,
        faults: list[Fault] | None = None,
        tested: mpz | None = None,
    ):
        if exponent < 1:
            raise ValueError("the exponent must be positive")
        self.tested = tested or arith.N
        self.arith, self.shape = arith, (None, None, None)
        self.N, self.base, self.E = arith.N, mpz(base), mpz(exponent)
        T = self.E.bit_length()
        self.L = min(block or default_block(T), T)
        self.blocks = (T - 1) // self.L
        self.head_bits = T - self.blocks * self.L
        self.check_every = check_every or self.L
        self.check = check
        self.faults = sorted(faults or [], key=lambda f: f.iteration)
        self.report = ChainReport()
        self.capture: set[int] = set()
        self.captured: dict[int, mpz] = {}

    def _digit(self, j: int) -> int:
        """c_j, the j-th L-bit digit after the head (j = 1..blocks)."""
        return int((self.E >> (self.L * (self.blocks - j))) & ((1 << self.L) - 1))

    def _fault_at(self, iteration: int, x: mpz) -> mpz:
        return inject_fault(self.faults, self.report, iteration, x)

    def _bits(self, x: mpz, digit: int, count: int, first: int) -> mpz:
        """count steps x -> x^2 * base^bit over the bits of `digit`; steps numbered first+1.. first+count,
        with any scheduled faults applied between steps and the residues a proof needs kept."""
        done = 0
        for step, fault in steps_with_events(self.faults, self.capture, first, count):
            steps = step - first - done
            if steps:
                x = self._binary_chain(x, (digit >> (count - done - steps)) & ((1 << steps) - 1), steps)
            done += steps
            if fault is not None:
                x = self._fault_at(step, x)
            else:
                self.captured[step] = x
        self.report.squarings += count
        rest = count - done
        return self._binary_chain(x, digit & ((1 << rest) - 1), rest) if rest else x

    def _binary_chain(self, x: mpz, digit: int, count: int) -> mpz:
        return exact_or_gmp(self, lambda arith: arith.binary_chain(x, digit, count, int(self.base)))

    def _start_value(self) -> mpz:
        """base^(head digits), computed until two computations agree."""
        head = int(self.E >> (self.L * self.blocks))
        return computed_until_agreed(lambda: self._bits(self._fault_at(0, mpz(1)), head, self.head_bits, 0),
                                     self.report, self.check)

    def run(
        self,
        resume: ChainState | None = None,
        on_verified: Callable[[ChainState], None] | None = None,
        want_check: Callable[[], bool] | None = None,
        proof: ResidueRecorder | None = None,
    ) -> mpz:
        L, N = self.L, self.N
        steps = self.blocks * L
        self.capture = ({self.head_bits + s for s in proof.positions(steps, self.arith.name)} if proof is not None
                        else set())
        state = initial_state(self, resume, self.head_bits)
        verified = state
        x, d, j = state.x, state.d, state.done // L
        digit_sum = sum(self._digit(i) for i in range(1, j + 1))
        verified_sum = digit_sum
        d_prev = None
        failures = since_check = 0
        while j < self.blocks or (self.check and since_check > 0):
            if j < self.blocks:
                j += 1
                d_prev = d
                c = self._digit(j)
                x = self._bits(x, c, L, self.head_bits + (j - 1) * L)
                digit_sum += c
                since_check += 1
                if self.check:
                    d = d * x % N
                    self.report.extra_operations += 1
            if not self.check:
                continue
            if since_check >= self.check_every or j == self.blocks or (want_check is not None and want_check()):
                self.report.checks += 1
                self.report.extra_operations += L + digit_sum.bit_length() + 2
                expected = exact_or_gmp(self, lambda arith, d=d_prev: arith.square_chain(d, L)) * verified.start % N
                expected = expected * gmpy2.powmod(self.base, digit_sum, N) % N
                if (expected - d) % self.tested == 0:
                    verified = ChainState(done=j * L, x=x, d=d, start=verified.start, block=L,
                                          captured=kept_until(self.captured, self.head_bits + j * L))
                    verified_sum = digit_sum
                    failures = since_check = 0
                    if on_verified is not None:
                        on_verified(verified)
                else:
                    failures = rolled_back(self.report, failures,
                                           f"Gerbicz-Li check, bit {self.head_bits + verified.done}")
                    x, d, j = verified.x, verified.d, verified.done // L
                    self.captured = dict(verified.captured)
                    digit_sum = verified_sum
                    since_check = 0
        self.report.arithmetic, self.report.max_roundoff = describe(self.arith)
        if proof is not None:
            proof.finish(self.tested, int(self.base), 2, self.E, steps,
                         {k - self.head_bits: v for k, v in self.captured.items()}, x % self.tested, self.arith)
        return x


def checked_powmod(
    base: int,
    exponent: int,
    N: mpz,
    *,
    check: bool = True,
    faults: list[Fault] | None = None,
    chain_run: dict | None = None,
    arith: ModularArithmetic | None = None,
) -> tuple[mpz, ChainReport]:
    """base^exponent mod N for any exponent, Gerbicz-Li checked (chain_run: resume/on_verified/want_check).

    `arith` (default: arith.select's choice for N) may work modulo a multiple of N."""
    arith = arith or arithmetic_for(N)
    if arith.N % N:
        raise ValueError(f"the arithmetic's modulus is not a multiple of N = {N}")
    chain = GerbiczLiChain(arith, base, exponent, check=check, faults=faults, tested=mpz(N))
    return chain.run(**(chain_run or {})) % N, chain.report
