"""Which process holds something (a block claim, a Dagster run), and whether it is gone.

A process is named host:pid:start, start being its start time from /proc (so a reused pid is not mistaken for
the original). Only a process on this host can be checked directly; elsewhere a holder is judged by its
heartbeat.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (state first); [] where /proc is unavailable."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _start_time(pid: int) -> str:
    """Clock ticks after boot at which the process started ('' where /proc is unavailable)."""
    fields = _stat(pid)
    return fields[19] if len(fields) > 19 else ""


@dataclass(frozen=True)
class ProcessId:
    host: str
    pid: int
    start: str

    @classmethod
    def this(cls) -> ProcessId:
        return cls(socket.gethostname(), os.getpid(), _start_time(os.getpid()))

    @classmethod
    def parse(cls, token: str) -> ProcessId | None:
        host, _, rest = token.rpartition(":")
        host, _, pid = host.rpartition(":")
        return cls(host, int(pid), rest) if host and pid.isdigit() else None

    @property
    def token(self) -> str:
        return f"{self.host}:{self.pid}:{self.start}"

    def is_local(self) -> bool:
        return self.host == socket.gethostname()

    def is_gone(self) -> bool:
        """True only if certain: the process ran on this host and no longer exists (or its pid was reused)."""
        if not self.is_local():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass  # it exists, under another user
        fields = _stat(self.pid)
        if not fields:  # exited just now, or no /proc here (then its start is unknown too)
            return self.start != ""
        # a zombie (killed, its parent gone too, not yet reaped) has exited: it holds nothing any more
        return fields[0] in ("Z", "X") or fields[19] != self.start
