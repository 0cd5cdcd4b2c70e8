"""The limits of a run of blocks (its campaign, a run time bound from measured test costs, GPU eligibility) as
plain data; tests/dagster/test_run_tags.py checks the tags the launchers make of them."""

from conftest import PROTH

from darkreach_pipeline import settings
from darkreach_pipeline.blocks import block_max_runtime
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.run_limits import RunLimits, campaign_of, run_limits
from darkreach_pipeline.stores.costs import open_cost_store


def test_campaign_of_blocks():
    assert campaign_of(["proth/000000", "proth/000002"]) == "proth"
    assert campaign_of(["proth/000000", "riesel/000000"]) is None  # no single campaign's limit applies
    assert campaign_of([]) is None and campaign_of(["not a block key"]) is None


def test_run_limits_from_measured_costs(darkreach_home):
    proth = parse_campaign(PROTH)
    costs = open_cost_store(settings.registry_url())
    keys = proth.partition_keys()[:2]
    expected = RunLimits("proth", sum(block_max_runtime(proth, b, costs) for b in (0, 1)), gpu=False)
    assert run_limits(proth, keys, costs) == expected and expected.max_runtime_seconds >= 240
    assert run_limits(parse_campaign({**PROTH, "gpu": True}), keys, costs).gpu  # its steps go to GPU workers
    # measured costs move the bound: tests of these sizes measured at 100 s each
    costs.record("kbn", 60.0, 10, 1000.0)
    assert run_limits(proth, keys, costs).max_runtime_seconds > expected.max_runtime_seconds
