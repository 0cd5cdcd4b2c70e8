"""Sieve once, deeper over time, through `darkreach sieve` and the asset graph: a campaign-wide sieve deepened
mid-campaign changes only the blocks not yet tested, the blocks tested before keep exactly what they were tested
with, every block's lineage names its sieve and depth, and the primes found equal a campaign sieved deep from
the start (and PARI/GP's)."""

from __future__ import annotations

from conftest import toml_text
from dagster import AssetKey, DagsterInstance
from test_assets import fresh_resources, materialize_block

from assets.campaign_progress import campaign_runs
from darkreach_pipeline import blocks
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.cli import main

RIESEL = {"name": "deepen", "form": "kbn", "k": 5, "b": 2, "c": -1, "n_min": 1, "n_max": 480, "block_size": 120,
          "sieve_depth": 100}
SHALLOW, DEEP = 1_000, 200_000


def engine_run(spec) -> tuple[set[int], list[list[int]]]:
    """Primes and per-block survivors of the four stages without Dagster, each block sieved alone."""
    found, survivors = set(), []
    for block in range(spec.block_count):
        sieved = blocks.sieve_frame(spec, block, blocks.candidate_frame(spec, block))
        survivors.append(sieved.loc[sieved["status"] == blocks.SURVIVOR, "n"].astype(int).tolist())
        certs = blocks.certificate_frame(spec, blocks.test_frame(spec, block, sieved))
        found |= set(certs.loc[certs["status"].isin(["proven", "prp"]), "n"].astype(int))
    return found, survivors


def test_deepening_mid_campaign_changes_only_untested_blocks(tmp_path, darkreach_home, capsys, pari_primes,
                                                            monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(darkreach_home / "dagster"))  # main() sets it: undone after the test
    campaign = tmp_path / "deepen.toml"
    campaign.write_text(toml_text(RIESEL))
    spec = parse_campaign(RIESEL)
    keys = spec.partition_keys()
    assert main(["register", str(campaign)]) == 0
    assert main(["sieve", "deepen", "--to", str(SHALLOW)]) == 0
    assert f"4 untested blocks sieved to {SHALLOW:,} in one sieve" in capsys.readouterr().out

    instance = DagsterInstance.get()
    resources = fresh_resources()
    found, survivors = set(), {}

    def run_block(key: str, depth: int) -> None:
        result = materialize_block(instance, key, resources)
        assert result.success and all(e.passed for e in result.get_asset_check_evaluations())
        certs = result.output_for_node("certificates")
        found.update(certs.loc[certs["status"].isin(["proven", "prp"]), "n"].astype(int))
        sieved = result.output_for_node("sieve_survivors")
        survivors[key] = sieved.loc[sieved["status"] == blocks.SURVIVOR, "n"].astype(int).tolist()
        metadata = result.asset_materializations_for_node("sieve_survivors")[0].metadata  # the lineage
        assert metadata["sieve_source"].value.startswith("imported campaign sieve ")
        assert metadata["sieve_depth"].value == depth
        assert set(sieved["status"]) <= {blocks.SURVIVOR, blocks.FACTOR, blocks.EXCLUDED}  # a factor for each

    for key in keys[:2]:  # two blocks are tested at the shallow depth
        run_block(key, SHALLOW)

    assert main(["sieve", "deepen", "--to", str(DEEP)]) == 0
    out = capsys.readouterr().out
    assert f"2 untested blocks sieved to {DEEP:,} in one sieve" in out and "2 tested blocks kept as tested" in out
    assert f"  sieve depth 000000-000001  {SHALLOW:>15,}  tested" in out
    assert f"  sieve depth 000002-000003  {DEEP:>15,}  not sieved yet: campaign sieve to {DEEP:,}" in out
    records = instance.fetch_materializations(AssetKey("campaign_sieve"), limit=100, ascending=True).records
    sieve_events = {r.asset_materialization.partition: r.asset_materialization.metadata for r in records}  # latest
    assert sieve_events[keys[0]]["sieve_depth"].value == SHALLOW  # the deepening's run left the tested blocks out
    assert sieve_events[keys[3]]["sieve_depth"].value == DEEP and sieve_events[keys[3]]["factors_found_now"].value > 0

    for key in keys[2:]:
        run_block(key, DEEP)
    shallow_found, shallow_survivors = engine_run(parse_campaign({**RIESEL, "sieve_depth": SHALLOW}))
    deep_found, deep_survivors = engine_run(parse_campaign({**RIESEL, "sieve_depth": DEEP}))
    assert [survivors[k] for k in keys] == shallow_survivors[:2] + deep_survivors[2:]  # tested blocks undisturbed
    assert len(sum(deep_survivors[2:], [])) < len(sum(shallow_survivors[2:], []))
    assert found == deep_found == shallow_found == pari_primes(5, 2, -1, 1, 480)

    assert main(["status", "deepen"]) == 0
    assert f"  sieve depth 000002-000003  {DEEP:>15,}  tested" in capsys.readouterr().out
    assert main(["sieve", "deepen"]) == 0
    assert "every block is tested, nothing to sieve" in capsys.readouterr().out


def test_both_signs_of_a_factorial_range_in_one_pass(tmp_path, darkreach_home, capsys, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(darkreach_home / "dagster"))
    fields = {"form": "factorial", "n_min": 1, "n_max": 120, "block_size": 60, "sieve_depth": 100}
    for name, c in (("plus", 1), ("minus", -1), ("other", 1)):
        (tmp_path / f"{name}.toml").write_text(toml_text({**fields, "name": name, "c": c}))
        assert main(["register", str(tmp_path / f"{name}.toml")]) == 0
    assert main(["sieve", "plus", "--with", "other", "--to", "5000"]) == 2
    assert "campaign 'other' is not 'plus' with the other sign" in capsys.readouterr().err
    assert main(["sieve", "plus", "--with", "minus", "--to", "5000"]) == 0
    out = capsys.readouterr().out
    assert "campaign 'minus' (the other sign) in the same pass:" in out
    assert f"  sieve depth 000000-000001  {5000:>15,}  not sieved yet: campaign sieve to 5,000" in out.split("minus")[1]

    instance = DagsterInstance.get()
    records = instance.fetch_materializations(AssetKey("campaign_sieve"), limit=10).records
    assert {r.asset_materialization.partition for r in records} == {"plus/000000", "plus/000001", "minus/000000",
                                                                    "minus/000001"}
    assert campaign_runs(instance, ["plus/000000", "plus/000001"]) == []  # a sieve run is no block run (status)
    minus = parse_campaign({**fields, "name": "minus", "c": -1})
    result = materialize_block(instance, "minus/000001", fresh_resources())
    assert result.success and all(e.passed for e in result.get_asset_check_evaluations())
    sieved = result.output_for_node("sieve_survivors")
    alone = blocks.sieve_frame(parse_campaign({**fields, "name": "minus", "c": -1, "sieve_depth": 5000}), 1,
                               blocks.candidate_frame(minus, 1))
    assert sieved[["status", "factor"]].equals(alone[["status", "factor"]])
