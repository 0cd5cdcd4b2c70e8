"""Jobs: run blocks of the campaign graph, and register a campaign from the UI's Launchpad."""


from dagster import AssetSelection, Config, Failure, OpExecutionContext, define_asset_job, job, op

from assets.partitions import add_block_partitions
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.errors import CampaignError
from resources.campaigns import CampaignRegistryResource

campaign_job = define_asset_job(
    "campaign_job",
    selection=AssetSelection.groups("campaign"),
    description="Candidates, sieve, tests and certificates for the selected blocks.",
)


class CampaignConfig(Config):
    """The fields of a campaign file (README: 'Campaign files'), for every form; leave a form's unused fields
    empty. Values are checked by the op with the same rules and messages as a file's."""

    name: str
    form: str = "kbn"
    k: int | None = None
    b: int | None = None
    c: int | None = None
    m: int | None = None
    n: int | None = None
    base: int | None = None
    n_min: int | None = None
    n_max: int | None = None
    p_min: int | None = None
    p_max: int | None = None
    b_min: int | None = None
    b_max: int | None = None
    k_min: int | None = None
    k_max: int | None = None
    digits_min: int | None = None
    digits_max: int | None = None
    block_size: int | None = None
    sieve_depth: str = "auto"
    description: str = ""
    blocks_per_run: int | None = None


@op
def register_campaign_spec(
    context: OpExecutionContext, config: CampaignConfig, campaign_registry: CampaignRegistryResource
) -> None:
    """Validate, record in the registry, and add the campaign's blocks as partitions. A refused campaign fails
    the run with a dagster Failure whose description names the field and the fix (no traceback to read)."""
    raw = {key: value for key, value in config.model_dump().items() if value is not None}
    if str(raw.get("sieve_depth", "")).isdigit():
        raw["sieve_depth"] = int(raw["sieve_depth"])
    try:
        spec = parse_campaign(raw)
        is_new = campaign_registry.registry().register(spec)
    except CampaignError as exc:
        raise Failure(description=str(exc)) from None
    keys = spec.partition_keys()
    added = add_block_partitions(context.instance, keys)
    context.log.info(
        f"campaign '{spec.name}' {'registered' if is_new else 'already registered'}: {len(keys)} blocks "
        f"({len(added)} new partitions), sieve depth {spec.sieve_depth}. Select its blocks in the asset "
        "graph (partition keys starting with the campaign name) and launch a backfill."
    )


@job(description="Register a campaign from the Launchpad: same validation and errors as a campaign file.")
def register_campaign():
    register_campaign_spec()


double_check_job = define_asset_job(
    "double_check_job",
    selection=AssetSelection.assets("double_checks"),
    description="Re-test blocks' residues with an independent library (PARI/GP; python-flint breaks ties).",
)
