"""Pandas DataFrames as parquet files, one per partition, on any fsspec path (local, s3://, memory://)."""


import pandas as pd
from dagster import ConfigurableIOManagerFactory, Failure, InputContext, OutputContext, UPathIOManager
from pydantic import Field
from upath import UPath


class PandasParquetIOManager(UPathIOManager):
    extension = ".parquet"

    def dump_to_path(self, context: OutputContext, obj: pd.DataFrame, path: UPath) -> None:
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as f:
            obj.to_parquet(f, index=False)
        tmp.rename(path)  # readers never see a half-written file

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
