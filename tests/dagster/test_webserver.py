"""The UI loads the code location: a real dagster-webserver answers GraphQL with the asset graph."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from conftest import stop_group

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_webserver_loads_location_with_block_partitions(tmp_path):
    env = {**os.environ, "DARKREACH_HOME": str(tmp_path)}
    env.pop("DAGSTER_HOME", None)
    campaign = tmp_path / "tiny.toml"
    campaign.write_text('name = "tiny"\nform = "kbn"\nk = 3\nb = 2\nc = 1\nn_min = 1\nn_max = 90\n'
                        'block_size = 30\nsieve_depth = 1000\n')
    subprocess.run([sys.executable, "-m", "darkreach_pipeline.cli", "register", str(campaign)],
                   env=env, check=True, cwd=ROOT)
    env["DAGSTER_HOME"] = str(tmp_path / "dagster")
    port = _free_port()
    log = tmp_path / "webserver.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "dagster_webserver", "-w", str(ROOT / "workspace.yaml"), "-h", "127.0.0.1",
             "-p", str(port)],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        deadline = time.time() + 120
        while True:
            try:
                data = _graphql(port, "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
                                      "locationOrLoadError { __typename } } } } }")
                entries = data["data"]["workspaceOrError"]["locationEntries"]
                if entries and entries[0]["loadStatus"] == "LOADED":
                    break
            except OSError:
                pass
            assert server.poll() is None, f"the webserver died:\n{log.read_text()[-3000:]}"
            assert time.time() < deadline, "webserver did not load the code location in 120 s"
            time.sleep(1)
        assert entries[0]["name"] == "darkreach"
        assert entries[0]["locationOrLoadError"]["__typename"] == "RepositoryLocation"
        nodes = _graphql(port, "{ assetNodes { assetKey { path } partitionKeys } }")["data"]["assetNodes"]
        by_key = {"/".join(n["assetKey"]["path"]): n["partitionKeys"] for n in nodes}
        assert set(by_key) == {"candidate_ranges", "sieve_survivors", "p_minus_1", "prp_results", "prp_proofs",
                               "certificates",
                               "primes", "campaign_progress", "double_checks", "verified_primes",
                               "worker_reliability", "integrity_audit", "campaign_plan", "campaign_feedback",
                               "announcements", "fleet_advice", "campaign_sieve", "proof_checks",
                               "volunteer_credit"}
        assert by_key["prp_results"] == ["tiny/000000", "tiny/000001", "tiny/000002"]
    finally:
        stop_group(server, grace=30)
