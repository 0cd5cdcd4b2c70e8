"""Several blocks per run: how many, how to cut a list of blocks into runs, and which blocks a range covers.

A run of many blocks is a range of keys first..last: "every key between first and last in the order the keys
were added". Ranges are therefore cut so that each covers exactly the wanted blocks (contiguous in that order)
and nothing else. How a run names its blocks (its tags) is the Dagster side's business (resources/run_tags.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

RUN_WORK_SECONDS = 30.0  # small blocks are grouped until a run holds about this much estimated work ...
MAX_AUTO_BLOCKS = 100  # ... and at most this many blocks


def auto_blocks_per_run(block_seconds: float, pending: int, workers: int) -> int:
    """Blocks per run when the campaign file does not say: one for blocks of RUN_WORK_SECONDS or more; for smaller
    ones enough that a run holds about that much work (a run's fixed cost is then paid once for all of them), but
    never so many that fewer runs than `workers` are left to run at once."""
    if block_seconds >= RUN_WORK_SECONDS or pending <= workers:
        return 1
    wanted = math.ceil(RUN_WORK_SECONDS / max(block_seconds, 1e-3))
    return max(1, min(wanted, math.ceil(pending / max(workers, 1)), MAX_AUTO_BLOCKS))


def batches(keys: Sequence[str], order: Sequence[str], per_run: int) -> list[list[str]]:
    """Cut `keys` into runs of at most `per_run` blocks, each contiguous in `order` (the instance's
    partition order), so that the range first..last of a run covers exactly its blocks.

    Keys keep the order they have in `order`; a key missing from `order` is an error (not a partition)."""
    if per_run < 1:
        raise ValueError(f"per_run must be >= 1, got {per_run}")
    position = {key: i for i, key in enumerate(order)}
    missing = [k for k in keys if k not in position]
    if missing:
        raise KeyError(f"not partitions of the instance: {', '.join(missing[:5])}")
    runs: list[list[str]] = []
    for key in sorted(set(keys), key=position.__getitem__):
        last = runs[-1] if runs else None
        if last is not None and len(last) < per_run and position[last[-1]] + 1 == position[key]:
            last.append(key)
        else:
            runs.append([key])
    return runs


def key_range(start: str, end: str, order: Sequence[str], position: Mapping[str, int] | None = None) -> list[str]:
    """Every key from `start` to `end` in `order` (pass `position` = {key: index in order} when calling this for
    many ranges); [] when either end is not in `order` or the range runs backwards."""
    if position is None:
        position = {key: i for i, key in enumerate(order)}
    if start not in position or end not in position or position[start] > position[end]:
        return []
    return list(order[position[start]:position[end] + 1])
