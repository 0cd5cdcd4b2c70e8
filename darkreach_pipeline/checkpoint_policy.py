"""When and what to checkpoint while a block's tests run, and how to resume from it.

Saves every `every_seconds` or every `every_fraction` of the block, whichever comes first, and
when the run is interrupted (SIGTERM/SIGINT arrive as exceptions). Inside a long test it saves
the last Gerbicz-verified chain state, never an unverified one, with the residues kept for its proof in a
binary file beside the checkpoint (stores/residue_file.py: rewritten only when a residue was added; a missing or
altered file drops the chain state, so the test restarts and recomputes them, never trusted).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from gmpy2 import mpz

from darkreach_pipeline.primality.gerbicz import ChainState
from darkreach_pipeline.stores import residue_file
from darkreach_pipeline.stores.checkpoints import Checkpoint, CheckpointRejected, CheckpointStore, decode


class BlockCheckpointer:
    def __init__(
        self,
        store: CheckpointStore,
        key: str,
        fingerprint: str,
        block: int,
        secret: bytes,
        every_seconds: float = 60.0,
        every_fraction: float = 0.1,
        log: Callable[[str], None] = lambda message: None,
    ):
        self.store, self.key, self.fingerprint, self.block, self.secret = store, key, fingerprint, block, secret
        self.every_seconds, self.every_fraction = every_seconds, every_fraction
        self.log = log
        self.rows: list[dict[str, Any]] = []
        self.chain: dict[str, Any] | None = None
        self.residues: dict[int, mpz] = {}  # the chain's kept proof residues (verified), saved apart
        self._saved_index: residue_file.ResidueIndex | None = None  # what the residue file holds now ...
        self._saved_for: tuple[Any, tuple[int, ...]] | None = None  # ... for which chain value and steps
        self.total = 0
        self.saves = 0
        self._last_time = time.monotonic()
        self._last_rows = 0
        self.rejected: str | None = None
        self.resumed_from = "nothing (fresh start)"

    def resume(self) -> Checkpoint | None:
        """The trusted checkpoint of this block, or None (a rejected one is reported and ignored)."""
        blob = self.store.load(self.key)
        if blob is None:
            return None
        try:
            checkpoint = decode(blob, self.fingerprint, self.block, self.secret)
        except CheckpointRejected as exc:
            self.rejected = str(exc)
            self.log(f"checkpoint of {self.key} ignored, its work will be redone: {exc}")
            return None
        self.rows = list(checkpoint.rows)
        self.chain = checkpoint.chain
        self._load_residues()
        self._last_rows = len(self.rows)
        self.resumed_from = f"{len(self.rows)} finished tests"
        if self.chain is not None:
            self.resumed_from += f", test of {self.chain['value']} at squaring {self.chain['state']['done']}"
        self.log(f"{self.key} resumed from its checkpoint: {self.resumed_from}")
        return checkpoint

    def _load_residues(self) -> None:
        """The kept residues named by the chain state; a residue file that does not match drops the chain state."""
        self.residues = {}
        if self.chain is None or not self.chain.get("residues"):
            return
        try:
            index = residue_file.ResidueIndex.from_json(self.chain["residues"])
            self.residues = residue_file.unpack(self.store.load(self.key + residue_file.SUFFIX), index)
            self._saved_index, self._saved_for = index, (self.chain.get("value"), index.steps)
        except (residue_file.ResidueFileRejected, KeyError, TypeError, ValueError) as exc:
            self.rejected = f"residue file: {exc}"
            self.log(f"{self.key}: the residues kept for the proof of {self.chain.get('value')} are not trusted "
                     f"({exc}); that test restarts from its beginning to recompute them")
            self.chain = None

    def _save_residues(self) -> None:
        """Write the residue file when the kept residues changed since it was written, and name it in the chain."""
        if self.chain is None or not self.residues:
            return
        wanted = (self.chain.get("value"), tuple(sorted(self.residues)))
        if self._saved_index is None or self._saved_for != wanted:  # residues of one chain never change once kept
            blob, self._saved_index = residue_file.pack(self.residues)
            self.store.save(self.key + residue_file.SUFFIX, blob)  # first: a checkpoint never names a future file
            self._saved_for = wanted
        self.chain["residues"] = self._saved_index.to_json()

    def due(self) -> bool:
        if time.monotonic() - self._last_time >= self.every_seconds:
            return True
        return self.total > 0 and (len(self.rows) - self._last_rows) >= max(1, self.every_fraction * self.total)

    def save(self) -> None:
        self._save_residues()
        self.store.save(self.key, Checkpoint(self.fingerprint, self.block, self.rows, self.chain).encode(self.secret))
        self.saves += 1
        self._last_time = time.monotonic()
        self._last_rows = len(self.rows)

    def finished(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        self.chain, self.residues = None, {}
        if self.due():
            self.save()

    def chain_hooks(self, value: int) -> dict[str, Any]:
        """resume / on_verified / want_check for the chain testing `value`."""
        resume = None
        if self.chain is not None and self.chain.get("value") == value:
            resume = ChainState.from_json(self.chain["state"], self.residues)

        def on_verified(state: ChainState) -> None:
            self.chain = {"value": value, "state": state.to_json()}
            self.residues = state.captured
            if self.due():
                self.save()

        return {"resume": resume, "on_verified": on_verified, "want_check": self.due}

    def clear(self) -> None:
        self.store.delete(self.key)
        self.store.delete(self.key + residue_file.SUFFIX)
