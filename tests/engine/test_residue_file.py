"""Kept proof residues beside the checkpoint: binary records of little-endian limbs, covered by the checkpoint's
MAC through their SHA-256, rewritten only when a residue was added; a missing or altered file is never trusted."""

from __future__ import annotations

import json

import pytest
from gmpy2 import mpz

from darkreach_pipeline.checkpoint_policy import BlockCheckpointer
from darkreach_pipeline.forms import KbnForm
from darkreach_pipeline.primality.gerbicz import ChainState
from darkreach_pipeline.primality.options import TestOptions
from darkreach_pipeline.proofs.pietrzak import ProofRecorder
from darkreach_pipeline.proofs.pietrzak_verify import verify_prp_proof
from darkreach_pipeline.stores import residue_file
from darkreach_pipeline.stores.checkpoints import FileCheckpointStore

SECRET = b"r" * 32
KEY = "res/000000"
N_BITS = 3000  # 3*2^3000+1: a chain of ~3000 squarings, a proof with p = 4


class CountingStore(FileCheckpointStore):
    """A file store that counts the writes of each key (is the residue file rewritten needlessly?)."""

    def __init__(self, root):
        super().__init__(root)
        self.writes: dict[str, int] = {}

    def save(self, key: str, blob: bytes) -> None:
        self.writes[key] = self.writes.get(key, 0) + 1
        super().save(key, blob)


def _checkpointer(store, log=None) -> BlockCheckpointer:
    return BlockCheckpointer(store, KEY, "fingerprint", 0, SECRET, log=(log.append if log is not None else print))


def _state(captured: dict[int, int]) -> ChainState:
    return ChainState(10, mpz(5), mpz(7), mpz(3), 4, {k: mpz(v) for k, v in captured.items()})


def test_residues_are_little_endian_limb_records_beside_the_checkpoint_and_come_back(tmp_path):
    store = CountingStore(tmp_path)
    ck = _checkpointer(store)
    big = (mpz(1) << 130) + 0x0102030405060708  # three limbs
    hooks = ck.chain_hooks(99)
    hooks["on_verified"](_state({7: big, 3: 0xABCDEF}))
    ck.save()
    path = tmp_path / "res__000000.residues.ckpt"
    blob = path.read_bytes()
    assert len(blob) == 2 * 24  # two records of 3 x 8 bytes, step 3 first
    assert blob[:3] == bytes([0xEF, 0xCD, 0xAB]) and blob[24:32] == (0x0102030405060708).to_bytes(8, "little")
    body = json.loads(json.loads((tmp_path / "res__000000.ckpt").read_bytes())["body"])
    assert "captured" not in body["chain"]["state"] and body["chain"]["residues"]["steps"] == [3, 7]

    hooks["on_verified"](_state({7: big, 3: 0xABCDEF}))  # a later state with the same residues kept
    ck.save()
    assert store.writes == {KEY + residue_file.SUFFIX: 1, KEY: 2}  # the residue file is not rewritten

    resumed = _checkpointer(store)
    assert resumed.resume() is not None
    assert resumed.chain_hooks(99)["resume"].captured == {3: mpz(0xABCDEF), 7: big}

    ck.finished({"n": 99})  # the next test keeps residues at the same steps: its own file is written
    ck.chain_hooks(100)["on_verified"](_state({7: big + 2, 3: 5}))
    ck.save()
    assert store.writes[KEY + residue_file.SUFFIX] == 2
    later = _checkpointer(store)
    assert later.resume() is not None and later.chain_hooks(100)["resume"].captured == {3: mpz(5), 7: big + 2}


@pytest.mark.parametrize("damage", ["one bit flipped", "cut", "missing"])
def test_a_damaged_residue_file_drops_the_chain_state_and_the_test_recomputes_its_proof(tmp_path, damage):
    """Killed inside a test after a checkpoint that names kept residues; the residue file is then damaged. The
    resume rejects it (the MAC'd SHA-256 no longer matches), keeps the finished rows, restarts that test from its
    beginning, and the proof it makes verifies."""
    store, form = FileCheckpointStore(tmp_path), KbnForm(3, 2, 1)
    ck = _checkpointer(store)
    ck.rows.append({"n": 1})  # a finished test of the block, which must survive

    class Killed(Exception):
        pass

    hooks = ck.chain_hooks(N_BITS)

    def on_verified(state: ChainState) -> None:
        hooks["on_verified"](state)
        if len(state.captured) >= 2:
            ck.save()
            raise Killed

    with pytest.raises(Killed):
        form.test(N_BITS, TestOptions(chain_run={"proof": ProofRecorder(power=4), "resume": None,
                                                 "on_verified": on_verified, "want_check": lambda: True}))
    path = tmp_path / "res__000000.residues.ckpt"
    if damage == "missing":
        path.unlink()
    else:
        blob = bytearray(path.read_bytes())
        if damage == "cut":
            del blob[-8:]
        else:
            blob[len(blob) // 2] ^= 1
        path.write_bytes(bytes(blob))

    log: list[str] = []
    resumed = _checkpointer(store, log)
    assert resumed.resume() is not None and resumed.rows == [{"n": 1}]
    assert resumed.chain is None and "residue file" in resumed.rejected
    assert any("restarts from its beginning" in line for line in log)
    recorder = ProofRecorder(power=4)
    outcome = form.test(N_BITS, TestOptions(chain_run={"proof": recorder, **resumed.chain_hooks(N_BITS)}))
    assert recorder.proof is not None
    assert verify_prp_proof(form.number(N_BITS), recorder.proof, base=3, res64=outcome.res64).accepted
