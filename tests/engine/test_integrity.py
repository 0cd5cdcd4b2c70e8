"""Stored block results carry a checksum verified on read: flipped bits, truncation, a file copied onto another
block, a missing file, and files written before checksums (read as they are, sealed by the audit)."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from conftest import PROTH
from upath import UPath

from darkreach_pipeline import blocks
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.stores import integrity
from darkreach_pipeline.stores.integrity import DamagedBlockError, damaged_blocks, decode_block, encode_block
from darkreach_pipeline.stores.results import read_stage, read_stage_checked

IDENT = "prp_results/proth/000000"


@pytest.fixture(scope="module")
def block_frames() -> dict[str, pd.DataFrame]:
    """The four stage outputs of a small real block (n = 1..20 of 3*2^n+1)."""
    spec = parse_campaign({**PROTH, "n_max": 40, "block_size": 20})
    candidates = blocks.candidate_frame(spec, 0)
    sieved = blocks.sieve_frame(spec, 0, candidates)
    results = blocks.test_frame(spec, 0, sieved)
    return {"candidate_ranges": candidates, "sieve_survivors": sieved, "prp_results": results,
            "certificates": blocks.certificate_frame(spec, results)}


def flip_sweep(data: bytes, positions: range) -> tuple[int, int, list[int]]:
    """(detected, identical, silently changed positions) over one-bit flips at `positions` (bit = pos % 8)."""
    reference = pd.read_parquet(io.BytesIO(data))
    detected = identical = 0
    silent = []
    for pos in positions:
        damaged = bytearray(data)
        damaged[pos] ^= 1 << (pos % 8)
        try:
            frame = decode_block(bytes(damaged), IDENT, "test")
        except DamagedBlockError:
            detected += 1
            continue
        if frame.equals(reference) and list(frame.dtypes) == list(reference.dtypes):
            identical += 1
        else:
            silent.append(pos)
    return detected, identical, silent


def test_round_trip_keeps_every_stage_identical(block_frames):
    for asset, frame in block_frames.items():
        ident = f"{asset}/proth/000000"
        back = decode_block(encode_block(frame, ident), ident, "test")
        pd.testing.assert_frame_equal(back, frame, check_dtype=False)
        assert integrity.content_digest(back, ident) == integrity.content_digest(
            decode_block(encode_block(back, ident), ident, "test"), ident)


def test_bit_flips_over_a_whole_prp_results_file_are_detected_or_harmless(block_frames):
    """A dense sweep over every region of the file (data pages, schema, footer): no flip is accepted with
    changed content. The same sweep over a file without a checksum does accept changed content silently, as
    the issue found (52 of 400 flips changed a value): the checksum is what catches them."""
    results = block_frames["prp_results"]
    sealed = encode_block(results, IDENT)
    positions = range(0, len(sealed), max(1, len(sealed) // 700))
    detected, identical, silent = flip_sweep(sealed, positions)
    assert silent == [], f"flips at {silent[:10]} changed the content without an error"
    assert detected > 0 and identical > 0

    unsealed = io.BytesIO()
    results.to_parquet(unsealed, index=False)
    old = unsealed.getvalue()
    _, _, silent_old = flip_sweep(old, range(0, len(old), max(1, len(old) // 300)))
    assert silent_old, "without a checksum some flips change a value silently"


def test_truncated_and_foreign_files_name_the_block(block_frames):
    data = encode_block(block_frames["prp_results"], IDENT)
    for bad in (data[: len(data) // 2], b"not parquet at all", b""):
        with pytest.raises(DamagedBlockError) as caught:
            decode_block(bad, IDENT, "/data/prp_results/proth/000000.parquet")
        message = str(caught.value)
        assert "prp_results of campaign 'proth' block 000000" in message and "unreadable" in message
        assert "darkreach run" in message


def test_a_file_copied_onto_another_block_fails_its_checksum(block_frames):
    data = encode_block(block_frames["prp_results"], IDENT)
    with pytest.raises(DamagedBlockError, match="checksum mismatch"):
        decode_block(data, "prp_results/proth/000001", "test")


def test_unsealed_files_are_read_as_they_are(block_frames):
    old = io.BytesIO()
    block_frames["prp_results"].to_parquet(old, index=False)
    assert not integrity.is_sealed(old.getvalue())
    pd.testing.assert_frame_equal(decode_block(old.getvalue(), IDENT, "test"), block_frames["prp_results"],
                                  check_dtype=False)


def test_stage_readers_name_missing_and_damaged_blocks(tmp_path, block_frames):
    base = UPath(tmp_path)
    keys = ["proth/000000", "proth/000001", "proth/000002"]
    for key in keys:
        for asset, frame in block_frames.items():
            integrity.write_block(integrity.block_path(base, asset, key), frame, integrity.identity(asset, key))
    assert not list(tmp_path.rglob("*.tmp"))
    assert damaged_blocks(str(tmp_path), keys) == {}

    (tmp_path / "certificates" / "proth" / "000001.parquet").unlink()
    prp = tmp_path / "prp_results" / "proth"
    (prp / "000002.parquet").write_bytes((prp / "000000.parquet").read_bytes())  # another block's file

    found = damaged_blocks(str(tmp_path), keys)
    assert set(found) == {"proth/000001", "proth/000002"}
    assert [d.what() for d in found["proth/000001"]] == ["certificates: missing"]
    assert [(d.asset, d.reason) for d in found["proth/000002"]] == [("prp_results", integrity.CHECKSUM)]

    frame, damaged = read_stage_checked(str(tmp_path), "prp_results", "proth")
    assert len(frame) == 2 * len(block_frames["prp_results"])  # the intact blocks
    assert [d.partition_key for d in damaged] == ["proth/000002"]
    with pytest.raises(DamagedBlockError, match="prp_results of campaign 'proth' block 000002"):
        read_stage(str(tmp_path), "prp_results", "proth")
