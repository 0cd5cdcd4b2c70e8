"""The deployment secret keying the checkpoints' MAC: generated once, private, or shared via DARKREACH_SECRET."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from darkreach_pipeline.secret import ENV, SecretError, deployment_secret


def test_generated_once_with_mode_0600(darkreach_home):
    first = deployment_secret()
    path = darkreach_home / "secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32 and deployment_secret() == first


def test_a_secret_others_may_read_is_refused(darkreach_home):
    deployment_secret()
    (darkreach_home / "secret").chmod(0o644)
    with pytest.raises(SecretError, match="chmod 600"):
        deployment_secret()


def test_the_environment_wins_and_must_be_long_enough(darkreach_home, monkeypatch):
    monkeypatch.setenv(ENV, "f" * 40)
    assert deployment_secret() == b"f" * 40
    assert not (darkreach_home / "secret").exists()
    monkeypatch.setenv(ENV, "short")
    with pytest.raises(SecretError, match=f"{ENV} has 5 characters"):
        deployment_secret()


def test_checkpoints_in_a_shared_database_need_the_fleet_secret(darkreach_home, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    with pytest.raises(SecretError, match=f"set {ENV} to the same"):
        deployment_secret(shared=True)
    monkeypatch.setenv(ENV, "f" * 40)
    assert deployment_secret(shared=True) == b"f" * 40


def test_a_fleet_worker_without_the_secret_is_refused_at_start(darkreach_home):
    env = {**os.environ, "DARKREACH_CHECKPOINTS": "postgresql://darkreach@127.0.0.1:1/none"}
    env.pop(ENV, None)
    proc = subprocess.run([sys.executable, "-m", "darkreach_pipeline.cli", "worker", "--no-wait"], env=env,
                          cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert f"error: DARKREACH_CHECKPOINTS is a database shared by the fleet: set {ENV}" in proc.stderr
