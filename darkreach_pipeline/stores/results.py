"""Read stored stage outputs (parquet files written by the IO manager) outside a Dagster run."""

from __future__ import annotations

import pandas as pd
from upath import UPath


def read_stage(base_path: str, asset: str, campaign: str | None = None, storage_options: dict | None = None
               ) -> pd.DataFrame:
    """Concatenate the per-block parquet files of one asset: all campaigns, or one campaign's blocks."""
    root = UPath(base_path, **(storage_options or {})) / asset
    if campaign is not None:
        root = root / campaign
    if not root.exists():
        return pd.DataFrame()
    files = sorted(p for p in root.rglob("*.parquet"))
    frames = []
    for path in files:
        with path.open("rb") as f:
            frames.append(pd.read_parquet(f))
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
