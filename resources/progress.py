"""Block progress as small JSON files, readable by `darkreach run` and `darkreach status`."""


import json
import os
import time
from collections.abc import Callable

from dagster import ConfigurableResource

from darkreach_pipeline.settings import progress_file

MIN_INTERVAL = 0.25


class BlockProgress(ConfigurableResource):
    directory: str

    def reporter(self, partition_key: str) -> Callable[[str, int, int], None]:
        path = progress_file(self.directory, partition_key)
        path.parent.mkdir(parents=True, exist_ok=True)
        last = 0.0

        def report(stage: str, done: int, total: int) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last < MIN_INTERVAL and done < total:
                return
            last = now
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"key": partition_key, "stage": stage, "done": done, "total": total,
                                       "time": time.time()}))
            tmp.replace(path)

        return report
