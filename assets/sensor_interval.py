"""How often a sensor may be evaluated: its own interval, or less where DARKREACH_SENSOR_SECONDS caps it.

The intervals (15 s to 60 s) suit a deployment; a test that waits for the daemon to tick a few times would spend
most of its time asleep, so the daemon and launch-path tests start the daemon with the cap at a few seconds.
Production leaves it unset."""

from __future__ import annotations

import os

CAP_VARIABLE = "DARKREACH_SENSOR_SECONDS"


def sensor_interval(seconds: int) -> int:
    """`seconds`, capped by DARKREACH_SENSOR_SECONDS (a positive integer) when that is set."""
    cap = os.environ.get(CAP_VARIABLE, "").strip()
    if not cap:
        return seconds
    if not cap.isdigit() or int(cap) < 1:
        raise ValueError(f"{CAP_VARIABLE} = {cap!r}: give a whole number of seconds >= 1, or unset it")
    return min(seconds, int(cap))
