"""Who computed a result: a UUID made on first run and kept in DARKREACH_HOME, plus the host name."""

from __future__ import annotations

import json
import socket
import uuid
from pathlib import Path


def worker_identity(home: Path) -> tuple[str, str]:
    path = home / "worker.json"
    try:
        worker_id = json.loads(path.read_text())["worker_id"]
    except (FileNotFoundError, ValueError, KeyError):
        worker_id = str(uuid.uuid4())
        home.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"worker_id": worker_id}))
        if path.exists():  # present but unreadable: replace it
            tmp.replace(path)
        else:  # first run; two processes racing: the first rename wins, both read it back
            try:
                tmp.rename(path) if not path.exists() else tmp.unlink()
            except FileNotFoundError:
                pass
        worker_id = json.loads(path.read_text())["worker_id"]
    return worker_id, socket.gethostname()
