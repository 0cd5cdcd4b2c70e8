"""Campaign-wide sieving: one sieve over the untested part of a campaign's range, continued deeper later.

A baby-step giant-step sieve prime costs about sqrt(range) multiplications (sieve/kbn.py), so one sieve over
B blocks costs about 1/sqrt(B) of B separate block sieves (10x less at 100 blocks). The result is stored per
block exactly as an imported sieve file is (stores/sieve_imports.py, format CAMPAIGN_SIEVE_FORMAT): the block's
survivors, the factor of every candidate it removed, the depth reached. A block's sieve_survivors starts from its
row and sieves only the primes above that depth (blocks.sieve_frame), so a block picks up whatever depth is
stored when it runs, and every removal carries a factor the blocking check re-verifies (nothing is on trust).

`darkreach run` runs the same sieve by itself before its blocks, to exactly the campaign's depth (so the blocks'
survivors are those of each block sieving alone), over the blocks open_blocks names, when sieve_pays: the saving
the forms' cost per sieve prime estimates is larger than the extra run costs.

Deepening continues each block from the depth and survivors it has, with the primes above that depth only, and
only over blocks not yet tested: a tested block's row stays exactly what it was tested with. Blocks that already
have a row from an imported file continue from the file's survivors (its removals without a factor stay such).

Forms: kbn (the BSGS sieve: the sqrt(range) work is shared), factorial and primorial (the carried product: one
remainder tree per segment instead of one per block, and both signs from one walk when the campaign of the other
sign is named: `partner`). The other forms keep sieving per block: their sieves walk each value or each prime's
period directly (Cullen/Woodall, Carol/Kynea, GFN roots, digits) or by order (Wagstaff, repunit), so one sieve
over many blocks costs what the blocks cost; twin and Sophie Germain already intersect both members per block.
k*b^n+1 and k*b^n-1 named together are sieved in one call each (the kernel has no shared two-sign table yet).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from upath import UPath

from darkreach_pipeline.arith.select import arithmetic_name, fft_speedup
from darkreach_pipeline.campaign import CampaignSpec
from darkreach_pipeline.cost_model import rebalanced_depth
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.forms import form_for
from darkreach_pipeline.forms.base import PrimeForm
from darkreach_pipeline.sieve.primes import prime_chunks
from darkreach_pipeline.stores.integrity import block_path
from darkreach_pipeline.stores.sieve_imports import CAMPAIGN_SIEVE_FORMAT, ImportedBlock
from darkreach_pipeline.strategy.cost import shape_bits

SHARED_FORMS = frozenset({"kbn", "factorial", "primorial"})
MAX_DEPTH = 1 << 32
MAX_SEGMENT = 1 << 24  # axis values per sieve call: 128 MiB of factors; larger ranges are cut at block edges
# What one extra in-process Dagster run of campaign_sieve costs `darkreach run` besides the sieve itself (the run's
# events and storage, the asset's imports): 0.3-0.8 s of CPU per run measured, 2-4 s of wall time on 2 cores at
# load 9-13 (benchmarks/RESULTS.md, "darkreach run sieves campaign-wide"). `darkreach run` sieves campaign-wide by
# itself only when the estimated saving of sieve CPU is larger.
SIEVE_RUN_SECONDS = 2.0


@dataclass(frozen=True)
class Segment:
    """Consecutive untested blocks [first, stop) that share their current depth (0: never sieved)."""

    first: int
    stop: int
    depth: int


def check_form(spec: CampaignSpec) -> None:
    if spec.form not in SHARED_FORMS:
        raise CampaignError("form", f"campaign '{spec.name}' is form '{spec.form}': its sieve shares no work across "
                            "blocks (campaign-wide sieving is for kbn, factorial and primorial campaigns); its blocks "
                            "sieve themselves")


def check_depth(to_depth: int) -> None:
    if not 2 <= to_depth < MAX_DEPTH:
        raise CampaignError("to", f"the sieve depth must be between 2 and 2^32-1 (the sieve's primes are 32-bit), "
                            f"got {to_depth}")


def tested_blocks(spec: CampaignSpec, base_path: str) -> set[int]:
    """Blocks with stored tests (prp_results): their candidates are fixed, a deeper sieve must not change them."""
    base = UPath(base_path)
    return {b for b in range(spec.block_count) if block_path(base, "prp_results", spec.partition_key(b)).exists()}


def depth_runs(depths: list[tuple[int, str]]) -> list[tuple[int, int, int, str]]:
    """(first, last, depth, how) for runs of consecutive blocks with the same (depth, how)."""
    runs: list[tuple[int, int, int, str]] = []
    for block, (depth, how) in enumerate(depths):
        if runs and runs[-1][1] == block - 1 and runs[-1][2:] == (depth, how):
            runs[-1] = (runs[-1][0], block, depth, how)
        else:
            runs.append((block, block, depth, how))
    return runs


@dataclass(frozen=True)
class SieveState:
    """A campaign's stored sieve rows and the blocks it has tested (never changed by a deeper sieve)."""

    spec: CampaignSpec
    rows: dict[int, ImportedBlock]
    tested: set[int]

    def depth(self, block: int) -> int:
        return self.rows[block].sieved_to if block in self.rows else 0

    def open(self, block: int, to_depth: int) -> bool:
        return block not in self.tested and self.depth(block) < to_depth


