"""The limit tags of a run of blocks (darkreach/campaign, dagster/max_runtime, darkreach/gpu), as the run
coordinator, the campaign-file sensor and `darkreach run` add them."""

from conftest import PROTH, RIESEL

from darkreach_pipeline import settings
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.run_limits import run_limits
from darkreach_pipeline.stores.costs import open_cost_store
from darkreach_pipeline.stores.registry import open_registry
from resources.run_tags import CAMPAIGN_TAG, GPU_TAG, MAX_RUNTIME_TAG, limit_tags, missing_limit_tags


def test_missing_limit_tags_from_the_registry_and_measured_costs(darkreach_home):
    url = settings.registry_url()
    proth = parse_campaign(PROTH)
    open_registry(url).register(proth)
    costs = open_cost_store(url)
    keys = proth.partition_keys()[:2]
    expected = {CAMPAIGN_TAG: "proth", MAX_RUNTIME_TAG: str(run_limits(proth, keys, costs).max_runtime_seconds)}
    assert MAX_RUNTIME_TAG == "dagster/max_runtime"  # the tag run monitoring enforces
    assert limit_tags(proth, keys, costs) == expected
    gpu = parse_campaign({**PROTH, "gpu": True})  # a GPU-eligible campaign's runs also carry the routing tag
    assert limit_tags(gpu, keys, costs) == {**expected, GPU_TAG: "true"}
    find = open_registry(url).find
    assert missing_limit_tags({}, keys, find, lambda: costs) == expected
    # a bound the launcher chose is kept; only what is missing is added
    assert missing_limit_tags({MAX_RUNTIME_TAG: "999"}, keys, find, lambda: costs) == {CAMPAIGN_TAG: "proth"}
    assert missing_limit_tags(expected, keys, find, lambda: costs) == {}
    # blocks of a campaign the registry does not know, or of two campaigns: nothing to add
    assert missing_limit_tags({}, parse_campaign(RIESEL).partition_keys(), find, lambda: costs) == {}
    assert missing_limit_tags({}, ["proth/000000", "riesel/000000"], find, lambda: costs) == {}
