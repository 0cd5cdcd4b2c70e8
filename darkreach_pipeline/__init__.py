"""darkreach-pipeline: the prime-search engine (no Dagster in here) and the product's entry points."""

__version__ = "0.1.0"
