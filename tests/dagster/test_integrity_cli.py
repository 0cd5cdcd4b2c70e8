"""The issue's integrity drills through the `darkreach` command: a deleted certificates file and an unreadable
prp_results file are named by `status` and `primes` (no traceback) and recomputed by the next `run`; a proof
the verifier rejected is re-tested by the next `run`, never reported as a probable prime."""

from __future__ import annotations

import re

import pandas as pd
from conftest import PROTH, toml_text
from dagster import AssetSelection, DagsterInstance, materialize
from test_cli import darkreach, explain
from upath import UPath

from assets.block_stages import candidate_ranges, certificates, p_minus_1, prp_results, sieve_survivors
from assets.checks import CAMPAIGN_CHECKS
from darkreach_pipeline.stores import integrity

SMALL = {**PROTH, "n_max": 80}  # two blocks


def prime_count(stdout: str) -> int:
    return int(re.search(r"^(\d+) primes in 'proth'", stdout, re.M).group(1))


def test_damaged_blocks_are_named_and_recomputed_and_a_rejected_proof_is_retested(tmp_path, monkeypatch,
                                                                                   pari_primes):
    home = tmp_path / "home"
    home.mkdir()
    campaign = tmp_path / "proth.toml"
    campaign.write_text(toml_text(SMALL))
    expected = len(pari_primes(3, 2, 1, 1, 80))
    first = darkreach(home, "run", str(campaign), "--workers", "1")
    assert first.returncode == 0 and prime_count(first.stdout) == expected, explain(first)

    data = home / "data"
    (data / "certificates" / "proth" / "000001.parquet").unlink()
    (data / "prp_results" / "proth" / "000000.parquet").write_bytes(b"\x00" * 300)
    status = darkreach(home, "status", "proth")
    assert status.returncode == 0, explain(status)
    assert "0/2 blocks finished" in status.stdout and "Traceback" not in status.stderr
    assert "proth/000001: certificates: missing" in status.stdout
    assert "proth/000000: prp_results: unreadable" in status.stdout
    listed = darkreach(home, "primes", "proth")
    assert listed.returncode == 1 and "Traceback" not in listed.stderr, explain(listed)
    assert "damaged proth/000001 certificates: missing" in listed.stderr

    again = darkreach(home, "run", str(campaign), "--workers", "1")
    assert again.returncode == 0 and "0 already finished, 2 to run" in again.stdout, explain(again)
    assert prime_count(again.stdout) == expected

    # A composite claimed prime by Proth (stored with a valid checksum), its certificates materialised.
    path = data / "prp_results" / "proth" / "000001.parquet"
    results = pd.read_parquet(path)
    row = results.index[results["result"] == "composite"][0]
    expression = results.loc[row, "expression"]
    results.loc[row, ["result", "method", "certificate"]] = ["prime", "proth", '{"method": "proth", "witness": 5}']
    integrity.write_block(UPath(path), results, "prp_results/proth/000001")
    monkeypatch.setenv("DARKREACH_HOME", str(home))
    from darkreach_pipeline.definitions import build_resources

    instance = DagsterInstance.from_config(str(home / "dagster"))
    try:
        stages = [candidate_ranges, sieve_survivors, p_minus_1, prp_results, certificates]
        forged = materialize([*stages, *CAMPAIGN_CHECKS],
                             selection=AssetSelection.assets("certificates"), partition_key="proth/000001",
                             instance=instance, resources=build_resources(), raise_on_error=False)
    finally:
        instance.dispose()
    assert not forged.success  # the certificates check failed

    rerun = darkreach(home, "run", str(campaign), "--workers", "1")
    assert rerun.returncode == 0 and "1 already finished, 1 to run" in rerun.stdout, explain(rerun)
    assert expression not in rerun.stdout and prime_count(rerun.stdout) == expected
    assert pd.read_parquet(path).set_index("expression").loc[expression, "result"] == "composite"
