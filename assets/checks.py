"""Audits of each block's stored results: nothing lost, nothing doubled, every claim re-checked."""



import warnings

import pandas as pd
from dagster import AssetCheckResult, AssetIn, asset_check

from assets.campaign import certificates, prp_results, sieve_survivors
from assets.partitions import campaign_blocks
from darkreach_pipeline import blocks
from darkreach_pipeline.checks import (
    certificate_problems,
    factor_claim_problems,
    result_problems,
    sieve_coverage_problems,
    tested_once_problems,
)
from darkreach_pipeline.forms import form_for
from resources.campaigns import CampaignRegistryResource

# Partitioned asset checks are "preview" in Dagster 1.13 but required here: without partitions_def a
# check loads every partition of its asset and fails on the first one not yet materialised.
warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec")


def _result(problems: list[str], **metadata) -> AssetCheckResult:
    return AssetCheckResult(
        passed=not problems,
        metadata={"problems": len(problems), "first_problems": "; ".join(problems[:10]) or "none", **metadata},
    )


@asset_check(asset=sieve_survivors, partitions_def=campaign_blocks, blocking=True)
def sieve_accounts_for_every_candidate(
    context, campaign_registry: CampaignRegistryResource, sieve_survivors: pd.DataFrame
) -> AssetCheckResult:
    """Each axis value of the block appears once, and every claimed factor really divides its number."""
    spec, block = campaign_registry.resolve(context.partition_key)
    problems = sieve_coverage_problems(spec, block, sieve_survivors)
    problems += factor_claim_problems(form_for(spec), spec.axis, sieve_survivors)
    return _result(problems, survivors=int((sieve_survivors["status"] == blocks.SURVIVOR).sum()))


@asset_check(
    asset=prp_results,
    partitions_def=campaign_blocks,
    blocking=True,
    additional_ins={"sieve_survivors": AssetIn("sieve_survivors")},
)
def every_survivor_tested_once(
    context, campaign_registry: CampaignRegistryResource, prp_results: pd.DataFrame, sieve_survivors: pd.DataFrame
) -> AssetCheckResult:
    """The tested set equals the survivor set exactly; residues are well formed; 'prime' only with a proof."""
    spec, _ = campaign_registry.resolve(context.partition_key)
    problems = tested_once_problems(spec.axis, sieve_survivors, prp_results) + result_problems(prp_results)
    return _result(problems, tests=len(prp_results))


@asset_check(
    asset=certificates,
    partitions_def=campaign_blocks,
    blocking=True,
    additional_ins={"prp_results": AssetIn("prp_results")},
)
def every_prime_has_verified_certificate(
    context, campaign_registry: CampaignRegistryResource, certificates: pd.DataFrame, prp_results: pd.DataFrame
) -> AssetCheckResult:
    """Each prime or PRP has a certificate row; each 'proven' one passed the independent verifier."""
    spec, _ = campaign_registry.resolve(context.partition_key)
    problems = certificate_problems(spec.axis, prp_results, certificates)
    return _result(problems, certificates=len(certificates))


CAMPAIGN_CHECKS = [sieve_accounts_for_every_candidate, every_survivor_tested_once, every_prime_has_verified_certificate]
