"""Where stage outputs live, for assets that read many partitions at once (the IO manager writes there)."""


from dagster import ConfigurableResource
from pydantic import Field


class ResultsLocation(ConfigurableResource):
    base_path: str
    storage_options: dict = Field(default_factory=dict)