def segments(states: list[SieveState], to_depth: int) -> list[Segment]:
    """The blocks some campaign of `states` (one, or both signs of one range) still has to sieve to `to_depth`,
    as runs of consecutive blocks of one starting depth (the lowest of those campaigns'), each at most
    MAX_SEGMENT values wide."""
    spec = states[0].spec
    out: list[Segment] = []
    for block in range(spec.block_count):
        depths = [s.depth(block) for s in states if s.open(block, to_depth)]
        if not depths:
            continue
        depth, last = min(depths), out[-1] if out else None
        width = spec.block_range(block)[1] - spec.block_range(last.first)[0] if last else 0
        if last and last.stop == block and last.depth == depth and width <= MAX_SEGMENT:
            out[-1] = Segment(last.first, block + 1, depth)
        else:
            out.append(Segment(block, block + 1, depth))
    return out


def open_blocks(state: SieveState, to_depth: int) -> list[int]:
    """Blocks not yet tested that no campaign-wide sieve (or import) has taken to `to_depth`: the ones a sieve to
    that depth would change; blocks already that deep (a rerun after a crash) or tested are left as they are."""
    return [block for block in range(state.spec.block_count) if state.open(block, to_depth)]


def _primes_between(low: int, high: int) -> float:
    """About how many primes lie in (low, high]: x/ln x (the sieve cost estimate needs no more)."""
    def count(x: int) -> float:
        return x / math.log(x) if x > 2 else 0.0
    return max(0.0, count(high) - count(low))


def sieve_seconds_saved(state: SieveState, to_depth: int) -> float:
    """Estimated sieve CPU seconds one campaign-wide sieve of the open blocks to `to_depth` saves over each of them
    sieving alone (the form's cost per sieve prime over a block's span, against one segment's span): it grows with
    the depth (the number of primes) and with the blocks sharing a sieve call."""
    cls = type(form_for(state.spec))
    spec = state.spec

    def cost(first: int, stop: int, depth: int) -> float:
        lo, hi = spec.block_range(first)[0], spec.block_range(stop - 1)[1]
        return cls.sieve_seconds_per_prime(spec.params, (lo + hi) / 2, hi - lo) * _primes_between(depth, to_depth)

    alone = sum(cost(block, block + 1, state.depth(block)) for block in open_blocks(state, to_depth))
    return alone - sum(cost(s.first, s.stop, s.depth) for s in segments([state], to_depth))


def sieve_pays(state: SieveState, to_depth: int) -> bool:
    """Does one campaign-wide sieve to `to_depth` pay before the blocks run: two open blocks or more (one block
    alone is the same sieve), and a saving larger than the extra run costs (SIEVE_RUN_SECONDS). The small
    campaigns of the tests and quick trials (depth 10^3, a few blocks: microseconds saved) keep sieving block by
    block; a real campaign (a depth of 10^8 and more) saves minutes to hours."""
    return len(open_blocks(state, to_depth)) >= 2 and sieve_seconds_saved(state, to_depth) > SIEVE_RUN_SECONDS


def check_partner(spec: CampaignSpec, other: CampaignSpec) -> None:
    """Both signs share a sieve only over the same numbers but c: same form, parameters, range and blocks."""
    same = {key: value for key, value in spec.params.items() if key != "c"}
    if (other.form != spec.form or {k: v for k, v in other.params.items() if k != "c"} != same
            or other.params.get("c") != -spec.params.get("c", 0) or other.block_size != spec.block_size
            or (other.axis_min, other.axis_max) != (spec.axis_min, spec.axis_max)):
        raise CampaignError("with", f"campaign '{other.name}' is not '{spec.name}' with the other sign: both signs "
                            "share a sieve only with the same form, parameters, range and block size, and c = +1 / -1")


