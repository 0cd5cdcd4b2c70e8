"""The strategist's plans: proposals over a form's parameter space, each priced and ranked.

For every combination of parameter values and every piece of the range, a proposal holds the campaign the
product would run (validated like any campaign file, auto sieve depth, a block size that keeps orchestration
under 1%), the primes expected (density.py), the survivors after that sieve, the CPU hours (cost.py) and the
chance of at least one prime above the Top 5000 or the form's top-20 cut-off (snapshot.py). Proposals are
ranked by expected primes (or list entries) per CPU hour and written as ready campaign files.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from darkreach_pipeline.campaign import MAX_BLOCK_SIZE, MAX_BLOCKS, CampaignSpec, parse_campaign
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.forms import FORMS, form_class
from darkreach_pipeline.stores.costs import CostStore
from darkreach_pipeline.strategy.cost import block_size_for, shape_bits, test_cost
from darkreach_pipeline.strategy.density import MODELLED_FORMS, FormDensity, density_for, nash_weight
from darkreach_pipeline.strategy.snapshot import ListsSnapshot, load_snapshot

RANK_BY = ("primes", "top5000", "top20")
SEGMENTS = 24  # the range is priced in this many pieces (cost and digits change along it)
MAX_PROPOSALS = 200
PROVISIONAL_BLOCKS = 100


@dataclass(frozen=True)
class PlanRequest:
    """A form, each parameter's candidate values, an axis range cut into `pieces` proposals per combination."""

    form: str
    params: Mapping[str, list[int]]
    range_key: str
    range_min: int
    range_max: int
    pieces: int = 1
    rank_by: str = "primes"
    name_prefix: str = "plan"

    @classmethod
    def from_text(cls, form: str, params: Mapping[str, str], range_key: str, range_text: str, pieces: int = 1,
                  rank_by: str = "primes", name_prefix: str = "plan") -> PlanRequest:
        """From the words of `darkreach plan` and the campaign_plan config: {'k': '1..99:2'}, 'MIN..MAX'."""
        lo, hi = parse_range("range", range_text)
        return cls(form, {k.strip(): parse_values(k.strip(), v) for k, v in params.items()}, range_key.strip(),
                   lo, hi, pieces, rank_by, name_prefix)


@dataclass
class Proposal:
    spec: CampaignSpec
    expected_primes: float
    sigma: float
    survivors: float
    cpu_hours: float
    seconds_per_test: float  # at 70% of the range, where the forms' depth models look
    arithmetic: str
    cost_source: str
    digits_min: int
    digits_max: int
    expected_top5000: float
    expected_top20: float
    weight: float  # P(prime) x ln N over the range (x (ln N)^2 for a pair): 2 for a random odd number
    nash: int | None = None  # Nash's weight, k*2^n+-1 only
    rank: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def p_top5000(self) -> float:
        return 1.0 - math.exp(-self.expected_top5000)

    @property
    def p_top20(self) -> float:
        return 1.0 - math.exp(-self.expected_top20)

    def score(self, rank_by: str) -> float:
        found = {"primes": self.expected_primes, "top5000": self.expected_top5000,
                 "top20": self.expected_top20}[rank_by]
        return found / max(self.cpu_hours, 1e-9)

    def summary(self) -> str:
        """The numbers behind the proposal, one line each (campaign file comments and description)."""
        nash = f"; Nash weight {self.nash}" if self.nash is not None else ""
        return "\n".join([
            f"expected primes {self.expected_primes:.3g} +- {self.sigma:.2g} (Poisson); sieve weight "
            f"{self.weight:.3g}{nash}",
            f"survivors after sieving to {self.spec.sieve_depth:,}: {self.survivors:,.0f}",
            f"CPU hours {self.cpu_hours:.3g} ({self.cost_source} cost; {self.seconds_per_test:.3g} s per test at 70% "
            f"of the range, arithmetic {self.arithmetic})",
            f"digits {self.digits_min:,}..{self.digits_max:,}; P(a prime enters the Top 5000) {self.p_top5000:.2%}, "
            f"P(top-20 of the form) {self.p_top20:.2%}",
            *self.notes,
        ])


def parse_values(field_name: str, text: str) -> list[int]:
    """'3,5,7' or '1..99' or '1..99:2' (a step) into integers; a clear error names the field otherwise."""
    values: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if ".." in part:
                span, _, step = part.partition(":")
                lo, hi = (int(x) for x in span.split(".."))
                values.extend(range(lo, hi + 1, int(step) if step else 1))
            elif part:
                values.append(int(part))
    except ValueError:
        raise CampaignError(field_name, f"{text!r} is not a list of whole numbers: write e.g. 3,5,7 or 1..99:2") \
            from None
    if not values:
        raise CampaignError(field_name, "has no values: write e.g. 3,5,7 or 1..99:2")
    return values


