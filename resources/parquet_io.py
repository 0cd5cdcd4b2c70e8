"""Pandas DataFrames as parquet files, one per partition, on any fsspec path (local, s3://, memory://); each file
carries a checksum verified on read (darkreach_pipeline/stores/integrity.py)."""


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

from darkreach_pipeline.stores.integrity import DamagedBlockError, identity_of, read_block, write_block


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
        # with its checksum, atomically (darkreach_pipeline/stores/integrity.py)
        write_block(path, obj, identity_of(self._base_path, path))

    def load_from_path(self, context: InputContext, path: UPath) -> pd.DataFrame:
        try:
            return read_block(path, identity_of(self._base_path, path))
        except DamagedBlockError as exc:  # say which block, and that rerunning it recovers
            raise Failure(description=str(exc)) from None


class ParquetIOManager(ConfigurableIOManagerFactory):
    """base_path: a folder or an fsspec URL; storage_options: credentials etc. for object stores."""

    base_path: str
    storage_options: dict = Field(default_factory=dict)

    def create_io_manager(self, context) -> PandasParquetIOManager:
        return PandasParquetIOManager(base_path=UPath(self.base_path, **self.storage_options))
