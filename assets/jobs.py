"""Jobs: run blocks of the campaign graph, and register a campaign from the UI's Launchpad (a job per form)."""


from dagster import AssetSelection, Failure, JobDefinition, OpExecutionContext, define_asset_job, job, op

from assets.launchpad import VARIANT_CONFIGS, campaign_mapping, job_name, op_name, variant_key
from assets.partitions import add_block_partitions
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.forms import FORM_CLASSES
from darkreach_pipeline.forms.base import PrimeForm
from darkreach_pipeline.found import counted
from resources.campaigns import CampaignRegistryResource

campaign_job = define_asset_job(
    "campaign_job",
    selection=AssetSelection.groups("campaign"),
    description="Candidates, sieve, tests and certificates for the selected blocks.",
)


def _register_job(cls: type[PrimeForm]) -> JobDefinition:
    """register_<form>: the Launchpad's way to create a campaign of this form (assets/launchpad.py)."""
    config_class = VARIANT_CONFIGS[variant_key(cls)]

    @op(name=op_name(cls))
    def register_spec(context: OpExecutionContext, config: config_class,  # type: ignore[valid-type]
                      campaign_registry: CampaignRegistryResource) -> None:
        """Validate, record in the registry, and add the campaign's blocks as partitions. A refused campaign fails
        the run with a dagster Failure whose description is the campaign file's one-line message."""
        try:
            spec = parse_campaign(campaign_mapping(cls, config))
            is_new = campaign_registry.registry().register(spec)
        except CampaignError as exc:
            raise Failure(description=str(exc)) from None
        keys = spec.partition_keys()
        added = add_block_partitions(context.instance, keys)
        context.log.info(
            f"campaign '{spec.name}' {'registered' if is_new else 'already registered'}: "
            f"{counted(len(keys), 'block')} ({len(added)} new partitions), sieve depth {spec.sieve_depth}. Launch "
            "its blocks from the asset group 'campaign': Materialize all..., its partitions (keys starting with "
            "the campaign name), Launch backfill."
        )

    doc = (cls.__doc__ or cls.name).strip().splitlines()[0]

    @job(name=job_name(cls), description=f"Register a {cls.name} campaign ({doc}): the config is a campaign file "
         "without `form`; same validation and errors.")
    def register_job():
        register_spec()

    return register_job


REGISTER_JOBS = [_register_job(cls) for cls in FORM_CLASSES]


double_check_job = define_asset_job(
    "double_check_job",
    selection=AssetSelection.assets("double_checks"),
    description="Re-test blocks' residues with an independent library (PARI/GP; python-flint breaks ties).",
)
