"""A sieve file made elsewhere (srsieve2, NewPGen, fbncsieve, ...) as a campaign's sieve, and the campaign's
survivors as a file for LLR / PFGW.

Import checks the file against the campaign before anything is stored, and refuses it whole, naming the line:
a candidate of another form (k, b or c), outside the campaign's range, or listed twice; a factor (from an
optional factor file) that does not divide its candidate or that strikes a listed survivor. What cannot be
checked fully (that every removed candidate really has a factor below the claimed depth) is spot checked:
every survivor is sieved here up to min(depth, SURVIVOR_CHECK_DEPTH) and must survive, and a random sample of
removed candidates must have a factor up to the depth when the depth is at most REMOVED_CHECK_DEPTH (a file
that covers only part of the range, or claims a depth it did not reach, fails this).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
from upath import UPath

from darkreach_pipeline.blocks import SURVIVOR, candidate_frame, sieve_frame
from darkreach_pipeline.campaign import CampaignSpec
from darkreach_pipeline.formats import WRITERS, FormatError, SieveFile, Term, read_sieve_file, read_text
from darkreach_pipeline.formats import factors as factor_files
from darkreach_pipeline.forms import form_for
from darkreach_pipeline.sieve.primes import prime_chunks
from darkreach_pipeline.stores.integrity import block_path, identity, read_block
from darkreach_pipeline.stores.sieve_imports import ImportedBlock

SURVIVOR_CHECK_DEPTH = 1 << 17  # every survivor is re-sieved to here (cheap: ~12,000 primes)
REMOVED_CHECK_DEPTH = 10**7  # removed candidates are sampled when the claimed depth is at most this
REMOVED_SAMPLE = 32  # about 0.15 s each at a depth of 10^7
MAX_FACTOR = (1 << 63) - 1  # factors are stored as int64, like the sieve's own


def campaign_shape(spec: CampaignSpec) -> tuple[int, int, int]:
    """(k, b, c) of a kbn campaign; the formats describe k*b^n+c, so other forms cannot import or export."""
    if spec.form != "kbn":
        raise FormatError(spec.name, 0, f"campaign '{spec.name}' is form '{spec.form}': sieve files of k*b^n+c "
                          "are imported into and exported from kbn campaigns only")
    return spec.params["k"], spec.params["b"], spec.params["c"]


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _axis_values(spec: CampaignSpec, sieve: SieveFile, source: str) -> dict[int, int]:
    """{n: line} of every candidate, each checked to be the campaign's form, in its range, listed once."""
    shape = campaign_shape(spec)
    k, b, c = shape
    wanted = Term(k, b, 0, c)
    seen: dict[int, int] = {}
    for term, line in zip(sieve.terms, sieve.lines, strict=True):
        if (term.k, term.b, term.c) != shape:
            raise FormatError(source, line, f"{term.expression()} is not of campaign '{spec.name}': its numbers are "
                              f"{wanted.expression().replace('^0', '^n')}; import a file of that k, b and c")
        if not spec.axis_min <= term.n <= spec.axis_max:
            raise FormatError(source, line, f"{term.expression()} is outside campaign '{spec.name}' (n = "
                              f"{spec.axis_min}..{spec.axis_max}): cut the file to the campaign's range")
        if term.n in seen:
            raise FormatError(source, line, f"{term.expression()} is listed twice (first on line {seen[term.n]})")
        seen[term.n] = line
    return seen


def _verified_factors(spec: CampaignSpec, path: str | Path, survivors: dict[int, int]) -> dict[int, int]:
    """{n: p} from a factor file, every claim re-checked (p | N, N != p) and none striking a listed survivor."""
    source = str(path)
    parsed = factor_files.read(read_text(path), source)
    form = form_for(spec)
    shape = campaign_shape(spec)
    out: dict[int, int] = {}
    for (p, term), line in zip(parsed.factors, parsed.lines, strict=True):
        if (term.k, term.b, term.c) != shape or not spec.axis_min <= term.n <= spec.axis_max:
            raise FormatError(source, line, f"{term.expression()} is not a candidate of campaign '{spec.name}'")
        if p > MAX_FACTOR:
            raise FormatError(source, line, f"factor {p} is above 2^63-1, which the sieve tables cannot store")
        if form.residue_mod(term.n, p) != 0 or form.is_tiny_prime_equal(term.n, p):
            raise FormatError(source, line, f"{p} does not divide {term.expression()} (or is that number itself): "
                              "the factor file does not belong to this campaign or is damaged")
        if term.n in survivors:
            raise FormatError(source, line, f"{term.expression()} has the factor {p} but the sieve file lists it as "
                              f"a survivor (line {survivors[term.n]}): the two files do not belong together")
        out.setdefault(term.n, p)
    return out


