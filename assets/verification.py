"""Verification: residue double checks per block, worker reliability, verified primes."""

import pandas as pd
from dagster import AssetCheckResult, AssetCheckSpec, AssetExecutionContext, MetadataValue, Output, asset
from upath import UPath

from assets.block_stages import certificates
from assets.partitions import campaign_blocks
from darkreach_pipeline.stores.results import read_stage_checked
from darkreach_pipeline.verification.double_check import (
    FIRST_WRONG,
    MATCH,
    UNRESOLVED,
    block_is_valid,
    double_check_frame,
    library_versions,
)
from darkreach_pipeline.verification.external import EXTERNAL_CHECKS
from darkreach_pipeline.verification.verified_primes import top5000_text, verified_primes_frame
from resources.campaigns import CampaignRegistryResource
from resources.progress_files import BlockProgress
from resources.results import ResultsLocation

RECORD_DIGITS = 100_000  # results this large always get a triple check with two other libraries


@asset(
    partitions_def=campaign_blocks,
    group_name="verification",
    op_tags={"dagster-celery/queue": "prp"},
    check_specs=[AssetCheckSpec("residues_match", asset="double_checks")],
)
def double_checks(
    context: AssetExecutionContext,
    campaign_registry: CampaignRegistryResource,
    block_progress: BlockProgress,
    prp_results: pd.DataFrame,
):
    """Every tested candidate of the block re-tested by PARI/GP; a mismatch is broken by python-flint.

    The outcome updates the reliability record of the worker that produced the block."""
    spec, _ = campaign_registry.resolve(context.partition_key)
    triple = bool(len(prp_results)) and int(prp_results["digits"].max()) >= RECORD_DIGITS
    frame = double_check_frame(spec, prp_results, triple=triple,
                               progress=block_progress.reporter(context.partition_key))
    if len(prp_results) and "worker_id" in prp_results:
        workers = set(prp_results["worker_id"]) - {""}
    else:  # results stored before workers were tracked: the registry may still know the block's worker
        owner = campaign_registry.reliability().block_worker(context.partition_key)
        workers = {owner[0]} if owner else set()
    reliability = campaign_registry.reliability()
    valid = block_is_valid(frame)
    for worker in workers:
        reliability.record_validation(context.partition_key, worker, valid)
    bad = frame[frame["verdict"] != MATCH]
    yield Output(frame, metadata={
        "candidates": len(frame), "mismatches": len(bad), "triple_checked": triple,
        "libraries": library_versions(), "block_valid": valid,
        "workers": ", ".join(sorted(workers)) or "none",
    })
    wrong_first = bad[bad["verdict"].isin([FIRST_WRONG, UNRESOLVED])]
    yield AssetCheckResult(
        check_name="residues_match",
        passed=len(wrong_first) == 0,
        metadata={"mismatched_candidates": ", ".join(wrong_first["expression"].tolist()[:20]) or "none",
                  "verdicts": ", ".join(f"{v}: {c}" for v, c in frame["verdict"].value_counts().items()) or "none"},
    )


@asset(deps=[certificates, double_checks], group_name="results")
def verified_primes(context: AssetExecutionContext, results_location: ResultsLocation) -> pd.DataFrame:
    """Every prime with its status (proven-verified / prp-double-checked / pending) and the evidence;
    also written as verified_primes.csv and top5000.txt beside the parquet files."""
    options = results_location.storage_options
    certs, damaged = read_stage_checked(results_location.base_path, "certificates", storage_options=options)
    checks, damaged_checks = read_stage_checked(results_location.base_path, "double_checks", storage_options=options)
    external, damaged_external = read_stage_checked(results_location.base_path, EXTERNAL_CHECKS,
                                                    storage_options=options)
    for damage in damaged + damaged_checks + damaged_external:  # left out (their primes stay pending)
        context.log.error(f"damaged block {damage.partition_key} {damage.what()}")
    frame = verified_primes_frame(certs, checks, external=external)
    root = UPath(results_location.base_path, **options)
    root.mkdir(parents=True, exist_ok=True)
    with (root / "verified_primes.csv").open("w") as f:
        frame.to_csv(f, index=False)
    with (root / "top5000.txt").open("w") as f:
        f.write(top5000_text(frame) if len(frame) else "# no primes yet\n")
    counts = frame["status"].value_counts().to_dict() if len(frame) else {}
    context.add_output_metadata({**{k.replace("-", "_"): int(v) for k, v in counts.items()},
                                 "csv": MetadataValue.path(str(root / "verified_primes.csv"))})
    return frame


@asset(deps=["prp_results", double_checks], group_name="verification")
def worker_reliability(context: AssetExecutionContext, campaign_registry: CampaignRegistryResource) -> pd.DataFrame:
    """Each worker's record: valid/total over 30 days, streak, trusted or not. Materialise it to plot trends."""
    rows = [{"worker_id": w.worker_id, "valid": w.valid, "total": w.total, "reliability": w.reliability,
             "streak": w.streak, "trusted": w.trusted, "unreliable": w.unreliable}
            for w in campaign_registry.reliability().workers()]
    frame = pd.DataFrame(rows, columns=["worker_id", "valid", "total", "reliability", "streak", "trusted",
                                        "unreliable"])
    context.add_output_metadata({
        "workers": len(frame), "trusted": int(frame["trusted"].sum()) if len(frame) else 0,
        **{f"reliability_{w[:8]}": float(r) for w, r in zip(frame["worker_id"], frame["reliability"], strict=True)},
    })
    return frame