def parse_range(field_name: str, text: str) -> tuple[int, int]:
    """'MIN..MAX' into (MIN, MAX), never expanded (a range may hold millions of values)."""
    lo, sep, hi = text.partition("..")
    try:
        bounds = int(lo), int(hi)
    except ValueError:
        bounds = None
    if not sep or bounds is None or bounds[0] > bounds[1]:
        raise CampaignError(field_name, f"{text!r} is not a range: write MIN..MAX, e.g. 100000..200000")
    return bounds


def plan(request: PlanRequest, store: CostStore | None = None, snapshot: ListsSnapshot | None = None) \
        -> tuple[list[Proposal], list[str]]:
    """Every valid proposal, ranked best first, and why the others were skipped."""
    if request.rank_by not in RANK_BY:
        raise CampaignError("rank", f"{request.rank_by!r} is not a ranking: use one of {', '.join(RANK_BY)}")
    if request.pieces < 1 or request.pieces > request.range_max - request.range_min + 1:
        raise CampaignError("pieces", f"must be between 1 and the number of range values, got {request.pieces}")
    if request.form not in MODELLED_FORMS:
        raise CampaignError("form", f"{request.form!r} has no density model yet: plan one of "
                            f"{', '.join(MODELLED_FORMS)}")
    try:
        cls = form_class(request.form, request.range_key)
    except KeyError:
        raise CampaignError("range", f"form {request.form!r} has no range over {request.range_key!r}; its ranges: "
                            f"{', '.join(c.campaign_range_key() for c in FORMS[request.form])}") from None
    missing = [p for p in cls.param_names if p not in request.params]
    if missing:
        raise CampaignError(missing[0], f"form {request.form!r} needs a value for {missing[0]}")
    unknown = sorted(set(request.params) - set(cls.param_names))
    if unknown:
        raise CampaignError(unknown[0], f"is not a parameter of form {request.form!r} over {request.range_key!r}; "
                            f"its parameters: {', '.join(cls.param_names) or 'none'}")
    names = list(cls.param_names)
    combos = list(itertools.product(*(request.params[p] for p in names)))
    if len(combos) * request.pieces > MAX_PROPOSALS:
        raise CampaignError("params", f"{len(combos) * request.pieces} proposals, over the limit of {MAX_PROPOSALS}: "
                            "give fewer parameter values or pieces")
    snapshot = snapshot or load_snapshot()
    proposals, skipped = [], []
    edges = [request.range_min + round(i * (request.range_max - request.range_min + 1) / request.pieces)
             for i in range(request.pieces + 1)]
    for combo in combos:
        params = dict(zip(names, combo, strict=True))
        for lo, hi in zip(edges, edges[1:], strict=False):
            try:
                proposals.append(propose(request, params, lo, hi - 1, store, snapshot))
            except CampaignError as exc:
                skipped.append(f"{params} {request.range_key} = {lo}..{hi - 1}: {exc}")
    proposals.sort(key=lambda p: p.score(request.rank_by), reverse=True)
    for i, proposal in enumerate(proposals, 1):
        proposal.rank = i
    return proposals, skipped


def campaign_name(prefix: str, form: str, params: Mapping[str, int], key: str, lo: int, hi: int) -> str:
    parts = [prefix, form, *(f"{k}{'m' if v < 0 else ''}{abs(v)}" for k, v in params.items()), f"{key}{lo}-{hi}"]
    return "-".join(parts)[:63]


