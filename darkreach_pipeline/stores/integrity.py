"""Stored block results that prove their own integrity: a content checksum in every parquet file, verified
on every read.

Each block's stage output is one parquet file `<base>/<asset>/<campaign>/<block>.parquet`. Its key-value
metadata holds the SHA-256 of the block's identity ("asset/campaign/block") and of its decoded content
(every column's name, dtype and values), so a flipped bit either fails to decode, changes the content and
fails the checksum, or leaves the content identical; a file copied onto another block fails too.

Files written before checksums existed ("unsealed") are read as they are: nothing computed is dropped. The
blocking asset checks still audit their content, and the integrity audit (darkreach_pipeline/audit.py)
re-derives a sample of them and seals them with a checksum.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import struct
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from upath import UPath

STAGES = ("candidate_ranges", "sieve_survivors", "prp_results", "certificates")  # a block's four outputs
# Outputs a block finished before their stage existed lacks: missing is fine, damaged is not.
OPTIONAL_STAGES = ("p_minus_1",)
CHECKSUM_KEY = b"darkreach.sha256"
IDENTITY_KEY = b"darkreach.block"
MISSING = "missing"
UNREADABLE = "unreadable"
CHECKSUM = "checksum mismatch"
UNSEALED = "no checksum (written by an older version)"


class DamagedBlockError(Exception):
    """A block's stored output is missing, unreadable, or fails its checksum: the block is not finished."""

    def __init__(self, identity: str, path: str, reason: str, detail: str = ""):
        self.identity, self.path, self.reason, self.detail = identity, path, reason, detail
        asset, campaign, block = split_identity(identity)
        what = f"{asset} of campaign '{campaign}' block {block}" if campaign else identity
        super().__init__(
            f"{what} is damaged ({reason}{': ' + detail if detail else ''}; "
            f"{path}): the block counts as not finished, and `darkreach run`, the sensor or a backfill "
            "recomputes it"
        )


@dataclass(frozen=True)
class Damage:
    """One damaged stage file of a block, as plain data (status, the audit and the sensor report these)."""

    asset: str
    partition_key: str
    reason: str
    detail: str = ""

    def what(self) -> str:
        """'prp_results: checksum mismatch (...)': which file of the block, and what is wrong with it."""
        return f"{self.asset}: {self.reason}" + (f" ({self.detail[:120]})" if self.detail else "")


def identity(asset: str, partition_key: str) -> str:
    return f"{asset}/{partition_key}"


def split_identity(ident: str) -> tuple[str, str, str]:
    """'asset/campaign/block' -> its three parts (a path with fewer parts gives empty ones)."""
    parts = ident.split("/")
    return tuple((["", "", ""] + parts)[-3:])  # type: ignore[return-value]


def identity_of(base: UPath, path: UPath) -> str:
    """A stored file's identity: its path under the results root without the extension, e.g.
    'prp_results/corr/000004' (moving the whole root keeps every checksum valid)."""
    root, full = str(base).rstrip("/") + "/", str(path)
    if not full.startswith(root):
        raise ValueError(f"{full} is not under the results root {root}")
    return full[len(root):].removesuffix(".parquet")


def block_path(base: UPath, asset: str, partition_key: str) -> UPath:
    return base / asset / f"{partition_key}.parquet"


def _length_prefixed(data: bytes) -> bytes:
    return struct.pack("<Q", len(data)) + data


