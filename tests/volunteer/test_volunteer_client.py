"""The join client's own rules, against a scripted server (httpx.MockTransport): the protocol check with the
upgrade command, the back-off through an outage, the size and CPU-share settings."""

from __future__ import annotations

import httpx
import pytest

from darkreach_pipeline.volunteer.client import Preferences, Throttle, UpgradeNeeded, VolunteerClient, parse_size
from darkreach_pipeline.volunteer.protocol import PROTOCOL_VERSION, UPGRADE_COMMAND


def client(tmp_path, handler) -> VolunteerClient:
    volunteer = VolunteerClient("http://work.example", tmp_path, Preferences(forms=[]), backoff_first=0.01,
                                log=lambda line: None)
    volunteer.http = httpx.Client(base_url="http://work.example", transport=httpx.MockTransport(handler))
    return volunteer


def test_a_server_needing_a_newer_protocol_is_refused_with_the_upgrade_command(tmp_path) -> None:
    hello = {"protocol": PROTOCOL_VERSION + 1, "min_client_protocol": PROTOCOL_VERSION + 1, "upgrade": UPGRADE_COMMAND}
    volunteer = client(tmp_path, lambda request: httpx.Response(200, json=hello))
    with pytest.raises(UpgradeNeeded, match="pip install --upgrade"):
        volunteer.run(units=1)
    assert not (tmp_path / "volunteer" / "identity.json").exists()  # nothing registered with it


def test_an_outage_is_waited_out_and_the_identity_kept_private(tmp_path) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) <= 2:
            raise httpx.ConnectError("refused")
        if len(calls) == 3:
            return httpx.Response(503)
        if request.url.path == "/v1/hello":
            return httpx.Response(200, json={"protocol": PROTOCOL_VERSION, "min_client_protocol": 1,
                                             "upgrade": UPGRADE_COMMAND})
        return httpx.Response(200, json={"worker_id": "w" * 36, "token": "t" * 64})

    volunteer = client(tmp_path, handler)
    volunteer.check_protocol()
    volunteer.ensure_identity()
    assert calls == ["/v1/hello"] * 4 + ["/v1/register"]
    identity = tmp_path / "volunteer" / "identity.json"
    assert identity.stat().st_mode & 0o777 == 0o600 and volunteer.token == "t" * 64


def test_sizes_and_cpu_share() -> None:
    assert parse_size("4G") == 4 << 30 and parse_size("512m") == 512 << 20 and parse_size("1000") == 1000
    with pytest.raises(ValueError, match="--max-ram"):
        parse_size("lots")
    slept = []
    throttle = Throttle(25, sleep=slept.append)
    sum(i * i for i in range(200_000))  # some CPU time
    throttle()
    assert slept and slept[0] > 0  # 25 %: three times the CPU time used is slept
