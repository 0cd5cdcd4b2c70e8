"""The deployment's secret: the key of the checkpoints' MAC, so that a checkpoint a block resumes from can only
have been written by this deployment's own processes (whoever can merely write the checkpoint store cannot
forge its rows).

DARKREACH_SECRET (fleet mode, required there: the same value on every machine), else DARKREACH_HOME/secret,
generated once with mode 0600 and refused if others may read it.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from darkreach_pipeline.settings import darkreach_home

ENV = "DARKREACH_SECRET"
MIN_LENGTH = 32
HOW_TO_MAKE = "python -c 'import secrets; print(secrets.token_hex(32))'"


class SecretError(ValueError):
    """The secret is unusable; the message names where it comes from and the fix."""


def deployment_secret(shared: bool = False) -> bytes:
    """shared: the checkpoints are in a database other machines use too, so a secret per DARKREACH_HOME would
    make every machine reject the others' checkpoints: DARKREACH_SECRET must then be set."""
    text = os.environ.get(ENV)
    if text is not None:
        if len(text.strip()) < MIN_LENGTH:
            raise SecretError(f"{ENV} has {len(text.strip())} characters: use at least {MIN_LENGTH} random ones "
                              f"({HOW_TO_MAKE}), the same on every machine of the fleet")
        return text.strip().encode()
    if shared:
        raise SecretError(f"DARKREACH_CHECKPOINTS is a database shared by the fleet: set {ENV} to the same "
                          f"{MIN_LENGTH}+ random characters on every machine ({HOW_TO_MAKE})")
    path = darkreach_home() / "secret"
    if not path.exists():
        _create(path)
    return _read(path)


def _create(path: Path) -> None:
    """Written to a private temp file, then linked into place: two processes creating it at once agree on the
    one that won, and nobody reads a half-written secret."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".secret.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp, path)
    except FileExistsError:
        pass  # another process made it first: use that one
    finally:
        tmp.unlink(missing_ok=True)


def _read(path: Path) -> bytes:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SecretError(f"{path} may be read by other users (mode {mode:o}): `chmod 600 {path}`, or if it may "
                          f"have leaked, delete it (running blocks then redo their checkpointed work)")
    text = path.read_text().strip()
    if len(text) < MIN_LENGTH:
        raise SecretError(f"{path} holds {len(text)} characters: delete it (a new one is generated) or write at "
                          f"least {MIN_LENGTH} random ones into it ({HOW_TO_MAKE})")
    return text.encode()
