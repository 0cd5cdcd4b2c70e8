"""Every launch path ends with the same primes.csv, and the results follow the blocks under the daemon.

One campaign of six small blocks in one home, each block launched a different way while `dagster dev` (webserver
and daemon) runs: `dagster asset materialize` (block 0, in the CLI's process), `dagster job backfill` (1), the UI's
backfill through the webserver's GraphQL API (2 and 3), `darkreach backfill` (4), the campaign file dropped into
the watched folder (the sensor launches what is left: 5). The results sensor must then refresh primes.csv,
verified_primes.csv, top5000.txt and campaign_progress with nothing else started; primes.csv must equal the one
`darkreach run` writes for the same campaign file in a second home, and list exactly PARI's primes.

The home's dagster.yaml allows one run per campaign at a time: every queued block run must carry the campaign and
a run time bound (added by the run coordinator whatever launched it) and no two of them may overlap."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
from conftest import stop_group, toml_text

from resources.instance_config import DEFAULT_DAGSTER_YAML

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
WORKSPACE = str(ROOT / "workspace.yaml")
CAMPAIGN = {"name": "paths", "form": "kbn", "k": 3, "b": 2, "c": -1, "n_min": 1, "n_max": 180, "block_size": 30,
            "sieve_depth": 1000}
KEYS = [f"paths/{i:06d}" for i in range(6)]
STAGES = ["candidate_ranges", "sieve_survivors", "p_minus_1", "prp_results", "prp_proofs", "certificates"]
WRAP = "import os,signal,sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])"
ONE_RUN_PER_CAMPAIGN = """
    tag_concurrency_limits:
      - key: darkreach/campaign
        value: {applyLimitPerUniqueValue: true}
        limit: 1
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(port: int, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def wait_for(what: str, condition, timeout: float, server=None, log: Path | None = None, every: float = 2.0):
    """Poll condition() until true; fail at once, with the end of its LOG, if SERVER has exited."""
    deadline = time.time() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert server is None or server.poll() is None, f"dagster dev died:\n{log.read_text()[-3000:] if log else ''}"
        assert time.time() < deadline, f"not within {timeout:.0f} s: {what}"
        time.sleep(every)


def run(argv: list[str], env: dict) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def loaded(port: int) -> bool:
    try:
        data = graphql(port, "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus } } } }")
    except OSError:
        return False
    entries = data["data"]["workspaceOrError"]["locationEntries"]
    return bool(entries) and entries[0]["loadStatus"] == "LOADED"


def test_every_launch_path_ends_with_the_same_primes_csv(tmp_path, monkeypatch, pari_primes):
    home, reference = tmp_path / "home", tmp_path / "reference"
    for name in ("DARKREACH_DATA", "DARKREACH_REGISTRY_URL", "DARKREACH_CHECKPOINTS", "DARKREACH_BLOCKS_PER_RUN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DARKREACH_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    env = dict(os.environ)
    (home / "dagster").mkdir(parents=True)
    config = DEFAULT_DAGSTER_YAML.replace("    max_concurrent_runs: 2\n",
                                                   "    max_concurrent_runs: 2\n" + ONE_RUN_PER_CAMPAIGN.lstrip("\n"))
    assert ONE_RUN_PER_CAMPAIGN.strip() in config
    (home / "dagster" / "dagster.yaml").write_text(config)
    campaign_file = tmp_path / "paths.toml"
    campaign_file.write_text(toml_text(CAMPAIGN))
    cli = [sys.executable, "-m", "darkreach_pipeline.cli"]
    run([*cli, "register", str(campaign_file)], env)
    # Only the block runs and the results refreshes: no double checks of this (new, untrusted) worker's blocks.
    run([str(BIN / "dagster"), "sensor", "stop", "verification_sensor", "-w", WORKSPACE], env)

    port = free_port()
    log = tmp_path / "dagster-dev.log"
    with log.open("w") as out:
        server = subprocess.Popen([sys.executable, "-c", WRAP, str(BIN / "dagster"), "dev", "-w", WORKSPACE, "-h",
                                   "127.0.0.1", "-p", str(port)], env=env, cwd=ROOT, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # Block 0 in the CLI's own process while the server starts: nothing but the results sensor refreshes
        # primes.csv for it.
        run([str(BIN / "dagster"), "asset", "materialize", "-m", "darkreach_pipeline.definitions", "--select",
             ",".join(STAGES), "--partition", KEYS[0]], env)
        wait_for("the webserver loads the code location", lambda: loaded(port), 180, server, log)
        from dagster import AssetKey, DagsterInstance, DagsterRunStatus

        instance = DagsterInstance.get()
        primes_csv = home / "data" / "primes.csv"
        oracle = sorted(f"3*2^{n}-1" for n in pari_primes(3, 2, -1, 1, 180))
        first = sorted(f"3*2^{n}-1" for n in pari_primes(3, 2, -1, 1, 30))

        def listed() -> list[str]:
            return sorted(pd.read_csv(primes_csv)["expression"]) if primes_csv.exists() else []

        wait_for("primes.csv lists block 0's primes", lambda: listed() == first, 240, server, log)

        run([str(BIN / "dagster"), "job", "backfill", "-w", WORKSPACE, "-j", "campaign_job", "--partitions",
             KEYS[1], "--noprompt"], env)
        launched = graphql(port, """mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams:
            $params) { __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }""",
            {"params": {"partitionNames": KEYS[2:4], "assetSelection": [{"path": [s]} for s in STAGES]}})
        assert launched["data"]["launchPartitionBackfill"]["__typename"] == "LaunchBackfillSuccess", launched
        run([*cli, "backfill", "paths", "--blocks", KEYS[4]], env)
        elsewhere = {k: v for k, v in env.items() if k != "DAGSTER_HOME"}
        run([*cli, "run", str(campaign_file)], {**elsewhere, "DARKREACH_HOME": str(reference)})

        def certified() -> set[str]:
            return set(instance.get_materialized_partitions(AssetKey("certificates")))

        def all_runs_ended() -> bool:
            return all(r.is_finished for r in instance.get_runs())

        wait_for("blocks 1-4 are certified", lambda: certified() >= set(KEYS[:5]) and all_runs_ended(), 420, server,
                 log)
        inbox = home / "campaigns"
        inbox.mkdir(exist_ok=True)
        (inbox / "paths.toml").write_text(campaign_file.read_text())
        wait_for("the sensor runs block 5", lambda: certified() == set(KEYS) and all_runs_ended(), 240, server, log)
        last_block = instance.fetch_materializations(AssetKey("certificates"), limit=1, ascending=False).records[0]

        def refreshed_after_the_last_block() -> bool:
            latest = instance.fetch_materializations(AssetKey("campaign_progress"), limit=1, ascending=False).records
            return bool(latest) and latest[0].storage_id > last_block.storage_id and all_runs_ended()

        wait_for("a refresh after the last block", refreshed_after_the_last_block, 240, server, log)
        assert listed() == oracle

        assert primes_csv.read_bytes() == (reference / "data" / "primes.csv").read_bytes()
        verified = pd.read_csv(home / "data" / "verified_primes.csv")
        assert sorted(verified["expression"]) == oracle
        top5000 = (home / "data" / "top5000.txt").read_text()
        assert all(expression in top5000 for expression in oracle)

        runs = instance.get_runs()
        assert all(r.status == DagsterRunStatus.SUCCESS for r in runs), [(r.job_name, r.status) for r in runs]
        queued = [r for r in runs if r.tags.get("dagster/partition") in KEYS and (
            "dagster/backfill" in r.tags or r.tags.get("dagster/sensor_name") == "campaign_files_sensor")]
        assert sorted(r.tags["dagster/partition"] for r in queued) == KEYS[1:], [r.tags for r in queued]
        for r in queued:
            assert r.tags.get("darkreach/campaign") == "paths", r.tags
            assert int(r.tags["dagster/max_runtime"]) >= 120, r.tags
        records = instance.get_run_records()
        spans = sorted((rec.start_time, rec.end_time) for rec in records if rec.dagster_run.run_id in
                       {r.run_id for r in queued})
        assert all(end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:], strict=False)), spans
        assert len({r.tags.get("dagster/sensor_name") for r in runs} & {"results_sensor", "campaign_files_sensor"}) == 2
    finally:
        stop_group(server)
