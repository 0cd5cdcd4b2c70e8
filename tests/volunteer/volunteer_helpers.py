"""A real work server (`darkreach serve` on an inherited 127.0.0.1 socket, port chosen by the OS) and real
client processes (`darkreach join`), each with its own DARKREACH_HOME, for the volunteer tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from darkreach_pipeline import blocks
from darkreach_pipeline.campaign import CampaignSpec, parse_campaign
from darkreach_pipeline.stores.costs import CostStore
from darkreach_pipeline.stores.registry import CampaignRegistry
from darkreach_pipeline.volunteer.client import submission
from darkreach_pipeline.volunteer.protocol import ResultSubmission
from darkreach_pipeline.volunteer.store import VolunteerStore

# 3*2^n-1, n = 1..400: four blocks of about 30 tests each, most of them above 2^64 (so proven by their proofs).
RIESEL = {"name": "vol-riesel", "form": "kbn", "k": 3, "b": 2, "c": -1, "n_min": 1, "n_max": 400, "block_size": 100,
          "sieve_depth": 1000}


def registry_url(home: Path) -> str:
    return f"sqlite:///{home / 'registry.db'}"


def prepare_server_home(home: Path, campaign: dict = RIESEL) -> CampaignSpec:
    """Register the campaign in the server's home and open all its blocks to volunteers."""
    spec = parse_campaign(campaign)
    url = registry_url(home)
    CampaignRegistry(url).register(spec)
    VolunteerStore(url).open_blocks(spec, range(spec.block_count), CostStore(url))
    return spec


def honest_submission(campaign: dict, block: int, unit_id: str, lease_id: str) -> ResultSubmission:
    """What an honest client returns for the unit (the block stages run here)."""
    spec = parse_campaign(campaign)
    sieved = blocks.sieve_frame(spec, block, blocks.candidate_frame(spec, block))
    return submission(spec, unit_id, lease_id, sieved, blocks.test_frame(spec, block, sieved), 1.0)


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DARKREACH_") and k != "DAGSTER_HOME"}
    return {**env, "DARKREACH_HOME": str(home), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}


def start_server(home: Path, *args: str, sock: socket.socket | None = None) -> tuple[subprocess.Popen, str]:
    """`darkreach serve` on a socket bound here (127.0.0.1, a free port from the OS); waits until it answers."""
    if sock is None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    process = subprocess.Popen(
        [sys.executable, "-m", "darkreach_pipeline.cli", "serve", "--fd", str(sock.fileno()), *args],
        pass_fds=[sock.fileno()], env=_env(home), start_new_session=True)
    process.sock = sock  # kept open here: a restarted server reuses it (same port, no race for a new one)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the work server did not start (exit {process.poll()})")
        time.sleep(0.2)


def start_client(home: Path, url: str, *args: str) -> subprocess.Popen:
    """`darkreach join` in its own home; its output goes to home/join.log."""
    home.mkdir(parents=True, exist_ok=True)
    log = open(home / "join.log", "ab")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(
        [sys.executable, "-m", "darkreach_pipeline.cli", "join", "--server", url, "--backoff-first", "0.2",
         "--checkpoint-seconds", "0.5", *args],
        env=_env(home), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()
