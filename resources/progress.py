"""Block progress as small JSON files, readable by `darkreach run` and `darkreach status`; with a log, the
block also reports tested/total, rate and ETA in the run's log (at most every `log_every_seconds`)."""


import json
import os
import time
from collections.abc import Callable

from dagster import ConfigurableResource

from darkreach_pipeline.progress import LOG_EVERY_SECONDS, BlockTracker
from darkreach_pipeline.settings import progress_file

MIN_INTERVAL = 0.25


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
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.tracker.state()))
        tmp.replace(self.path)

    def metadata(self) -> dict:
        """For the block's materialisation: what was tested and the progress lines that were logged."""
        t = self.tracker
        return {"tested": f"{t.done}/{t.total}", "progress_log": t.snapshots}


class BlockProgress(ConfigurableResource):
    directory: str
    log_every_seconds: float = LOG_EVERY_SECONDS

    def reporter(self, partition_key: str, log: Callable[[str], None] | None = None) -> BlockReporter:
        return BlockReporter(self.directory, partition_key, log, self.log_every_seconds)
