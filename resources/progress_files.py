"""Block progress as small JSON files, readable by `darkreach run` and `darkreach status`; with a log, the
block also reports tested/total, rate and ETA in the run's log (at most every `log_every_seconds`).

This module owns the file's name and format: the writer (BlockReporter) and the readers (read_progress,
read_progresses) are here, nowhere else."""


import json
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from dagster import ConfigurableResource

from darkreach_pipeline.campaign_status import LOG_EVERY_SECONDS, BlockTracker

MIN_INTERVAL = 0.25


def progress_file(directory: str | Path, partition_key: str) -> Path:
    """The progress file of a block in `directory` (one per block; the key's "/" would make a folder)."""
    return Path(directory) / (partition_key.replace("/", "__") + ".json")


def write_progress(path: Path, state: dict) -> None:
    """Replace the file at once (a reader never sees half of it)."""
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state))
    tmp.replace(path)


def read_progress(directory: str | Path, partition_key: str) -> dict | None:
    """The block's latest state (BlockTracker.state(): stage, done, total, ...); None when it has no file here
    (not started, or run on another machine) or the file is unreadable."""
    try:
        return json.loads(progress_file(directory, partition_key).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def read_progresses(directory: str | Path, keys: Iterable[str]) -> dict[str, dict]:
    """The progress files of these blocks that exist on this machine (fleet workers keep theirs locally)."""
    states = {key: read_progress(directory, key) for key in keys}
    return {key: state for key, state in states.items() if state is not None}


class BlockReporter:
    """The engine's progress callback (stage, done, total) for one block: writes the progress file (at most
    every MIN_INTERVAL s), and passes the tracker's log lines to `log`."""

    def __init__(self, directory: str, partition_key: str, log: Callable[[str], None] | None, log_every: float):
        self.path = progress_file(directory, partition_key)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tracker = BlockTracker(partition_key, log_every)
        self.log = log
        self.last_write = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        line = self.tracker.update(stage, done, total)
        if line is not None and self.log is not None:
            self.log(line)
        now = time.monotonic()
        if now - self.last_write < MIN_INTERVAL and done < total:
            return
        self.last_write = now
        write_progress(self.path, self.tracker.state())

    def metadata(self) -> dict:
        """For the block's materialisation: what was tested and the progress lines that were logged."""
        t = self.tracker
        return {"tested": f"{t.done}/{t.total}", "progress_log": t.snapshots}


class BlockProgress(ConfigurableResource):
    directory: str
    log_every_seconds: float = LOG_EVERY_SECONDS

    def reporter(self, partition_key: str, log: Callable[[str], None] | None = None) -> BlockReporter:
        return BlockReporter(self.directory, partition_key, log, self.log_every_seconds)