def _sieve_signs(states: list[SieveState], lo: int, hi: int, start: int, to_depth: int,
                 progress: Callable[[int], None] | None) -> dict[int, np.ndarray]:
    """{c: smallest factor per value of [lo, hi)} for each campaign's sign: one pass for both signs where the
    form shares it (sieve_signs: n!+-1, p#+-1), else one sieve per sign."""
    forms = {s.spec.params["c"]: form_for(s.spec) for s in states}
    first = next(iter(forms.values()))
    if len(forms) > 1 and hasattr(first, "sieve_signs"):
        found = first.sieve_signs(lo, hi, prime_chunks(start, to_depth), progress, tuple(forms))
        return {c: f.astype(np.int64) for c, f in found.items()}
    return {c: f.sieve(lo, hi, prime_chunks(start, to_depth), progress).astype(np.int64) for c, f in forms.items()}


def auto_depth(spec: CampaignSpec, tested: set[int]) -> int:
    """The form's balance of sieve against test cost, for one sieve over the untested range (its span is the
    sieve's, so a wider sieve, cheaper per candidate, goes deeper than a block's), with the test priced on the
    arithmetic that will run it (the FFT where it is faster than GMP)."""
    untested = [b for b in range(spec.block_count) if b not in tested]
    if not untested:
        return spec.sieve_depth
    lo, hi = spec.block_range(untested[0])[0], spec.block_range(untested[-1])[1]
    form = form_for(spec)
    depth = type(form).auto_sieve_depth(spec.params, lo, hi - 1, hi - lo)
    return rebalanced_depth(depth, arithmetic_speedup(form, lo + 0.7 * (hi - 1 - lo)))


def arithmetic_speedup(form: PrimeForm, value: float) -> float:
    """How much faster than the forms' GMP model a test near `value` runs on the arithmetic auto mode picks
    there (the FFT's measured speed-up; 1 on GMP sizes), so the campaign sieve balances against real tests."""
    value = int(value)
    bits = form.bits(value)
    return fft_speedup(arithmetic_name(bits, shape_bits(form, value), gfn=form.name == "gfn"), bits)


def sieve_id(spec: CampaignSpec, segment: Segment, to_depth: int, previous: Iterable[str]) -> str:
    """A SHA-256 naming this sieve: the campaign, its range, the depth, and the sieves it continued."""
    h = hashlib.sha256(f"{spec.name}/{spec.form}/{sorted(spec.params.items())}/{segment}/{to_depth}".encode())
    for sha in previous:
        h.update(sha.encode())
    return h.hexdigest()


def deepen(spec: CampaignSpec, to_depth: int, rows: dict[int, ImportedBlock], tested: set[int],
           progress: Callable[[int], None] | None = None, partner: SieveState | None = None) -> list[ImportedBlock]:
    """The new rows of the untested blocks sieved to `to_depth` (blocks already at or past it are left out).

    Each run of consecutive blocks at one depth is sieved in one call with the primes above that depth only; a
    block's survivors are its previous survivors (every value when it had no row) less those struck now, its
    factors the previous ones plus the new. Known primes are never struck (the form's sieve never records N = p).
    `partner`: the same range with the other sign (check_partner), sieved in the same pass; its rows are returned
    too (ImportedBlock.campaign tells them apart).
    """
    check_form(spec)
    check_depth(to_depth)
    states = [SieveState(spec, rows, tested)]
    if partner is not None:
        check_partner(spec, partner.spec)
        states.append(partner)
    out: list[ImportedBlock] = []
    for segment in segments(states, to_depth):
        lo, hi = spec.block_range(segment.first)[0], spec.block_range(segment.stop - 1)[1]
        open_states = [s for s in states if any(s.open(b, to_depth) for b in range(segment.first, segment.stop))]
        struck = _sieve_signs(open_states, lo, hi, max(segment.depth + 1, 2), to_depth, progress)
        for state in open_states:
            blocks = [b for b in range(segment.first, segment.stop) if state.open(b, to_depth)]
            out += _new_rows(state, blocks, struck[state.spec.params["c"]], lo, segment, to_depth)
    return out


def _new_rows(state: SieveState, blocks: list[int], struck: np.ndarray, lo: int, segment: Segment, to_depth: int
              ) -> list[ImportedBlock]:
    spec = state.spec
    sha = sieve_id(spec, segment, to_depth, (state.rows[b].source_sha256 for b in blocks if b in state.rows))
    out = []
    for block in blocks:
        before = state.rows.get(block)
        survivors = before.survivors if before is not None else np.arange(*spec.block_range(block), dtype=np.int64)
        hit = struck[survivors - lo]
        factors = dict(before.factors) if before is not None else {}
        factors.update(zip(survivors[hit != 0].tolist(), hit[hit != 0].tolist(), strict=True))
        source = ("darkreach sieve" if before is None else before.source
                  if before.format == CAMPAIGN_SIEVE_FORMAT else f"continuing {before.format} file {before.source}")
        out.append(ImportedBlock(spec.name, block, CAMPAIGN_SIEVE_FORMAT, source, sha, to_depth,
                                 survivors[hit == 0], factors))
    return out
