"""Every prime found, across all campaigns: one table, also exported as CSV beside the parquet files."""


import os
import uuid

import pandas as pd
from dagster import AssetExecutionContext, MetadataValue, asset
from upath import UPath

from assets.block_stages import certificates
from darkreach_pipeline.blocks import REJECTED
from darkreach_pipeline.stores.results import read_stage_checked
from resources.results import ResultsLocation


@asset(deps=[certificates], group_name="results")
def primes(context: AssetExecutionContext, results_location: ResultsLocation) -> pd.DataFrame:
    """Gathered from every block's certificates; status says how each was established (proven / prp). Claims
    the verifier rejected are left out, and so are blocks whose certificates file is damaged (listed in the
    metadata; they are not finished, so the next run recomputes them)."""
    frame, damaged = read_stage_checked(results_location.base_path, "certificates",
                                        storage_options=results_location.storage_options)
    for damage in damaged:
        context.log.error(f"damaged block {damage.partition_key} {damage.what()}: its primes are not listed")
    if len(frame):
        frame = frame[frame["status"] != REJECTED].sort_values(["campaign", "digits", "expression"], ignore_index=True)
    csv_path = UPath(results_location.base_path, **results_location.storage_options) / "primes.csv"
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = csv_path.with_name(f"primes.csv.{os.getpid()}.{uuid.uuid4().hex}.tmp")  # commands may gather at once
    with tmp.open("w") as f:
        frame.to_csv(f, index=False)
    tmp.rename(csv_path)
    context.add_output_metadata(
        {"primes": len(frame),
         "proven": int((frame["status"] == "proven").sum()) if len(frame) else 0,
         "prp": int((frame["status"] == "prp").sum()) if len(frame) else 0,
         "csv": MetadataValue.path(str(csv_path)),
         "damaged_blocks": ", ".join(d.partition_key for d in damaged) or "none"}
    )
    return frame