def _value_bytes(column: str, value) -> bytes:
    """A canonical encoding of one value of an object or string column."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return b"n"
    if isinstance(value, str):
        return b"s" + _length_prefixed(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, (bool, np.bool_)):
        return b"t" if value else b"f"
    if isinstance(value, (int, np.integer)):
        return b"i" + _length_prefixed(str(int(value)).encode())
    if isinstance(value, (float, np.floating)):
        return b"d" + struct.pack("<d", float(value))
    if isinstance(value, bytes):
        return b"b" + _length_prefixed(value)
    raise TypeError(f"column '{column}' holds a {type(value).__name__}, which a block result cannot store")


def content_digest(frame: pd.DataFrame, ident: str) -> str:
    """SHA-256 of a block's identity and its decoded content: row count, and per column its name, dtype and
    values (fixed-width columns as little-endian bytes, others value by value)."""
    h = hashlib.sha256()
    h.update(_length_prefixed(ident.encode()))
    h.update(struct.pack("<QQ", len(frame), len(frame.columns)))
    for name in frame.columns:
        column = frame[name]
        h.update(_length_prefixed(str(name).encode()) + _length_prefixed(str(column.dtype).encode()))
        if isinstance(column.dtype, np.dtype) and column.dtype.kind in "biufcmM":
            values = np.ascontiguousarray(column.to_numpy())
            h.update(values.astype(values.dtype.newbyteorder("<"), copy=False).tobytes())
            continue
        values = column.tolist()
        if all(type(v) is str for v in values):  # the common case, fast: every length, then every string
            encoded = [v.encode("utf-8", "surrogatepass") for v in values]
            h.update(b"S" + np.fromiter(map(len, encoded), dtype="<u8", count=len(encoded)).tobytes())
            h.update(b"".join(encoded))
        else:
            h.update(b"V" + b"".join(_value_bytes(str(name), v) for v in values))
    return h.hexdigest()


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _decode(data: bytes) -> tuple[pd.DataFrame, dict]:
    table = pq.read_table(io.BytesIO(data))
    return table.to_pandas(), dict(table.schema.metadata or {})


def encode_block(frame: pd.DataFrame, ident: str) -> bytes:
    """Parquet bytes of a block's frame, its checksum in the key-value metadata. The checksum is taken over the
    content as a reader decodes it, and the result is decoded and verified once before it is returned."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    decoded, _ = _decode(_parquet_bytes(table))
    metadata = {**(table.schema.metadata or {}), CHECKSUM_KEY: content_digest(decoded, ident).encode(),
                IDENTITY_KEY: ident.encode()}
    data = _parquet_bytes(table.replace_schema_metadata(metadata))
    decode_block(data, ident, "<memory>")
    return data


def decode_block(data: bytes, ident: str, path: str) -> pd.DataFrame:
    """The frame stored in `data`, verified; raises DamagedBlockError if it cannot be decoded or its checksum
    does not match. An unsealed file (no checksum) is returned as it is."""
    try:
        frame, metadata = _decode(data)
    except Exception as exc:  # any decoding failure of a damaged file: pyarrow raises many kinds
        raise DamagedBlockError(ident, path, UNREADABLE, f"{type(exc).__name__}: {exc}") from None
    expected = metadata.get(CHECKSUM_KEY)
    if expected is None:
        return frame
    try:
        actual = content_digest(frame, ident)
    except Exception as exc:  # e.g. a flipped dtype in the pandas metadata decoded into an unexpected type
        raise DamagedBlockError(ident, path, UNREADABLE, f"{type(exc).__name__}: {exc}") from None
    if actual.encode() != expected:
        raise DamagedBlockError(ident, path, CHECKSUM, f"stored {expected.decode(errors='replace')[:16]}..., "
                                f"content {actual[:16]}...")
    return frame


def is_sealed(data: bytes) -> bool:
    """Whether the file carries a checksum (read only the footer)."""
    metadata = pq.read_schema(io.BytesIO(data)).metadata or {}
    return CHECKSUM_KEY in metadata


def write_block(path: UPath, frame: pd.DataFrame, ident: str) -> None:
    """Write a block's file atomically: a temporary file unique to this writer, renamed over the old one."""
    data = encode_block(frame, ident)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    with tmp.open("wb") as f:
        f.write(data)
    tmp.rename(path)  # readers never see a half-written file


def read_block(path: UPath, ident: str) -> pd.DataFrame:
    """A block's stored frame, verified. A missing file raises FileNotFoundError; any other failure
    DamagedBlockError naming the asset, campaign and block."""
    try:
        with path.open("rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise DamagedBlockError(ident, str(path), UNREADABLE, f"{type(exc).__name__}: {exc}") from None
    return decode_block(data, ident, str(path))


def inspect_block(base: UPath, asset: str, partition_key: str) -> Damage | None:
    """None when the block's file of `asset` is intact (sealed or not), else what is wrong with it."""
    path = block_path(base, asset, partition_key)
    try:
        read_block(path, identity(asset, partition_key))
    except FileNotFoundError:
        return Damage(asset, partition_key, MISSING)
    except DamagedBlockError as exc:
        return Damage(asset, partition_key, exc.reason, exc.detail)
    return None


def damaged_blocks(base_path: str, keys: Iterable[str], stages: Sequence[str] = STAGES,
                   storage_options: dict | None = None) -> dict[str, list[Damage]]:
    """Blocks among `keys` with a missing, unreadable or mismatching stage file: {key: its damages}."""
    base = UPath(base_path, **(storage_options or {}))
    out: dict[str, list[Damage]] = {}
    for key in keys:
        found = [d for d in (inspect_block(base, asset, key) for asset in stages) if d is not None]
        found += [d for d in (inspect_block(base, asset, key) for asset in OPTIONAL_STAGES if asset not in stages)
                  if d is not None and d.reason != MISSING]
        if found:
            out[key] = found
    return out
