"""Jobs: run blocks of the campaign graph, and register a campaign from the UI's Launchpad."""


from dagster import AssetSelection, Failure, OpExecutionContext, define_asset_job, job, op

from assets.launchpad import CampaignConfig, campaign_mapping
from assets.partitions import add_block_partitions
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.found import counted
from resources.campaigns import CampaignRegistryResource

campaign_job = define_asset_job(
    "campaign_job",
    selection=AssetSelection.groups("campaign"),
    description="Candidates, sieve, tests and certificates for the selected blocks.",
)


@op
def register_campaign_spec(
    context: OpExecutionContext, config: CampaignConfig, campaign_registry: CampaignRegistryResource
) -> None:
    """Validate, record in the registry, and add the campaign's blocks as partitions. A refused campaign fails
    the run with a dagster Failure whose description names the field and the fix (no traceback to read)."""
    try:
        spec = parse_campaign(campaign_mapping(config))
        is_new = campaign_registry.registry().register(spec)
    except CampaignError as exc:
        raise Failure(description=str(exc)) from None
    keys = spec.partition_keys()
    added = add_block_partitions(context.instance, keys)
    context.log.info(
        f"campaign '{spec.name}' {'registered' if is_new else 'already registered'}: {counted(len(keys), 'block')} "
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
