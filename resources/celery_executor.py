"""The fleet's celery executor: dagster-celery's, with GPU-eligible campaigns' device steps sent to the `gpu`
queue (darkreach_pipeline/gpu_routing.py). dagster-celery takes a step's queue from its op tag only, so the
routing by run tag happens where the task is submitted. Also the settings module dagster-celery's worker app
loads, which `darkreach worker` writes: the same Celery settings (darkreach_pipeline/fleet.py) on both sides."""

from __future__ import annotations

import os
from pathlib import Path

from dagster import executor, multiple_process_executor_requirements
from dagster_celery.core_execution_loop import core_celery_execution_loop
from dagster_celery.executor import CELERY_CONFIG, CeleryExecutor, _submit_task

from darkreach_pipeline.gpu_routing import queue_for
from resources.run_tags import is_gpu_run

CONFIG_MODULE = "dagster_celery_config"  # dagster_celery.make_app imports it when present


class RoutingCeleryExecutor(CeleryExecutor):
    def execute(self, plan_context, execution_plan):
        gpu = is_gpu_run(plan_context.dagster_run.tags)

        def submit(app, context, step, queue, priority, known_state):
            return _submit_task(app, context, step, queue_for(step.key, queue, gpu), priority, known_state)

        return core_celery_execution_loop(plan_context, execution_plan, step_execution_fn=submit)


@executor(name="celery", config_schema=CELERY_CONFIG, requirements=multiple_process_executor_requirements())
def routing_celery_executor(init_context):
    """dagster-celery's executor (same configuration) routing GPU-eligible steps to the gpu queue."""
    from dagster._core.execution.retries import RetryMode

    config = init_context.executor_config
    return RoutingCeleryExecutor(broker=config.get("broker"), backend=config.get("backend"),
                                 config_source=config.get("config_source"), include=config.get("include"),
                                 retries=RetryMode.from_config(config["retries"]))


def write_worker_config(directory: Path) -> Path:
    """The `dagster_celery_config` module the worker's app (dagster_celery.app) loads; put `directory` on
    PYTHONPATH. It reads the settings from this module at import, so they follow the worker's environment."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{CONFIG_MODULE}.py"
    text = ("# Written by `darkreach worker`: the fleet's Celery settings (darkreach_pipeline/fleet.py).\n"
            "from darkreach_pipeline.fleet import celery_config as _celery_config\n\n"
            "globals().update(_celery_config())\n")
    if not path.exists() or path.read_text() != text:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        tmp.replace(path)
    return directory
