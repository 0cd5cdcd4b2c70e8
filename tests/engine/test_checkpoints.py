"""Checkpoints inside a block: atomic, verified, resumable after kill -9, saved on SIGTERM."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from darkreach_pipeline import blocks
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.checkpointing import BlockCheckpointer
from darkreach_pipeline.stores.checkpoints import (
    Checkpoint,
    CheckpointRejected,
    FileCheckpointStore,
    SqlCheckpointStore,
    decode,
)

ROOT = Path(__file__).resolve().parents[2]
VOLATILE = ["seconds", "gerbicz_checks"]  # cost and bookkeeping; every result column must match

DRIVER = """
import signal, sys
import pandas as pd
from darkreach_pipeline import blocks
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.checkpointing import BlockCheckpointer
from darkreach_pipeline.stores.checkpoints import FileCheckpointStore

def stop(signum, frame):
    raise KeyboardInterrupt("SIGTERM")

signal.signal(signal.SIGTERM, stop)
store_dir, out, n_min, n_max = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
spec = parse_campaign(dict(name="crash", form="kbn", k=3, b=2, c=1, n_min=n_min, n_max=n_max,
                           block_size=n_max - n_min + 1, sieve_depth=2000))
sieved = blocks.sieve_frame(spec, 0, blocks.candidate_frame(spec, 0))
ck = BlockCheckpointer(FileCheckpointStore(store_dir), "crash/000000", spec.fingerprint(), 0,
                       every_seconds=0.2, every_fraction=0.05, log=lambda m: print(m, flush=True))
frame = blocks.test_frame(spec, 0, sieved, checkpointer=ck)
frame.to_parquet(out)
print("RESUMED", ck.resumed_from, flush=True)
"""


def _spec(n_min: int, n_max: int):
    return parse_campaign(dict(name="crash", form="kbn", k=3, b=2, c=1, n_min=n_min, n_max=n_max,
                               block_size=n_max - n_min + 1, sieve_depth=2000))


def _clean(n_min: int, n_max: int) -> pd.DataFrame:
    spec = _spec(n_min, n_max)
    return blocks.test_frame(spec, 0, blocks.sieve_frame(spec, 0, blocks.candidate_frame(spec, 0)))


def _launch(tmp_path: Path, n_min: int, n_max: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(tmp_path / "ckpt"), str(tmp_path / "out.parquet"), str(n_min), str(n_max)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def _checkpoint(tmp_path: Path) -> dict | None:
    path = tmp_path / "ckpt" / "crash__000000.ckpt"
    try:
        return json.loads(json.loads(path.read_bytes())["body"])
    except (FileNotFoundError, ValueError):
        return None


def _wait_for(predicate, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while not predicate():
        assert proc.poll() is None, "the block finished before the crash point: make it longer"
        assert time.time() < deadline, "no checkpoint appeared"
        time.sleep(0.02)


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.drop(columns=VOLATILE), b.drop(columns=VOLATILE))


def test_kill_9_between_tests_resumes_without_loss_or_duplicates(tmp_path):
    n_min, n_max = 4000, 5199
    proc = _launch(tmp_path, n_min, n_max)
    _wait_for(lambda: (c := _checkpoint(tmp_path)) is not None and len(c["rows"]) >= 3, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    saved = len(_checkpoint(tmp_path)["rows"])
    proc = _launch(tmp_path, n_min, n_max)
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, output
    assert f"RESUMED {saved} finished tests" in output
    _same(pd.read_parquet(tmp_path / "out.parquet"), _clean(n_min, n_max))


def test_kill_9_inside_one_long_test_resumes_its_verified_chain(tmp_path):
    n = 30029  # a survivor of the sieve to 2000; its test takes a few seconds
    proc = _launch(tmp_path, n, n)
    _wait_for(lambda: (c := _checkpoint(tmp_path)) is not None and c["chain"] is not None, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = _checkpoint(tmp_path)["chain"]["state"]["done"]
    assert done > 0
    proc = _launch(tmp_path, n, n)
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, output
    assert f"test of {n} at squaring" in output
    _same(pd.read_parquet(tmp_path / "out.parquet"), _clean(n, n))


def test_sigterm_saves_a_checkpoint_and_exits_promptly(tmp_path):
    proc = _launch(tmp_path, 4000, 5199)
    _wait_for(lambda: (c := _checkpoint(tmp_path)) is not None and len(c["rows"]) >= 1, proc)
    before = len(_checkpoint(tmp_path)["rows"])
    proc.send_signal(signal.SIGTERM)
    start = time.time()
    proc.communicate(timeout=30)
    assert time.time() - start < 10
    assert proc.returncode != 0
    assert len(_checkpoint(tmp_path)["rows"]) >= before


def _checkpointer(store, fingerprint="f" * 16, block=0):
    return BlockCheckpointer(store, "c/000000", fingerprint, block)


@pytest.mark.parametrize("kind", ["file", "sqlite"])
def test_store_round_trip_and_rejections(tmp_path, kind):
    store = FileCheckpointStore(tmp_path) if kind == "file" else SqlCheckpointStore(f"sqlite:///{tmp_path}/c.db")
    ck = _checkpointer(store)
    ck.rows = [{"n": 5, "res64": "00"}]
    ck.save()
    again = _checkpointer(store)
    assert again.resume() is not None and again.rows == [{"n": 5, "res64": "00"}]
    assert _checkpointer(store, fingerprint="0" * 16).resume() is None  # other campaign parameters
    other = _checkpointer(store, fingerprint="0" * 16)
    other.resume()
    assert "other campaign parameters" in other.rejected
    blob = store.load("c/000000")
    store.save("c/000000", blob.replace(b"res64", b"res65"))  # corrupt the content
    corrupt = _checkpointer(store)
    assert corrupt.resume() is None and "content hash" in corrupt.rejected
    store.save("c/000000", b"\x00garbage")
    assert _checkpointer(store).resume() is None
    store.delete("c/000000")
    assert store.load("c/000000") is None


def test_other_software_version_is_rejected():
    blob = Checkpoint("f" * 16, 0, [], None, software="0.0.0-old").encode()
    with pytest.raises(CheckpointRejected, match="software"):
        decode(blob, "f" * 16, 0)


def test_postgres_checkpoint_store(postgres_url):
    store = SqlCheckpointStore(postgres_url)
    ck = _checkpointer(store)
    ck.rows = [{"n": 7}]
    ck.save()
    ck.save()  # overwrite in place
    resumed = _checkpointer(store)
    assert resumed.resume() is not None and resumed.rows == [{"n": 7}]
    store.delete("c/000000")


def test_blocks_with_checkpointer_equal_clean_run(tmp_path):
    spec = _spec(1000, 1199)
    sieved = blocks.sieve_frame(spec, 0, blocks.candidate_frame(spec, 0))
    ck = BlockCheckpointer(FileCheckpointStore(tmp_path), "crash/000000", spec.fingerprint(), 0, every_seconds=0)
    with_ck = blocks.test_frame(spec, 0, sieved, checkpointer=ck)
    assert ck.saves >= 1
    _same(with_ck, blocks.test_frame(spec, 0, sieved))
