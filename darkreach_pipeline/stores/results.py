"""Read stored stage outputs (parquet files written by the IO manager) outside a Dagster run, verified."""

from __future__ import annotations

import pandas as pd
from upath import UPath

from darkreach_pipeline.stores.integrity import MISSING, Damage, DamagedBlockError, identity_of, read_block


def read_stage_checked(base_path: str, asset: str, campaign: str | None = None, storage_options: dict | None = None
                       ) -> tuple[pd.DataFrame, list[Damage]]:
    """Concatenate the verified per-block parquet files of one asset (all campaigns, or one campaign's blocks);
    the blocks whose file is damaged are left out and returned as the second value."""
    base = UPath(base_path, **(storage_options or {}))
    root = base / asset
    if campaign is not None:
        root = root / campaign
    if not root.exists():
        return pd.DataFrame(), []
    frames, damaged = [], []
    for path in sorted(p for p in root.rglob("*.parquet")):
        ident = identity_of(base, path)
        try:
            frames.append(read_block(path, ident))
        except FileNotFoundError:  # replaced or removed while listing
            damaged.append(Damage(asset, ident.split("/", 1)[1], MISSING))
        except DamagedBlockError as exc:
            damaged.append(Damage(asset, ident.split("/", 1)[1], exc.reason, exc.detail))
    frames = [f for f in frames if len(f)]
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()), damaged


def read_stage(base_path: str, asset: str, campaign: str | None = None, storage_options: dict | None = None
               ) -> pd.DataFrame:
    """As read_stage_checked, but a damaged block file raises DamagedBlockError naming it."""
    frame, damaged = read_stage_checked(base_path, asset, campaign, storage_options)
    if damaged:
        first = damaged[0]
        raise DamagedBlockError(f"{asset}/{first.partition_key}", str(UPath(base_path) / asset), first.reason,
                                first.detail + (f" (+{len(damaged) - 1} more damaged blocks)" if len(damaged) > 1
                                                else ""))
    return frame
