"""Checkpoints inside a block: atomic, verified, resumable after kill -9, saved on SIGTERM."""

import base64
import hashlib
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
from darkreach_pipeline.checkpoint_policy import BlockCheckpointer
from darkreach_pipeline.proofs.pietrzak_verify import verify_prp_proof
from darkreach_pipeline.stores.checkpoints import (
    Checkpoint,
    CheckpointRejected,
    FileCheckpointStore,
    SqlCheckpointStore,
    decode,
)

ROOT = Path(__file__).resolve().parents[2]
SECRET = b"s" * 32  # the deployment secret of these tests (the crash driver uses the same)
VOLATILE = ["seconds", "gerbicz_checks"]  # cost and bookkeeping; every result column must match

DRIVER = """
import signal, sys
import pandas as pd
from darkreach_pipeline import blocks
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.checkpoint_policy import BlockCheckpointer
from darkreach_pipeline.stores.checkpoints import FileCheckpointStore

def stop(signum, frame):
    raise KeyboardInterrupt("SIGTERM")

signal.signal(signal.SIGTERM, stop)
store_dir, out, n_min, n_max = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
spec = parse_campaign(dict(name="crash", form="kbn", k=3, b=2, c=1, n_min=n_min, n_max=n_max,
                           block_size=n_max - n_min + 1, sieve_depth=2000))
sieved = blocks.sieve_frame(spec, 0, blocks.candidate_frame(spec, 0))
ck = BlockCheckpointer(FileCheckpointStore(store_dir), "crash/000000", spec.fingerprint(), 0, b"s" * 32,
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
    reference = _clean(n_min, n_max)  # here, on the other core, while the resumed block runs
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, output
    assert f"RESUMED {saved} finished tests" in output
    _same(pd.read_parquet(tmp_path / "out.parquet"), reference)


def test_kill_9_inside_one_long_test_resumes_its_verified_chain(tmp_path):
    n = 30029  # a survivor of the sieve to 2000; its test takes a few seconds
    proc = _launch(tmp_path, n, n)
    # killed once the saved chain state carries residues kept for the proof (they must survive the resume)
    _wait_for(lambda: (c := _checkpoint(tmp_path)) is not None and c["chain"] is not None
              and c["chain"].get("residues"), proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = _checkpoint(tmp_path)["chain"]["state"]["done"]
    assert done > 0
    proc = _launch(tmp_path, n, n)
    reference = _clean(n, n)  # while the resumed test runs
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, output
    assert f"test of {n} at squaring" in output
    resumed = pd.read_parquet(tmp_path / "out.parquet")
    _same(resumed, reference)  # the same proof too: the kept residues came back with the chain state
    proof = base64.b64decode(resumed.loc[0, "proof"])
    assert verify_prp_proof(3 * 2**n + 1, proof, base=3, res64=resumed.loc[0, "res64"]).accepted


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


def _checkpointer(store, fingerprint="f" * 16, block=0, secret=SECRET):
    return BlockCheckpointer(store, "c/000000", fingerprint, block, secret)


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
    assert corrupt.resume() is None and "MAC does not match" in corrupt.rejected
    store.save("c/000000", b"\x00garbage")
    assert _checkpointer(store).resume() is None
    store.delete("c/000000")
    assert store.load("c/000000") is None


def test_other_software_version_is_rejected():
    blob = Checkpoint("f" * 16, 0, [], None, software="0.0.0-old").encode(SECRET)
    with pytest.raises(CheckpointRejected, match="software"):
        decode(blob, "f" * 16, 0, SECRET)


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
    ck = BlockCheckpointer(FileCheckpointStore(tmp_path), "crash/000000", spec.fingerprint(), 0, SECRET,
                           every_seconds=0)
    with_ck = blocks.test_frame(spec, 0, sieved, checkpointer=ck)
    assert ck.saves >= 1
    _same(with_ck, blocks.test_frame(spec, 0, sieved))


# The drill: a forged checkpoint row marks the prime 3*2^18+1 composite. It must never be resumed.
FORGED_N = 18


def _forgery_setup(tmp_path):
    spec = parse_campaign(dict(name="forge", form="kbn", k=3, b=2, c=1, n_min=1, n_max=40, block_size=40,
                               sieve_depth=100))
    sieved = blocks.sieve_frame(spec, 0, blocks.candidate_frame(spec, 0))
    clean = blocks.test_frame(spec, 0, sieved)
    assert clean.set_index("n").loc[FORGED_N, "result"] == "prime"
    forged = clean.to_dict("records")
    for row in forged:
        if row["n"] == FORGED_N:
            row.update(result="composite", method="fermat")
    return spec, sieved, clean, forged, FileCheckpointStore(tmp_path)


def _resume(spec, sieved, store):
    log: list[str] = []
    ck = BlockCheckpointer(store, "forge/000000", spec.fingerprint(), 0, SECRET, log=log.append)
    return blocks.test_frame(spec, 0, sieved, checkpointer=ck), ck, log


def _unkeyed(spec, rows) -> bytes:
    """What a forger without the secret can write: the body with a matching plain content hash (format 1)."""
    body = json.dumps({"format": 1, "fingerprint": spec.fingerprint(), "block": 0, "rows": rows, "chain": None,
                       "software": Checkpoint("", 0).software}, sort_keys=True)
    return json.dumps({"sha256": hashlib.sha256(body.encode()).hexdigest(), "body": body}).encode()


@pytest.mark.parametrize("how", ["unkeyed content hash", "another secret"])
def test_forged_checkpoint_row_is_rejected_and_the_prime_found(tmp_path, how):
    spec, sieved, clean, forged, store = _forgery_setup(tmp_path)
    blob = (_unkeyed(spec, forged) if how == "unkeyed content hash"
            else Checkpoint(spec.fingerprint(), 0, forged).encode(b"x" * 32))
    store.save("forge/000000", blob)
    frame, ck, log = _resume(spec, sieved, store)
    assert ck.rejected and "MAC" in ck.rejected
    assert any("ignored, its work will be redone" in line for line in log)
    assert frame.set_index("n").loc[FORGED_N, "result"] == "prime"
    _same(frame, clean)


def test_checkpoint_with_a_valid_mac_but_a_wrong_row_fails_its_spot_check(tmp_path):
    """A checkpoint keyed with the right secret (a bug, a leaked secret) holding the forged row only: the spot
    check re-tests it, and the whole checkpoint is dropped."""
    spec, sieved, clean, forged, store = _forgery_setup(tmp_path)
    store.save("forge/000000", Checkpoint(spec.fingerprint(), 0, [r for r in forged if r["n"] == FORGED_N])
               .encode(SECRET))
    frame, ck, log = _resume(spec, sieved, store)
    assert ck.rejected is None  # the MAC is fine
    assert any("spot check failed" in line for line in log), log
    assert frame.set_index("n").loc[FORGED_N, "result"] == "prime"
    _same(frame, clean)


def test_prime_claims_from_a_checkpoint_are_always_tested_again(tmp_path):
    """A keyed checkpoint claiming a composite is prime: the claim is not taken over, the number is tested again
    and the block's results are the clean ones."""
    spec, sieved, clean, _, store = _forgery_setup(tmp_path)
    rows = clean.to_dict("records")
    composite = next(r for r in rows if r["result"] == "composite")
    composite.update(result="prime", method="proth")
    store.save("forge/000000", Checkpoint(spec.fingerprint(), 0, rows).encode(SECRET))
    frame, ck, log = _resume(spec, sieved, store)
    assert any("prime/PRP claims" in line for line in log), log
    _same(frame, clean)
