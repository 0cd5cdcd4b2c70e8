"""Dagster assets, checks, sensors and jobs: thin functions that call the engine."""
