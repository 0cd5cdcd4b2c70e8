"""Dagster resources and IO managers: thin wrappers that hand the engine its stores and paths."""
