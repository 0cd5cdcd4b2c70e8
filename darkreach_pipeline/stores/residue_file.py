"""The residues a test keeps for its Pietrzak proof, as a binary file beside the block's checkpoint.

Why not inside the checkpoint: at 1.3M bits and p = 8 the 256 kept residues were ~80 MB of hex in the
checkpoint's JSON, rewritten at every save. Here each residue is one fixed-width record of little-endian 64-bit
limbs (width = the largest residue's limbs, so record i starts at byte i * width), and the file is rewritten only
when a residue was added since the last save. The checkpoint's MAC'd body carries the index (the steps in record
order, the width and the file's SHA-256), so the MAC covers the file: a residue file that is missing, cut or
altered no longer matches and is rejected (ResidueFileRejected), never trusted; the checkpointer then drops the
chain state that needed it, and the test restarts and recomputes its residues.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from gmpy2 import mpz

LIMB_BYTES = 8  # little-endian 64-bit limbs, as GMP stores them on the usual 64-bit machines
SUFFIX = ".residues"  # the residue file's key: the checkpoint's key plus this


class ResidueFileRejected(ValueError):
    """The residue file does not match its checkpoint's index; the message says how."""


@dataclass(frozen=True)
class ResidueIndex:
    """What the checkpoint's body records about its residue file."""

    steps: tuple[int, ...]  # the chain step of each record, in record order
    width: int  # bytes per record, a multiple of LIMB_BYTES
    sha256: str

    def to_json(self) -> dict[str, object]:
        return {"steps": list(self.steps), "width": self.width, "sha256": self.sha256, "limb_bytes": LIMB_BYTES}

    @classmethod
    def from_json(cls, data: dict) -> ResidueIndex:
        if data.get("limb_bytes") != LIMB_BYTES:
            raise ResidueFileRejected(f"residue records of {data.get('limb_bytes')}-byte limbs, this reads "
                                      f"{LIMB_BYTES}")
        return cls(tuple(int(s) for s in data["steps"]), int(data["width"]), str(data["sha256"]))

    @property
    def size(self) -> int:
        return len(self.steps) * self.width


def pack(residues: dict[int, mpz]) -> tuple[bytes, ResidueIndex]:
    """The file's bytes and its index, records in step order."""
    steps = tuple(sorted(residues))
    bits = max((int(residues[s]).bit_length() for s in steps), default=0)
    width = max(1, -(-bits // (8 * LIMB_BYTES))) * LIMB_BYTES
    blob = b"".join(int(residues[s]).to_bytes(width, "little") for s in steps)
    return blob, ResidueIndex(steps, width, hashlib.sha256(blob).hexdigest())


def unpack(blob: bytes | None, index: ResidueIndex) -> dict[int, mpz]:
    """The residues of a file that matches its index exactly; ResidueFileRejected otherwise."""
    if blob is None:
        raise ResidueFileRejected("the residue file is missing")
    if len(blob) != index.size:
        raise ResidueFileRejected(f"the residue file has {len(blob)} bytes, its checkpoint names {index.size}")
    if hashlib.sha256(blob).hexdigest() != index.sha256:
        raise ResidueFileRejected("the residue file's SHA-256 differs from the one its checkpoint names (MAC'd)")
    w = index.width
    return {step: mpz(int.from_bytes(blob[i * w:(i + 1) * w], "little")) for i, step in enumerate(index.steps)}
