"""The Dagster UI as a user drives it, in headless Chromium: `darkreach ui`, register a Wagstaff campaign from the
Launchpad (job register_wagstaff), backfill its blocks from the `campaign` group of the asset graph, materialise
`primes`, and read the primes back. Screenshots of the main screens go to $DARKREACH_UI_SHOTS (default
ui-shots/, git-ignored).

Needs the Debian `chromium` package and PyPI `playwright` (`.ci/run` installs both; never `playwright install`).
Recipe and pitfalls: the "Join the Dagster community" modal (setNuxSeen), the asset graph's web-worker layout
(wait for a node label), the partition dialog's mode buttons."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, data_env_names
from oracles import pari

pytestmark = pytest.mark.browser
playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip("no chromium (Debian package `chromium`; .ci/run installs it)", allow_module_level=True)

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCATION = "darkreach"
# Wagstaff (2^p+1)/3, p = 3..300: two blocks, one run (DARKREACH_BLOCKS_PER_RUN=2 below), seconds of tests.
CAMPAIGN = {"name": "ui-wagstaff", "form": "wagstaff", "p_min": 3, "p_max": 300, "block_size": 150,
            "sieve_depth": 1000}
LAUNCHPAD_YAML = """ops:
  register_wagstaff_spec:
    config:
      name: ui-wagstaff
      p_min: 3
      p_max: 300
      block_size: 150
      sieve_depth: 1000
