"""campaign_sieve: the sieve of many blocks at once, upstream of each block's sieve_survivors.

A run over a range of a campaign's blocks (a partition key range: `darkreach sieve NAME`) is one campaign-wide
sieve over the untested ones among them (darkreach_pipeline/campaign_sieve.py), deepened from the depth they
have; each block's slice is stored next to the campaign specs, as an imported sieve file is, and its
sieve_survivors starts from it. Each block's materialisation records the depth and the sieve (its SHA-256), and
sieve_survivors depends on it block by block, so the lineage shows which sieve a block's candidates came from."""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetRecordsFilter,
    AssetSelection,
    BackfillPolicy,
    Config,
    DagsterInstance,
    Failure,
    asset,
    define_asset_job,
)

from assets.block_stages import block_metadata
from assets.partitions import block_keys, campaign_blocks
from darkreach_pipeline.campaign import CampaignSpec
from darkreach_pipeline.campaign_sieve import SieveState, auto_depth, check_form, deepen, tested_blocks
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.stores.sieve_imports import CAMPAIGN_SIEVE_FORMAT, DamagedImportError, ImportedBlock
from resources.campaigns import CampaignRegistryResource
from resources.results import ResultsLocation


class CampaignSieveConfig(Config):
    to_depth: int = 0  # 0: auto, the form's balance of sieve against test cost over the untested range
    with_campaign: str = ""  # the same range with the other sign (n!-1 for n!+1, ...): sieved in the same pass


@asset(partitions_def=campaign_blocks, group_name="sieve", backfill_policy=BackfillPolicy.single_run(),
       op_tags={"dagster-celery/queue": "sieve"})
def campaign_sieve(context: AssetExecutionContext, config: CampaignSieveConfig,
                   campaign_registry: CampaignRegistryResource, results_location: ResultsLocation) -> None:
    """One sieve over the run's untested blocks, continued from the depth they reached; tested blocks keep theirs."""
    resolved = [campaign_registry.resolve(key) for key in block_keys(context)]
    names = sorted({spec.name for spec, _ in resolved})
    if len(names) > 1:
        raise Failure(description=f"a campaign sieve covers one campaign's blocks, this run has {', '.join(names)}: "
                      "launch one run per campaign (`darkreach sieve NAME`)")
    spec = resolved[0][0]
    wanted = {block for _, block in resolved}
    try:
        check_form(spec)
        rows = campaign_registry.sieve_imports().all_blocks(spec.name)
    except (CampaignError, DamagedImportError) as exc:
        raise Failure(description=str(exc)) from None
    tested = tested_blocks(spec, results_location.base_path)
    left_alone = tested | (set(range(spec.block_count)) - wanted)
    to_depth = config.to_depth or auto_depth(spec, left_alone)
    partner = _partner(config.with_campaign, campaign_registry, results_location) if config.with_campaign else None
    try:
        made = deepen(spec, to_depth, rows, left_alone, partner=partner)
    except CampaignError as exc:
        raise Failure(description=str(exc)) from None
    new = {row.block: row for row in made if row.campaign == spec.name}
    if new:
        campaign_registry.sieve_imports().update(spec.name, list(new.values()))
    context.log.info(f"campaign '{spec.name}': {len(new)} blocks sieved to {to_depth}, "
                     f"{len(wanted & tested)} tested blocks kept as they were tested")
    for key, (_, block) in zip(block_keys(context), resolved, strict=True):
        block_metadata(context, key, block_sieve_metadata(block, new.get(block), rows.get(block), block in tested))
    if partner is not None:
        _store_partner(context, campaign_registry, partner, [row for row in made if row.campaign != spec.name])


def _partner(name: str, campaign_registry: CampaignRegistryResource, results_location: ResultsLocation
             ) -> SieveState:
    try:
        other = campaign_registry.registry().get(name)
        return SieveState(other, campaign_registry.sieve_imports().all_blocks(other.name),
                          tested_blocks(other, results_location.base_path))
    except (CampaignError, DamagedImportError) as exc:
        raise Failure(description=str(exc)) from None


def _store_partner(context: AssetExecutionContext, campaign_registry: CampaignRegistryResource, partner: SieveState,
                   made: list[ImportedBlock]) -> None:
    """The other sign's rows, stored, and a materialisation of its blocks' campaign_sieve partitions (reported:
    this run covers the first campaign's partitions), so their lineage names the sieve too."""
    if made:
        campaign_registry.sieve_imports().update(partner.spec.name, made)
    for row in made:
        before = partner.rows.get(row.block)
        context.instance.report_runless_asset_event(AssetMaterialization(
            asset_key="campaign_sieve", partition=partner.spec.partition_key(row.block),
            metadata={**block_sieve_metadata(row.block, row, before, False), "run": context.run.run_id}))
    context.log.info(f"campaign '{partner.spec.name}' (the other sign): {len(made)} blocks sieved in the same pass")


def block_sieve_metadata(block: int, new: ImportedBlock | None, before: ImportedBlock | None, tested: bool) -> dict:
    row = new or before
    found = len(new.factors) - (len(before.factors) if before else 0) if new else 0
    return {"sieve_depth": row.sieved_to if row else 0,
            "state": "sieved now" if new else "tested: kept as tested" if tested else "already this deep",
            "survivors": len(row.survivors) if row else -1, "factors_found_now": found,
            "sieve": row.source_sha256 if row else "", "source": row.source if row else "none"}


campaign_sieve_job = define_asset_job(
    "campaign_sieve_job", selection=AssetSelection.assets(campaign_sieve),
    description="Sieve a range of a campaign's blocks at once (deeper than before); run it over a key range.",
)


def block_sieve_depths(instance: DagsterInstance, spec: CampaignSpec, rows: dict[int, ImportedBlock],
                       tested: set[int]) -> list[tuple[int, str]]:
    """Per block: (depth, how). A sieved block's depth is what its latest sieve_survivors recorded; a block not
    sieved yet will start from its stored campaign sieve or import, then sieve on to the campaign's depth."""
    keys = spec.partition_keys()
    recorded: dict[str, int] = {}
    cursor = None
    while True:
        page = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=AssetKey("sieve_survivors"), asset_partitions=keys), limit=1000,
            cursor=cursor, ascending=False)
        for record in page.records:
            event = record.asset_materialization
            if event.partition not in recorded and "sieve_depth" in event.metadata:
                recorded[event.partition] = int(event.metadata["sieve_depth"].value)
        if not page.has_more:
            break
        cursor = page.cursor
    out = []
    for block, key in enumerate(keys):
        row = rows.get(block)
        if key in recorded:
            out.append((recorded[key], "tested" if block in tested else "sieved, not tested"))
        elif row is not None:
            source = "campaign sieve" if row.format == CAMPAIGN_SIEVE_FORMAT else f"imported {row.format}"
            out.append((max(row.sieved_to, spec.sieve_depth), f"not sieved yet: {source} to {row.sieved_to:,}"))
        else:
            out.append((spec.sieve_depth, "not sieved yet: per block"))
    return out
