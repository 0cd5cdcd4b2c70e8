"""`darkreach run` sieves campaign-wide by itself (kbn, n!, p#): one campaign_sieve run to the campaign's depth
before the blocks, with exactly the survivors, factors, residues and primes of each block sieving alone; a rerun
after a crash continues from the stored sieve instead of sieving again."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from conftest import toml_text
from dagster import AssetKey, DagsterInstance
from test_cli import darkreach, explain

from darkreach_pipeline import blocks
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.stores.results import read_stage_checked

CAMPAIGN = {"name": "auto", "form": "kbn", "k": 5, "b": 2, "c": -1, "n_min": 1, "n_max": 480, "block_size": 120,
            "sieve_depth": 1000}
SIEVED = "campaign sieve first: 4 untested blocks sieved to 1,000 in one sieve"


SIEVED_COLUMNS, TESTED_COLUMNS = ["n", "status", "factor", "reason"], ["n", "result", "res64", "method"]


def stage(home: Path, asset: str, columns: list[str]) -> pd.DataFrame:
    frame, damaged = read_stage_checked(str(home / "data"), asset, campaign="auto")
    assert not damaged
    return frame[columns].sort_values("n").reset_index(drop=True)


def per_block_path() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The sieve and test frames of each block sieving alone (what sieve_survivors does without a campaign sieve:
    blocks.sieve_frame with no stored row), concatenated as the stored stages are read."""
    spec = parse_campaign(CAMPAIGN)
    sieved = [blocks.sieve_frame(spec, b, blocks.candidate_frame(spec, b)) for b in range(spec.block_count)]
    tested = [blocks.test_frame(spec, b, frame) for b, frame in enumerate(sieved)]
    return tuple(pd.concat(frames)[columns].sort_values("n").reset_index(drop=True)
                 for frames, columns in ((sieved, SIEVED_COLUMNS), (tested, TESTED_COLUMNS)))


def sieve_events(home: Path) -> list:
    instance = DagsterInstance.from_config(str(home / "dagster"))
    try:
        return [r.asset_materialization for r in instance.fetch_materializations(AssetKey("campaign_sieve"),
                                                                                  limit=100).records]
    finally:
        instance.dispose()


def test_run_sieves_the_campaign_first_with_the_results_of_the_per_block_path(tmp_path, pari_primes):
    campaign = tmp_path / "auto.toml"
    campaign.write_text(toml_text(CAMPAIGN))
    home = tmp_path / "home"
    home.mkdir()
    run = ["run", str(campaign), "--workers", "1", "--blocks-per-run", "4"]  # one Dagster run: a fast test
    first = darkreach(home, *run, "--campaign-sieve")  # forced: at depth 1,000 it does not pay (the default)
    assert first.returncode == 0, explain(first)
    assert SIEVED in first.stdout, first.stdout
    assert sorted(e.partition for e in sieve_events(home)) == [f"auto/{b:06d}" for b in range(4)]

    alone_sieved, alone_tested = per_block_path()
    assert stage(home, "sieve_survivors", SIEVED_COLUMNS).equals(alone_sieved)  # survivors and factors
    assert stage(home, "prp_results", TESTED_COLUMNS).equals(alone_tested)  # residues
    primes = set(alone_tested.query("result == 'prime'")["n"])
    assert primes == pari_primes(5, 2, -1, 1, 480)
    assert f"{len(primes)} primes in 'auto': {len(primes)} proven" in first.stdout

    # A crash before blocks 2 and 3 were tested: the rerun runs them from the stored sieve, sieving nothing again.
    for block in ("000002", "000003"):
        (home / "data" / "prp_results" / "auto" / f"{block}.parquet").unlink()
    rerun = darkreach(home, *run, "--campaign-sieve")
    assert rerun.returncode == 0, explain(rerun)
    assert "2 to run" in rerun.stdout and "campaign sieve" not in rerun.stdout, rerun.stdout
    assert len(sieve_events(home)) == 4
    assert stage(home, "prp_results", TESTED_COLUMNS).equals(alone_tested)


def test_the_choice_never_auto_always_and_forms_that_share_no_work(darkreach_home, capsys, monkeypatch):
    """In-process, no block run: --no-campaign-sieve and the default at depth 10^3 sieve nothing, --campaign-sieve
    sieves the four blocks once (a second call finds them at the depth), a form whose sieve shares no work says so."""
    from darkreach_pipeline.cli import _instance, register, sieve_before_run

    monkeypatch.setenv("DAGSTER_HOME", str(darkreach_home / "dagster"))  # _instance() sets it: undone after
    instance = _instance()
    spec = parse_campaign(CAMPAIGN)
    register(spec, instance)
    assert sieve_before_run(instance, spec, "never") == []
    assert sieve_before_run(instance, spec, "auto") == []  # microseconds to save: not worth a run
    assert sieve_events(darkreach_home) == []
    assert sieve_before_run(instance, spec, "always") == spec.partition_keys()
    assert SIEVED in capsys.readouterr().out
    assert sieve_before_run(instance, spec, "always") == []  # already at the campaign's depth
    assert len(sieve_events(darkreach_home)) == 4
    cullen = parse_campaign({"name": "cullen", "form": "cullen", "n_min": 1, "n_max": 160, "block_size": 80,
                             "sieve_depth": 1000})
    assert sieve_before_run(instance, cullen, "always") == []
    assert "--campaign-sieve: campaign field 'form': campaign 'cullen' is form 'cullen'" in capsys.readouterr().err