def propose(request: PlanRequest, params: dict[str, int], lo: int, hi: int, store: CostStore | None,
            snapshot: ListsSnapshot) -> Proposal:
    key = request.range_key
    raw = {"name": campaign_name(request.name_prefix, request.form, params, key, lo, hi), "form": request.form,
           **params, f"{key}_min": lo, f"{key}_max": hi, "sieve_depth": "auto"}
    axis_lo, axis_hi = form_class(request.form, key).axis_bounds(params, lo, hi)  # palindromes: candidate indexes
    span = axis_hi - axis_lo + 1
    provisional = parse_campaign({**raw, "block_size": max(1, -(-span // PROVISIONAL_BLOCKS))})
    density = density_for(request.form, key, params, provisional.axis_min, provisional.axis_max)
    seventy = int(provisional.axis_min + 0.7 * (provisional.axis_max - provisional.axis_min))
    K_bits = shape_bits(density.form, seventy)
    cost70 = test_cost(density.form, seventy, store, K_bits)
    values = provisional.axis_max - provisional.axis_min + 1
    spec, priced = provisional, price(density, provisional, store, K_bits, snapshot)
    for _ in range(3):  # the block size sets the auto depth, which sets the survivors, which set the block size
        block = block_size_for(priced[2], values, MAX_BLOCKS, MAX_BLOCK_SIZE)
        if block == spec.block_size:
            break
        spec = parse_campaign({**raw, "block_size": block})
        priced = price(density, spec, store, K_bits, snapshot)
    primes, survivors, seconds, top5000, top20 = priced
    weight = density.mean_weight(spec.axis_min, spec.axis_max)
    nash = nash_weight(params["k"], params["c"]) if request.form == "kbn" and params["b"] == 2 else None
    proposal = Proposal(
        spec=spec, expected_primes=primes, sigma=math.sqrt(primes), survivors=survivors, cpu_hours=seconds / 3600,
        seconds_per_test=cost70.seconds, arithmetic=cost70.arithmetic, cost_source=cost70.source,
        digits_min=density.digits(spec.axis_min), digits_max=density.digits(spec.axis_max),
        expected_top5000=top5000, expected_top20=top20, weight=weight, nash=nash,
    )
    if primes == 0:
        proposal.notes.append("no prime expected: the sieve removes every value (a covering set?)")
    proposal.notes.append(f"thresholds: {snapshot.label()}")
    return proposal


def price(density: FormDensity, spec: CampaignSpec, store: CostStore | None, K_bits: int | None,
          snapshot: ListsSnapshot) -> tuple[float, float, float, float, float]:
    """(primes, survivors, test seconds, primes above the Top 5000 cut-off, above the form's top 20) over the
    campaign's range, priced in SEGMENTS pieces."""
    top20_digits = snapshot.top20_min_digits(spec.form)
    lo, hi = spec.axis_min, spec.axis_max
    edges = sorted({lo + round(i * (hi - lo + 1) / SEGMENTS) for i in range(SEGMENTS + 1)})
    totals = [0.0] * 5
    for a, b in zip(edges, edges[1:], strict=False):
        estimate = density.estimate(a, b - 1, spec.sieve_depth)
        mid = (a + b - 1) // 2
        digits = density.digits(mid)
        seconds = test_cost(density.form, mid, store, K_bits).seconds
        totals[0] += estimate.expected_primes
        totals[1] += estimate.expected_survivors
        totals[2] += estimate.expected_survivors * seconds
        totals[3] += estimate.expected_primes if digits >= snapshot.top5000_min_digits else 0.0
        totals[4] += estimate.expected_primes if top20_digits is not None and digits >= top20_digits else 0.0
    return tuple(totals)  # type: ignore[return-value]


def plan_table(proposals: list[Proposal], rank_by: str, top: int | None = None) -> str:
    """The ranked table `darkreach plan` prints (markdown, so the Dagster UI renders it too)."""
    head = ("| rank | campaign | range | digits | E[primes] ± σ | survivors | depth | CPU h | primes/CPU h "
            "| P(Top5000) | P(top20) | arith | cost |")
    lines = [head, "|" + "---|" * 13]
    for p in proposals[:top]:
        s = p.spec
        lines.append(
            f"| {p.rank} | {s.name} | {s.range_key} {s.range_min}..{s.range_max} | {p.digits_min:,}..{p.digits_max:,} "
            f"| {p.expected_primes:.3g} ± {p.sigma:.2g} | {p.survivors:,.0f} | {s.sieve_depth:.2e} | {p.cpu_hours:.3g} "
            f"| {p.score('primes'):.3g} | {p.p_top5000:.1%} | {p.p_top20:.1%} | {p.arithmetic} | {p.cost_source} |")
    return "\n".join(lines) + f"\n(ranked by {rank_by} per CPU hour)\n"


def campaign_file_text(proposal: Proposal) -> str:
    """A ready campaign file: the campaign, with the numbers behind it as comments and as its description."""
    summary = proposal.summary()
    comments = "".join(f"# {line}\n" for line in summary.splitlines())
    spec = proposal.spec
    described = CampaignSpec(**{**spec.__dict__, "description": f"strategist plan, rank {proposal.rank}: "
                                + summary.replace("\n", "; ")[:1900]})
    return f"# darkreach plan: rank {proposal.rank}\n{comments}{described.to_toml()}"


def write_campaign_files(proposals: list[Proposal], directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for proposal in proposals:
        path = directory / f"{proposal.spec.name}.toml"
        path.write_text(campaign_file_text(proposal))
        paths.append(path)
    return paths
