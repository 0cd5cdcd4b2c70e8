"""Which fleet queue a step goes to when its campaign is GPU-eligible (a GPU worker's queues: cli.py).

A campaign file with `gpu = true` marks its blocks GPU-eligible: the runs launched for it (campaign sensor,
`darkreach backfill`) carry a run tag that says so (resources/run_tags.py), and the celery executor
(resources/celery_executor.py) sends the steps that have a device implementation (GPU_STEPS: the k*b^n+c sieve,
the FFT tests of k*2^n+-1 and GFNs) to the `gpu` queue instead of their stage's queue. Only `darkreach worker
--gpu` (or a worker that finds a GPU) listens there, and it runs its steps with DARKREACH_GPU=on. A step of a
form without a device path that lands there runs on the GPU host's CPU, with the same results. No Dagster here.
"""

from __future__ import annotations

GPU_QUEUE = "gpu"
GPU_STEPS = frozenset({"sieve_survivors", "prp_results"})


def queue_for(step_key: str, queue: str, gpu: bool) -> str:
    """The queue of step `step_key` (its stage's queue is `queue`) in a run that is GPU-eligible or not."""
    if gpu and step_key in GPU_STEPS:
        return GPU_QUEUE
    return queue
