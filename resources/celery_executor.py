"""The fleet's celery executor: dagster-celery's, with GPU-eligible campaigns' device steps sent to the `gpu`
queue (darkreach_pipeline/gpu_routing.py). dagster-celery takes a step's queue from its op tag only, so the
routing by run tag happens where the task is submitted."""

from __future__ import annotations

from dagster import executor, multiple_process_executor_requirements
from dagster_celery.core_execution_loop import core_celery_execution_loop
from dagster_celery.executor import CELERY_CONFIG, CeleryExecutor, _submit_task

from darkreach_pipeline.gpu_routing import queue_for


class RoutingCeleryExecutor(CeleryExecutor):
    def execute(self, plan_context, execution_plan):
        tags = plan_context.dagster_run.tags

        def submit(app, context, step, queue, priority, known_state):
            return _submit_task(app, context, step, queue_for(step.key, queue, tags), priority, known_state)

        return core_celery_execution_loop(plan_context, execution_plan, step_execution_fn=submit)


@executor(name="celery", config_schema=CELERY_CONFIG, requirements=multiple_process_executor_requirements())
def routing_celery_executor(init_context):
    """dagster-celery's executor (same configuration) routing GPU-eligible steps to the gpu queue."""
    from dagster._core.execution.retries import RetryMode

    config = init_context.executor_config
    return RoutingCeleryExecutor(broker=config.get("broker"), backend=config.get("backend"),
                                 config_source=config.get("config_source"), include=config.get("include"),
                                 retries=RetryMode.from_config(config["retries"]))
