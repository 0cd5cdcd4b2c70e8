"""`darkreach join`: the volunteer client. Claims units that fit its preferences, runs the block stages the
Dagster assets run (sieve, then every survivor's test with its Pietrzak proof), and returns the results.

Everything it must not lose is on disk under DARKREACH_HOME/volunteer/ (mode 0700, files 0600):
identity.json (its UUID and token, made on first run), current.json (the unit it is working on), checkpoints/
(the block's test rows and verified chain state: kill -9 and a restart resume the unit), spool/ (finished
results, kept until the server has answered them). A server outage is waited out with exponential back-off;
a server that needs a newer protocol stops the client with the upgrade command.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd

from darkreach_pipeline import blocks
from darkreach_pipeline.backoff import Backoff
from darkreach_pipeline.campaign import CampaignSpec, parse_campaign
from darkreach_pipeline.checkpoint_policy import BlockCheckpointer
from darkreach_pipeline.secret import deployment_secret
from darkreach_pipeline.stores.checkpoints import FileCheckpointStore
from darkreach_pipeline.volunteer.acceptance import VOLUNTEER_HOST
from darkreach_pipeline.volunteer.protocol import (
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    ClaimReply,
    Hello,
    RegisterReply,
    ResultSubmission,
    TestRow,
    UnitOffer,
)

logger = logging.getLogger("darkreach.volunteer")
TEST_FIELDS = tuple(TestRow.model_fields)


class UpgradeNeeded(RuntimeError):
    """The server needs a newer protocol than this client speaks; the message has the upgrade command."""


class LeaseLost(RuntimeError):
    """The server no longer counts this client as the unit's holder (lease expired and handed on)."""


class Refused(RuntimeError):
    """The server refused a request for good (4xx other than 409/429): retrying would not help."""


@dataclass
class Preferences:
    forms: list[str]
    max_cpu: int = 100  # percent of one core's time while computing
    max_ram_bytes: int = 0  # 0: any
    name: str | None = None
    account: str | None = None


def parse_size(text: str) -> int:
    """'4G', '512M', '1.5g', '2000000' -> bytes (binary units)."""
    text = text.strip().upper().removesuffix("B")
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(text[-1:], 1)
    number = text[:-1] if text[-1:] in "KMGT" else text
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"--max-ram {text!r}: give a size such as 4G, 512M or a number of bytes") from None
    if value <= 0:
        raise ValueError(f"--max-ram {text!r}: must be above 0")
    return int(value * scale)


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def _write_private(path: Path, data: str) -> None:
    """Atomically, readable by its owner only (a token, a result: nobody else's business)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)


class Throttle:
    """Keeps the computation at `share` percent of CPU time: after each piece of work (a test, a sieve chunk)
    it sleeps as long as the piece's CPU time x (100 / share - 1)."""

    def __init__(self, share: int, sleep: Callable[[float], None] = time.sleep):
        self.share, self.sleep = share, sleep
        self.last = time.process_time()

    def __call__(self) -> None:
        now = time.process_time()
        used, self.last = now - self.last, now
        if self.share < 100 and used > 0:
            self.sleep(used * (100 / self.share - 1))
            self.last = time.process_time()


def submission(spec: CampaignSpec, unit_id: str, lease_id: str, sieved: pd.DataFrame, tests: pd.DataFrame,
               cpu_seconds: float) -> ResultSubmission:
    """A unit's result as sent: the sieve's strikes and every test row, without what the server derives."""
    struck = sieved[sieved["status"] == blocks.FACTOR]
    return ResultSubmission.model_validate({
        "unit_id": unit_id, "lease_id": lease_id,
        "struck": [[int(v), int(f)] for v, f in zip(struck[spec.axis], struck["factor"], strict=True)],
        "tests": [{"value": int(row[spec.axis]), **{k: row[k] for k in TEST_FIELDS if k != "value"}}
                  for row in tests.to_dict("records")],
        "cpu_seconds": cpu_seconds,
    }, strict=False)