"""
SHOTS = Path(os.environ.get("DARKREACH_UI_SHOTS") or REPO / "ui-shots")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, port: int, home: Path, log: Path):
        self.base, self.home, self.log = f"http://127.0.0.1:{port}", home, log

    def gql(self, query: str, variables: dict | None = None) -> dict:
        request = urllib.request.Request(self.base + "/graphql", headers={"Content-Type": "application/json"},
                                         data=json.dumps({"query": query, "variables": variables or {}}).encode())
        with urllib.request.urlopen(request, timeout=30) as response:
            out = json.loads(response.read())
        assert "errors" not in out, out
        return out["data"]

    def wait_for(self, what: str, done, timeout: float = 240):
        """Poll done() (a value, or None while not yet) every second."""
        deadline = time.time() + timeout
        while (value := done()) is None:
            assert time.time() < deadline, f"{what}: not in {timeout} s; server log:\n{self.log.read_text()[-3000:]}"
            time.sleep(1)
        return value


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    """`darkreach ui` on a fresh home and a free port, in its own session (stopped with its process group)."""
    home = tmp_path_factory.mktemp("ui-home")
    log = home / "ui.log"
    env = {k: v for k, v in os.environ.items() if k not in set(data_env_names())}
    env.update(DARKREACH_HOME=str(home), DARKREACH_BLOCKS_PER_RUN="2", PYTHONUNBUFFERED="1")
    port = free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "darkreach_pipeline.cli", "ui", "--port", str(port)], env=env,
                                cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    srv = Server(port, home, log)
    try:
        def loaded():
            if proc.poll() is not None:
                raise AssertionError(f"darkreach ui exited {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                entries = srv.gql("{ workspaceOrError { ... on Workspace { locationEntries { loadStatus } } } }")
            except OSError:
                return None
            entries = entries["workspaceOrError"]["locationEntries"]
            return True if entries and all(e["loadStatus"] == "LOADED" for e in entries) else None

        srv.wait_for("code location loaded", loaded, timeout=120)
        srv.gql("mutation { setNuxSeen }")  # no "Join the Dagster community" modal over the page
        # The sensors that would start double checks, audits and progress runs compete for the 2 run slots.
        repo = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__"}
        sensors = srv.gql("query($r: RepositorySelector!) { sensorsOrError(repositorySelector: $r) { ... on Sensors "
                          "{ results { name sensorState { id } } } } }", {"r": repo})["sensorsOrError"]["results"]
        for sensor in sensors:
            if sensor["name"] != "campaign_files_sensor":
                srv.gql("mutation($id: String) { stopSensor(id: $id) { __typename } }",
                        {"id": sensor["sensorState"]["id"]})
        yield srv
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def page(server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1600, "height": 1000})
        context.set_default_timeout(30_000)
        playwright.expect.set_options(timeout=30_000)  # its own default is 5 s: too short on 2 loaded cores
        yield context.new_page()
        browser.close()


RUNS = ("query($job: String!) { runsOrError(filter: {pipelineName: $job}) { ... on Runs { results { runId status } } "
        "} }")
BACKFILLS = ("{ partitionBackfillsOrError(limit: 5) { ... on PartitionBackfills { results { id status numPartitions } "
             "} } }")

MATERIALIZATIONS = '{ assetOrError(assetKey: {path: ["primes"]}) { ... on Asset { assetMaterializations { runId } } } }'


def finished_runs(server: Server, job: str) -> list[dict] | None:
    runs = server.gql(RUNS, {"job": job})["runsOrError"]["results"]
    live = {"QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"}
    return runs if runs and all(r["status"] not in live for r in runs) else None


def test_darkreach_ui_starts_cleanly(server):
    """No supersession warning naming `dg`; the watched folder exists for a user to drop files into."""
    text = server.log.read_text()
    assert "SupersessionWarning" not in text and "'dg " not in text, text[-3000:]
    assert (server.home / "campaigns").is_dir()


def test_register_backfill_and_read_primes_in_the_browser(server, page):
    expect = playwright.expect
    phases, start = {}, time.time()

    def phase(name: str) -> None:
        nonlocal start
        phases[name], start = time.time() - start, time.time()

    # 1. Launchpad of register_wagstaff: the typed config, typed in as a user would.
    page.goto(f"{server.base}/locations/{LOCATION}/jobs/register_wagstaff/playground")
    editor = page.locator(".CodeMirror").first
    expect(editor).to_be_visible()

    def type_config(text: str) -> None:
        editor.click()
        page.keyboard.press("Control+A")
        page.keyboard.press("Delete")
        page.keyboard.insert_text(text)

    # "Scaffold missing config" fills in the form's own fields, and only those.
    type_config("")
    page.get_by_role("button", name="Scaffold missing config").click()
    page.get_by_role("dialog").get_by_role("button", name="Confirm").click()
    for field in ("name", "p_min", "p_max", "block_size"):
        expect(editor).to_contain_text(field)
    assert not {"k_min", "n_min", "form"} & set(editor.inner_text().replace(":", " ").split())
    page.screenshot(path=SHOTS / "00_launchpad_scaffold.png")
    type_config(LAUNCHPAD_YAML)
    expect(page.get_by_text("wagstaff").first).to_be_visible()
    page.wait_for_timeout(1500)  # the config is validated against the schema as it is typed
    page.screenshot(path=SHOTS / "01_launchpad.png")
    page.get_by_role("button", name="Launch Run").click()
    runs = server.wait_for("register run", lambda: finished_runs(server, "register_wagstaff"))
    assert [r["status"] for r in runs] == ["SUCCESS"], runs
    page.goto(f"{server.base}/runs/{runs[0]['runId']}")
    expect(page.get_by_text("registered: 2 blocks").first).to_be_visible()
    phase("register")

    # 2. Backfill both blocks from the `campaign` group (its "Materialize all…" selects the four stages only).
    page.goto(f"{server.base}/locations/{LOCATION}/asset-groups/campaign")
    expect(page.get_by_text("prp_results").first).to_be_visible()
    page.wait_for_timeout(1000)
    page.screenshot(path=SHOTS / "02_campaign_group.png")
    page.get_by_role("button", name="Materialize all…").click()
    # campaign_sieve (upstream of sieve_survivors, optional: blocks sieve themselves without it) is not
    # materialised, so Dagster asks first; the README's walkthrough says to confirm
    warning = page.get_by_role("dialog").filter(has_text="campaign_sieve")
    expect(warning).to_be_visible()
    warning.get_by_role("button", name="Confirm").click()
    dialog = page.get_by_role("dialog").filter(has_text="Launch runs to materialize")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Missing", exact=True).click()
    expect(dialog.get_by_text("2 partitions").first).to_be_visible()
    page.screenshot(path=SHOTS / "03_backfill_dialog.png")
    dialog.get_by_role("button", name="Launch backfill").click()
    expect(dialog).to_be_hidden()

    def backfill_done():
        found = server.gql(BACKFILLS)["partitionBackfillsOrError"]["results"]
        return found[0] if found and found[0]["status"] not in ("REQUESTED",) else None

    backfill = server.wait_for("backfill", backfill_done)
    assert backfill["status"] == "COMPLETED_SUCCESS" and backfill["numPartitions"] == 2, backfill
    page.goto(f"{server.base}/runs/b/{backfill['id']}?tab=runs")
    expect(page.get_by_text("Succeeded").first).to_be_visible()
    page.screenshot(path=SHOTS / "04_backfill_succeeded.png")
    phase("backfill")

    # 3. Materialise `primes` from its page, then read them where the UI shows them.
    page.goto(f"{server.base}/locations/{LOCATION}/asset-groups/campaign")
    expect(page.get_by_text("prp_results").first).to_be_visible()
    page.wait_for_timeout(3000)  # the nodes' partition and check counts load after the graph
    page.screenshot(path=SHOTS / "05_campaign_group_done.png")
    page.goto(f"{server.base}/assets/primes")
    page.get_by_role("button").filter(has_text=re.compile(r"^\s*Materialize\s*$")).first.click()
    server.wait_for("primes materialised", lambda: server.gql(MATERIALIZATIONS)["assetOrError"]
                    ["assetMaterializations"] or None)
    phase("primes")
    expected = {p for p in range(3, 301) if pari.isprime(p) and pari.isprime((2**p + 1) // 3)}
    with open(server.home / "data" / "primes.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["campaign"] == "ui-wagstaff"]
    assert {int(r["p"]) for r in rows} == expected and len(rows) == len(expected)
    page.goto(f"{server.base}/assets/primes")
    row = page.get_by_role("row").filter(has=page.get_by_text("primes", exact=True)).first
    expect(row).to_contain_text(str(len(expected)))
    expect(page.get_by_text("primes.csv").first).to_be_visible()
    page.screenshot(path=SHOTS / "06_primes.png", full_page=True)
    print("\nUI test phases (s):", {k: round(v, 1) for k, v in phases.items()})
