"""The Dagster instance of a deployment: the dagster.yaml written into a new DAGSTER_HOME (the embedded default,
SQLite beside the home's other data; fleet mode copies deploy/fleet/dagster.yaml instead)."""

from __future__ import annotations

import os
from pathlib import Path

from darkreach_pipeline.settings import dagster_home

DEFAULT_DAGSTER_YAML = """\
# Embedded default: SQLite run/event storage in this folder, no server to start.
telemetry:
  enabled: false
concurrency:
  runs:
    max_concurrent_runs: 2
# Every run of campaign blocks, however launched, is tagged with its campaign and a dagster/max_runtime sized
# from measured test costs (max(120 s, 3 x estimate) per block) when it is submitted (README: "The Dagster side").
run_coordinator:
  module: resources.run_coordinator
  class: CampaignRunCoordinator
run_monitoring:
  enabled: true
  poll_interval_seconds: 30
"""


def ensure_dagster_home() -> Path:
    """DAGSTER_HOME (settings.dagster_home), created with the embedded dagster.yaml unless it has one."""
    home = dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DEFAULT_DAGSTER_YAML)
    return home


def dagster_postgres_url() -> str | None:
    """The Dagster instance's PostgreSQL (deploy/fleet/dagster.yaml reads DARKREACH_PG_*), if configured."""
    env = os.environ
    if not env.get("DARKREACH_PG_HOST"):
        return None
    from urllib.parse import quote

    user = quote(env.get("DARKREACH_PG_USER", "postgres"), safe="")
    password = env.get("DARKREACH_PG_PASSWORD")
    auth = f"{user}:{quote(password, safe='')}" if password else user
    return (f"postgresql://{auth}@{env['DARKREACH_PG_HOST']}:{env.get('DARKREACH_PG_PORT', '5432')}/"
            f"{env.get('DARKREACH_PG_DB', 'dagster')}")


def instance_databases() -> list[tuple[str, str]]:
    """(what, url) of the instance's database a fleet worker waits for (fleet.worker_dependencies), if any."""
    url = dagster_postgres_url()
    return [("dagster instance", url)] if url else []
