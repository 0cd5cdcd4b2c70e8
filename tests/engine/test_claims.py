"""Block claims: one holder per block; a dead or silent holder's claims are taken over."""

import socket
import subprocess
import time

import sqlalchemy as sa

from darkreach_pipeline.liveness import ProcessId, _start_time
from darkreach_pipeline.stores import claims
from darkreach_pipeline.stores.claims import ClaimStore

KEYS = ["c/000000", "c/000001"]


def _store(tmp_path, holder: ProcessId | None = None) -> ClaimStore:
    return ClaimStore(f"sqlite:///{tmp_path / 'registry.db'}", holder)


def _dead_process() -> ProcessId:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return ProcessId(socket.gethostname(), proc.pid, "0")


def test_one_holder_at_a_time(tmp_path):
    me, other = _store(tmp_path), _store(tmp_path, ProcessId("another-host", 1, "1"))
    assert ProcessId.parse(me.holder.token) == me.holder
    assert me.claim(KEYS) is None
    assert me.claim(KEYS) is None  # claiming again what one holds is fine
    assert other.claim(KEYS[1:]) == me.holder.token  # held by a live process: refused, nothing taken
    me.release(KEYS[:1])
    assert other.claim(KEYS) == me.holder.token  # all or nothing: KEYS[1] is still held
    assert other.claim(KEYS[:1]) is None
    me.release()
    assert other.claim(KEYS) is None


def test_a_dead_holders_claims_are_taken_over(tmp_path):
    dead = _store(tmp_path, _dead_process())
    assert dead.holder.is_gone() and not ProcessId.this().is_gone()
    assert dead.claim(KEYS) is None
    assert _store(tmp_path).claim(KEYS) is None


def test_a_silent_holder_elsewhere_is_taken_over_after_its_heartbeat_goes_stale(tmp_path):
    remote = _store(tmp_path, ProcessId("another-host", 42, "7"))
    assert not remote.holder.is_gone()  # another host: only its heartbeat tells
    assert remote.claim(KEYS) is None
    me = _store(tmp_path)
    assert me.claim(KEYS) == remote.holder.token
    with me.engine.begin() as conn:  # its last heartbeat long ago
        conn.execute(sa.text("UPDATE darkreach_block_claims SET heartbeat = :t"),
                     {"t": time.time() - claims.STALE_AFTER - 1})
    assert me.claim(KEYS) is None


def test_a_killed_process_not_yet_reaped_is_gone():
    """A zombie (exited, not yet reaped: its parent was killed too) holds nothing: the run it held is failed."""
    child = subprocess.Popen(["sleep", "30"])
    holder = ProcessId.parse(f"{socket.gethostname()}:{child.pid}:{_start_time(child.pid)}")
    assert holder is not None and not holder.is_gone()
    child.kill()
    deadline = time.monotonic() + 10
    while _state(child.pid) != "Z" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _state(child.pid) == "Z"  # still in the process table: os.kill(pid, 0) succeeds
    assert holder.is_gone()
    child.wait()
    assert holder.is_gone()


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]