class VolunteerClient:
    def __init__(self, server: str, home: Path, preferences: Preferences, *, backoff_first: float = 2.0,
                 backoff_cap: float = 300.0, checkpoint_seconds: float = 30.0, log: Callable[[str], None] = print):
        self.server = server.rstrip("/")
        self.dir = _private_dir(home / "volunteer")
        self.spool = _private_dir(self.dir / "spool")
        self.preferences, self.log = preferences, log
        self.checkpoint_seconds = checkpoint_seconds
        self.backoff = Backoff(f"work server {self.server}", first=backoff_first, cap=backoff_cap, log=log)
        self.http = httpx.Client(base_url=self.server, timeout=120.0, headers={PROTOCOL_HEADER: str(PROTOCOL_VERSION)})
        self.worker_id, self.token = "", ""

    # --- talking to the server ---------------------------------------------------------------------------
    def _request(self, method: str, path: str, body: dict | str | None = None) -> httpx.Response:
        """One request, retried with back-off through outages (connection errors, 5xx) and 429s; a 409 raises
        LeaseLost, another 4xx Refused (426: UpgradeNeeded)."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        content = body if isinstance(body, str) or body is None else json.dumps(body)

        def attempt() -> httpx.Response:
            response = self.http.request(method, path, content=content,
                                         headers={**headers, "Content-Type": "application/json"})
            if response.status_code >= 500:
                raise httpx.HTTPStatusError(f"server error {response.status_code}", request=response.request,
                                            response=response)
            return response

        while True:
            response = self.backoff.call(attempt, retry_if=lambda exc: isinstance(exc, httpx.HTTPError))
            if response.status_code == 429:
                time.sleep(float(response.headers.get("Retry-After", "1")))
                continue
            if response.status_code == 426:
                raise UpgradeNeeded(f"the server needs a newer client: {response.json().get('detail')}")
            if response.status_code == 409:
                raise LeaseLost(response.json().get("detail", "lease lost"))
            if response.status_code in (401, 400, 403, 404, 413):
                raise Refused(f"{method} {path}: {response.status_code} {response.text[:500]}")
            return response

    def check_protocol(self) -> None:
        hello = Hello.model_validate_json(self._request("GET", "/v1/hello").content)
        if hello.min_client_protocol > PROTOCOL_VERSION:
            raise UpgradeNeeded(f"the server at {self.server} needs protocol {hello.min_client_protocol}, this client "
                                f"speaks {PROTOCOL_VERSION}: upgrade with `{hello.upgrade}`, then run join again")

    def ensure_identity(self) -> None:
        """The identity made on first run for this server (a UUID and its token), else a new one."""
        path = self.dir / "identity.json"
        if path.exists():
            saved = json.loads(path.read_text())
            if saved.get("server") == self.server:
                self.worker_id, self.token = saved["worker_id"], saved["token"]
                return
        reply = RegisterReply.model_validate_json(self._request("POST", "/v1/register", {
            "protocol": PROTOCOL_VERSION, "name": self.preferences.name, "account": self.preferences.account}).content)
        self.worker_id, self.token = reply.worker_id, reply.token
        _write_private(path, json.dumps({"server": self.server, "worker_id": self.worker_id, "token": self.token}))
        self.log(f"registered with {self.server} as {self.worker_id}")

    # --- the loop ----------------------------------------------------------------------------------------
    def run(self, units: int | None = None, idle_exit_after: float | None = None) -> int:
        """Work until `units` units are done (None: forever) or no work came for `idle_exit_after` seconds."""
        self.check_protocol()
        self.ensure_identity()
        done, idle_since = 0, time.monotonic()
        while units is None or done < units:
            self.flush_spool()
            offer = self._resumed_unit() or self._claim()
            if offer is None:
                if idle_exit_after is not None and time.monotonic() - idle_since > idle_exit_after:
                    break
                continue
            try:
                self.compute(offer)
                done += 1
            except LeaseLost as exc:
                self.log(f"{offer.unit_id}: lease lost ({exc}); its work is dropped")
                self._forget(offer)
            idle_since = time.monotonic()
        self.flush_spool()
        return done

    def _claim(self) -> UnitOffer | None:
        reply = ClaimReply.model_validate_json(self._request("POST", "/v1/claim", {
            "forms": self.preferences.forms, "max_ram_bytes": self.preferences.max_ram_bytes}).content)
        if reply.unit is None:
            time.sleep(reply.retry_after)
            return None
        _write_private(self.dir / "current.json", reply.unit.model_dump_json())
        keep = FileCheckpointStore(self.dir / "checkpoints")._path(reply.unit.unit_id).name
        for stale in (self.dir / "checkpoints").glob("*"):  # a lost lease's checkpoint, kept in case it came back
            if stale.name != keep:
                stale.unlink(missing_ok=True)
        return reply.unit

    def _resumed_unit(self) -> UnitOffer | None:
        """The unit a killed client was working on, if its lease is still ours."""
        path = self.dir / "current.json"
        if not path.exists():
            return None
        offer = UnitOffer.model_validate_json(path.read_text())
        try:
            self._heartbeat(offer, 0, 0)
        except LeaseLost:
            self.log(f"{offer.unit_id}: its lease expired while this client was stopped (its checkpoint is kept "
                     "until another unit is claimed: if the server hands this one out again, it resumes)")
            path.unlink()
            return None
        self.log(f"{offer.unit_id}: resuming")
        return offer

    def _forget(self, offer: UnitOffer) -> None:
        self._checkpointer(offer).clear()
        (self.dir / "current.json").unlink(missing_ok=True)

    def _heartbeat(self, offer: UnitOffer, done: int, total: int) -> None:
        self._request("POST", "/v1/heartbeat", {"unit_id": offer.unit_id, "lease_id": offer.lease_id,
                                                "done": done, "total": total})

    def _checkpointer(self, offer: UnitOffer) -> BlockCheckpointer:
        spec = parse_campaign(offer.campaign)
        return BlockCheckpointer(FileCheckpointStore(self.dir / "checkpoints"), offer.unit_id, spec.fingerprint(),
                                 offer.block, deployment_secret(), every_seconds=self.checkpoint_seconds,
                                 log=self.log)

    def compute(self, offer: UnitOffer) -> None:
        """Run the unit (heartbeating meanwhile), spool its result, hand it in."""
        spec = parse_campaign(offer.campaign)
        throttle = Throttle(self.preferences.max_cpu)
        state = {"done": 0, "total": 0, "lost": None}
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(offer.heartbeat_seconds):
                try:
                    self._heartbeat(offer, state["done"], state["total"])
                except (LeaseLost, Refused) as exc:
                    state["lost"] = exc
                    return

        def progress(stage: str, done: int, total: int) -> None:
            if stage == "test":
                state["done"], state["total"] = done, total
            if state["lost"] is not None:
                raise LeaseLost(str(state["lost"]))
            throttle()

        started = time.process_time()
        beater = threading.Thread(target=beat, daemon=True, name="heartbeat")
        beater.start()
        checkpointer = self._checkpointer(offer)
        try:
            candidates = blocks.candidate_frame(spec, offer.block)
            sieved = blocks.sieve_frame(spec, offer.block, candidates, progress)
            tests = blocks.test_frame(spec, offer.block, sieved, progress, checkpointer,
                                      worker=(self.worker_id, VOLUNTEER_HOST))
        finally:
            stop.set()
            beater.join()
        text = submission(spec, offer.unit_id, offer.lease_id, sieved, tests,
                          time.process_time() - started).model_dump_json()
        _write_private(self.spool / f"{offer.unit_id.replace('/', '_')}.json", text)
        checkpointer.clear()
        (self.dir / "current.json").unlink(missing_ok=True)
        self.log(f"{offer.unit_id}: {len(tests)} tests done, result spooled")
        self.flush_spool()

    def flush_spool(self) -> None:
        """Hand in every spooled result; a file goes only once the server has answered it for good."""
        for path in sorted(self.spool.glob("*.json")):
            try:
                response = self._request("POST", "/v1/result", path.read_text())
                self.log(f"{path.stem}: {response.json().get('status')} ({response.json().get('reason')})")
            except LeaseLost as exc:
                self.log(f"{path.stem}: not accepted, the lease was lost ({exc})")
            except Refused as exc:
                self.log(f"{path.stem}: refused ({exc})")
            path.unlink()