def _spot_check(spec: CampaignSpec, depth: int, survivors: dict[int, int], factors: dict[int, int], source: str,
                rng: random.Random) -> None:
    form = form_for(spec)
    check_depth = min(depth, SURVIVOR_CHECK_DEPTH)
    listed = np.array(sorted(survivors) + sorted(factors), dtype=np.int64)
    unexplained = []  # removed by the file, no factor up to the quick check's depth: it needs a larger one
    for block in range(spec.block_count):
        lo, hi = spec.block_range(block)
        values = np.arange(lo, hi, dtype=np.int64)
        struck = form.sieve(lo, hi, prime_chunks(2, check_depth)).astype(np.int64)
        in_file = np.isin(values, listed)
        for n, p in zip(values[in_file & (struck != 0)].tolist(), struck[in_file & (struck != 0)].tolist(),
                        strict=True):
            if n in survivors and not form.excluded(n):
                raise FormatError(source, survivors[n], f"{form.expression(n)} is divisible by {p}, below the depth "
                                  f"{depth} the file claims: it is no sieve of this campaign to that depth")
        unexplained += [n for n in values[~in_file & (struck == 0)].tolist() if not form.excluded(n)]
    if depth > REMOVED_CHECK_DEPTH:
        return
    for n in rng.sample(unexplained, min(REMOVED_SAMPLE, len(unexplained))):
        if not form.sieve(n, n + 1, prime_chunks(check_depth, depth))[0]:
            raise FormatError(source, 0, f"{form.expression(n)} is missing from the file but has no factor up to "
                              f"{depth}: the file does not cover the campaign's range (n = {spec.axis_min}.."
                              f"{spec.axis_max}) or was not sieved to {depth}")


def plan_import(spec: CampaignSpec, path: str | Path, fmt: str | None = None, sieved_to: int | None = None,
                factor_path: str | Path | None = None, seed: int | None = None) -> list[ImportedBlock]:
    """Read and check a sieve file for a campaign; the blocks to store. Raises FormatError, storing nothing."""
    source = str(path)
    sieve = read_sieve_file(path, fmt)
    if sieve.sieved_to is not None and sieved_to is not None and sieved_to != sieve.sieved_to:
        raise FormatError(source, 1, f"the header says sieved to {sieve.sieved_to} but --sieved-to says {sieved_to}: "
                          "drop --sieved-to (the header wins) or fix the header")
    depth = sieve.sieved_to or sieved_to
    if depth is None:
        raise FormatError(source, 1, f"the {sieve.format} header states no sieve depth: give it with --sieved-to P "
                          "(the largest prime the sieve used)")
    survivors = _axis_values(spec, sieve, source)
    factors = _verified_factors(spec, factor_path, survivors) if factor_path is not None else {}
    _spot_check(spec, depth, survivors, factors, source, random.Random(seed))
    sha = file_sha256(path)
    name = Path(path).name
    ordered = np.array(sorted(survivors), dtype=np.int64)
    out = []
    for block in range(spec.block_count):
        lo, hi = spec.block_range(block)
        inside = ordered[(ordered >= lo) & (ordered < hi)]
        out.append(ImportedBlock(spec.name, block, sieve.format, name, sha, depth, inside,
                                 {n: p for n, p in factors.items() if lo <= n < hi}))
    return out


def export_text(spec: CampaignSpec, survivors: list[int], fmt: str, sieved_to: int) -> str:
    """The survivors (axis values) of a kbn campaign as a sieve file for LLR / PFGW."""
    k, b, c = campaign_shape(spec)
    terms = [Term(k, b, n, c) for n in sorted(survivors)]
    if not terms:
        raise FormatError(spec.name, 0, "has no survivors to export")
    return WRITERS[fmt](terms, sieved_to)



def campaign_survivors(spec: CampaignSpec, base_path: str, imported: Callable[[int], ImportedBlock | None]
                       ) -> tuple[list[int], int]:
    """Every survivor of the campaign: a block's stored sieve_survivors (checksum verified: a damaged file raises
    DamagedBlockError naming it) or, for a block not sieved yet, sieved now exactly as the asset would (from the
    campaign's imported file if it has one). Returns (survivors, how many blocks were sieved now)."""
    base = UPath(base_path)
    survivors, computed = [], 0
    for block in range(spec.block_count):
        key = spec.partition_key(block)
        path = block_path(base, "sieve_survivors", key)
        if path.exists():
            frame = read_block(path, identity("sieve_survivors", key))
        else:
            frame = sieve_frame(spec, block, candidate_frame(spec, block), imported=imported(block))
            computed += 1
        survivors += frame.loc[frame["status"] == SURVIVOR, spec.axis].astype(int).tolist()
    return survivors, computed
