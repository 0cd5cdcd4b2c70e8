"""Pandas DataFrames as parquet files, one per partition, on any fsspec path (local, s3://, memory://)."""

import os
import uuid

import pandas as pd
from dagster import (
    ConfigurableIOManagerFactory,
    Failure,
    InputContext,
    MetadataValue,
    OutputContext,
    UPathIOManager,
)
from pydantic import Field
from upath import UPath


class PandasParquetIOManager(UPathIOManager):
    """One file per block. A run of several blocks (a partition key range) loads {partition key: DataFrame}
    and stores the same: a dict with exactly the run's keys, each frame to its block's file."""

    extension = ".parquet"

    def handle_output(self, context: OutputContext, obj) -> None:
        if not isinstance(obj, dict):
            super().handle_output(context, obj)
            return
        if not context.has_asset_partitions:
            raise Failure(description=f"asset '{context.asset_key.to_user_string()}' returned a dict of blocks "
                          "but is not partitioned")
        paths = self._get_paths_for_partitions(context)
        if set(obj) != set(paths):
            raise Failure(
                description=f"asset '{context.asset_key.to_user_string()}' returned blocks {sorted(obj)} for a run "
                f"of blocks {sorted(paths)}: an output must hold exactly the run's blocks"
            )
        for key, path in paths.items():
            if not isinstance(obj[key], pd.DataFrame):
                raise Failure(description=f"block {key} of '{context.asset_key.to_user_string()}' is a "
                              f"{type(obj[key]).__name__}, not a DataFrame")
            self.make_directory(path.parent)
            self.dump_to_path(context=context, obj=obj[key], path=path)
        first = next(iter(paths.values()))
        context.add_output_metadata({"blocks_stored": len(paths), "folder": MetadataValue.path(str(first.parent))})

    def dump_to_path(self, context: OutputContext, obj: pd.DataFrame, path: UPath) -> None:
        # A temp name of its own per writer (two commands on one home may write the same block): renamed into
        # place in one step, so readers never see a half-written file and writers never share a temp file.
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
        try:
            with tmp.open("wb") as f:
                obj.to_parquet(f, index=False)
            tmp.rename(path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def load_from_path(self, context: InputContext, path: UPath) -> pd.DataFrame:
        try:
            with path.open("rb") as f:
                return pd.read_parquet(f)
        except FileNotFoundError:
            raise
        except Exception as exc:  # a truncated or foreign file: say which, and how to recover
            raise Failure(
                description=f"stored output {path} is unreadable ({type(exc).__name__}: {exc}); nothing else is "
                f"affected: re-materialise asset '{context.asset_key.to_user_string()}' for this partition "
                "to rewrite it"
            ) from None


class ParquetIOManager(ConfigurableIOManagerFactory):
    """base_path: a folder or an fsspec URL; storage_options: credentials etc. for object stores."""

    base_path: str
    storage_options: dict = Field(default_factory=dict)

    def create_io_manager(self, context) -> PandasParquetIOManager:
        return PandasParquetIOManager(base_path=UPath(self.base_path, **self.storage_options))
