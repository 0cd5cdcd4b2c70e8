"""GPU routing on a CPU host: GPU-eligible campaigns tag their runs, the fleet executor sends their sieve and test
steps to the gpu queue, `darkreach worker` takes the gpu queue only with a GPU, and `--gpu` without one is refused
with the fix."""

from __future__ import annotations

import pytest

from darkreach_pipeline.arith.array_module import GpuUnavailableError, gpu_present
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.cli import GPU_WORKER_QUEUES, WORKER_QUEUES, main, worker_queues, worker_uses_gpu
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.gpu_routing import GPU_QUEUE, queue_for
from resources.run_tags import GPU_TAG, gpu_tags, is_gpu_run

SPEC = {"name": "g", "form": "kbn", "k": 3, "b": 2, "c": 1, "n_min": 1, "n_max": 120, "block_size": 40,
        "sieve_depth": 1000}


def test_device_steps_of_gpu_runs_go_to_the_gpu_queue():
    tags = {"darkreach/campaign": "g", **gpu_tags(True)}
    assert is_gpu_run(tags) and not is_gpu_run({"darkreach/campaign": "g", **gpu_tags(False)})
    assert queue_for("prp_results", "prp", True) == GPU_QUEUE
    assert queue_for("sieve_survivors", "sieve", True) == GPU_QUEUE
    assert queue_for("candidate_ranges", "sieve", True) == "sieve"  # no device implementation: stays
    assert queue_for("certificates", "cert", True) == "cert"
    assert queue_for("prp_results", "prp", False) == "prp"  # a CPU campaign
    assert gpu_tags(False) == {}


def test_campaign_gpu_field_is_an_execution_setting():
    gpu, cpu = parse_campaign({**SPEC, "gpu": True}), parse_campaign(SPEC)
    assert gpu.gpu and not cpu.gpu
    assert gpu.fingerprint() == cpu.fingerprint() and gpu == cpu  # not part of the campaign's identity
    assert "gpu = true" in gpu.to_toml() and parse_campaign({**SPEC, "gpu": True}).to_toml() == gpu.to_toml()
    with pytest.raises(CampaignError, match="'gpu'.*true or false"):
        parse_campaign({**SPEC, "gpu": "yes"})


def test_fleet_executor_is_the_routing_one(monkeypatch):
    monkeypatch.setenv("DARKREACH_EXECUTOR", "celery")
    from darkreach_pipeline.definitions import build_executor

    assert build_executor().name == "celery"
    from resources.celery_executor import RoutingCeleryExecutor, routing_celery_executor

    assert build_executor().executor_creation_fn is routing_celery_executor.executor_creation_fn
    from dagster_celery.executor import CeleryExecutor

    assert issubclass(RoutingCeleryExecutor, CeleryExecutor)


def test_worker_queues_and_gpu_detection(monkeypatch):
    assert worker_queues(False) == WORKER_QUEUES and "gpu" not in WORKER_QUEUES
    assert worker_queues(True) == GPU_WORKER_QUEUES and GPU_WORKER_QUEUES.split(",")[0] == GPU_QUEUE
    assert len(GPU_WORKER_QUEUES.split(",")) <= 4
    assert worker_uses_gpu(False) is False
    assert worker_uses_gpu(None) is gpu_present()
    monkeypatch.setenv("DARKREACH_GPU_ARRAY", "numpy")  # the device code on the CPU: --gpu accepted
    assert worker_uses_gpu(True) is True
    if not gpu_present():
        monkeypatch.setenv("DARKREACH_GPU_ARRAY", "cupy")
        with pytest.raises(GpuUnavailableError, match="darkreach worker --gpu"):
            worker_uses_gpu(True)


def test_worker_gpu_without_a_device_exits_with_the_fix(darkreach_home, monkeypatch, capsys):
    if gpu_present():
        pytest.skip("this host has a GPU")
    monkeypatch.delenv("DARKREACH_GPU_ARRAY", raising=False)
    assert main(["worker", "--gpu", "--no-wait"]) == 2
    assert "CuPy is not installed (pip install -e '.[gpu]'" in capsys.readouterr().err


def test_backfill_gpu_tags_the_runs(darkreach_home, write_campaign):
    assert main(["register", str(write_campaign(name="gb", n_min=1, n_max=80, block_size=40))]) == 0
    assert main(["backfill", "gb", "--gpu"]) == 0
    from dagster import DagsterInstance

    (backfill,) = DagsterInstance.get().get_backfills()
    assert backfill.tags == {"darkreach/campaign": "gb", GPU_TAG: "true"}


def test_sensor_tags_the_runs_of_a_gpu_campaign(darkreach_home, write_campaign):
    from dagster import DagsterInstance, build_sensor_context

    from assets.sensors import campaign_files_sensor
    from darkreach_pipeline import settings
    from resources.campaigns import CampaignRegistryResource
    from resources.results import ResultsLocation

    write_campaign(SPEC, path=darkreach_home / "campaigns" / "g.toml", gpu=True)
    write_campaign(SPEC, path=darkreach_home / "campaigns" / "c.toml", name="c")
    with DagsterInstance.ephemeral() as instance:
        result = campaign_files_sensor(build_sensor_context(
            instance=instance,
            resources={"campaign_registry": CampaignRegistryResource(url=settings.registry_url()),
                       "results_location": ResultsLocation(base_path=settings.data_path())}))
    tags = {r.partition_key: r.tags for r in result.run_requests}
    assert len(tags) == 6
    assert all(t.get(GPU_TAG) == "true" for key, t in tags.items() if key.startswith("g/"))
    assert all(GPU_TAG not in t for key, t in tags.items() if key.startswith("c/"))


def test_gpu_extra_and_image_variant():
    """CuPy only in the optional extra (a CPU install never pulls it); the GPU image installs it and starts a
    non-root `darkreach worker --gpu` (checked without Docker, as test_deploy_files.py does)."""
    import tomllib

    from fleet_helpers import ROOT

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not any("cupy" in d for d in project["dependencies"])
    assert any(d.startswith("cupy-cuda") for d in project["optional-dependencies"]["gpu"])
    image = (ROOT / "deploy" / "Dockerfile.gpu").read_text()
    assert 'pip install ".[fleet,gpu]"' in image and "USER darkreach" in image
    assert 'CMD ["darkreach", "worker", "--gpu"]' in image
