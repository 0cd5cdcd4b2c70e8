"""Sieve and result files through the `darkreach` command and the asset graph: a srsieve2 ABCD file imported
into a campaign is what its blocks test when materialised by Dagster (the primes equal the product's own
sieve's, and every blocking check passes), the survivors export for LLR / PFGW, PFGW's residues import as an
independent check of the blocks' worker, and malformed or mismatching files are refused naming the line,
storing nothing."""

from __future__ import annotations

from conftest import FORMAT_SAMPLES as SAMPLES
from conftest import PROTH, toml_text, trial_division_survivors
from dagster import DagsterInstance
from test_assets import fresh_resources, materialize_block

from darkreach_pipeline import blocks, settings
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.cli import main
from darkreach_pipeline.formats import read_sieve_file
from darkreach_pipeline.stores.reliability import ReliabilityStore
from darkreach_pipeline.stores.sieve_imports import SieveImportStore
from darkreach_pipeline.verification.external import EXTERNAL_CHECKS, RESIDUE_MATCH

PROTH_SURVIVORS = trial_division_survivors(3, 2, 1, range(1, 121), 1000)


def own_sieve_primes(spec) -> set[int]:
    """The primes of the campaign by the engine's own four stages (its own sieve, no import)."""
    found = set()
    for block in range(spec.block_count):
        sieved = blocks.sieve_frame(spec, block, blocks.candidate_frame(spec, block))
        certs = blocks.certificate_frame(spec, blocks.test_frame(spec, block, sieved))
        found |= set(certs.loc[certs["status"].isin(["proven", "prp"]), "n"].astype(int))
    return found


def test_import_run_export_and_cross_check(tmp_path, darkreach_home, capsys, pari_primes, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(darkreach_home / "dagster"))  # main() sets it: undone after the test
    campaign = tmp_path / "proth.toml"
    campaign.write_text(toml_text(PROTH))
    spec = parse_campaign(PROTH)
    assert main(["register", str(campaign)]) == 0

    # a mismatching file is refused whole, with the line and the reason, and nothing is stored
    wrong = tmp_path / "wrong.abcd"
    wrong.write_text("ABCD 3*2^$a+1 [1] // Sieved to 1000\n1\n2\n")  # 3*2^4+1 = 49 is divisible by 7
    assert main(["import-sieve", "proth", str(wrong)]) == 2
    assert f"{wrong} line 3: 3*2^4+1 is divisible by 7" in capsys.readouterr().err
    store = SieveImportStore(settings.registry_url())
    assert store.summary("proth") is None
    assert main(["import-sieve", "nosuch", str(SAMPLES / "proth_1000.abcd")]) == 2
    assert "no campaign named 'nosuch'" in capsys.readouterr().err

    assert main(["import-sieve", "proth", str(SAMPLES / "proth_1000.abcd")]) == 0
    out = capsys.readouterr().out
    assert f"{len(PROTH_SURVIVORS)} survivors, 0 verified factors, sieved to 1000" in out
    assert store.summary("proth")["blocks"] == spec.block_count

    instance = DagsterInstance.ephemeral()
    try:
        instance.add_dynamic_partitions("campaign_blocks", spec.partition_keys())
        resources = fresh_resources()
        found, tested = set(), []
        for key in spec.partition_keys():
            result = materialize_block(instance, key, resources)
            assert result.success and all(e.passed for e in result.get_asset_check_evaluations())
            certs = result.output_for_node("certificates")
            found |= set(certs.loc[certs["status"].isin(["proven", "prp"]), "n"].astype(int))
            sieved = result.output_for_node("sieve_survivors")  # what the block stored: the file's survivors
            tested += sieved.loc[sieved["status"] == blocks.SURVIVOR, "n"].astype(int).tolist()
            assert set(sieved["status"]) <= {blocks.SURVIVOR, blocks.IMPORTED_REMOVAL, blocks.EXCLUDED}
            metadata = result.asset_materializations_for_node("sieve_survivors")[0].metadata  # the lineage
            assert metadata["sieve_source"].value.startswith("imported abcd file proth_1000.abcd (sha256 ")
            assert metadata["removed_by_import"].value > 0 and metadata["sieve_depth"].value == 1000
    finally:
        instance.dispose()
    assert tested == PROTH_SURVIVORS
    assert found == own_sieve_primes(spec) == pari_primes(3, 2, 1, 1, 120)

    exported = tmp_path / "survivors.npg"
    assert main(["export-sieve", "proth", "--format", "newpgen", "-o", str(exported)]) == 0
    assert [t.n for t in read_sieve_file(exported).terms] == PROTH_SURVIVORS
    assert exported.read_text().startswith("1000:P:1:2:1\n3 1\n")

    assert main(["import-results", "proth", str(SAMPLES / "pfgw.out")]) == 0
    assert f"{RESIDUE_MATCH} 23" in capsys.readouterr().out
    stored = list((darkreach_home / "data" / EXTERNAL_CHECKS / "proth").glob("*.parquet"))
    assert len(stored) == 1
    reliability = ReliabilityStore(settings.registry_url())
    assert {"proth/000001", "proth/000002"} <= reliability.checked_blocks()

    bad = tmp_path / "pfgw-bad.out"
    bad.write_text("3*2^33+1 is composite: RES64: [0000000000000BAD] (0.1s)\n")
    assert main(["import-results", "proth", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "MISMATCH 3*2^33+1 (line 1): pfgw says composite 0000000000000bad" in err and "theirs-wrong" in err
    malformed = tmp_path / "lresults.txt"
    malformed.write_text("3*2^33+1 is not prime.  RES64: 12\n")
    assert main(["import-results", "proth", str(malformed)]) == 2
    assert f"{malformed} line 1: a composite without its RES64" in capsys.readouterr().err


def test_a_damaged_import_fails_the_blocks_sieve_step_with_the_fix(darkreach_home):
    import sqlalchemy as sa

    from darkreach_pipeline.sieve_import import plan_import
    from darkreach_pipeline.stores.registry import open_registry

    spec = parse_campaign(PROTH)
    open_registry(settings.registry_url()).register(spec)
    store = SieveImportStore(settings.registry_url())
    store.replace(spec.name, plan_import(spec, SAMPLES / "proth_1000.abc"))
    with store.engine.begin() as conn:  # the stored survivors change behind the checksum's back
        table = sa.Table("darkreach_sieve_imports", sa.MetaData(), autoload_with=conn)
        conn.execute(table.update().where(table.c.campaign == spec.name).values(source="other.abc"))
    instance = DagsterInstance.ephemeral()
    try:
        instance.add_dynamic_partitions("campaign_blocks", spec.partition_keys())
        result = materialize_block(instance, spec.partition_key(0), fresh_resources(), raise_on_error=False)
    finally:
        instance.dispose()
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.event_specific_data.error.message
    assert "imported sieve of campaign 'proth' block 0 fails its checksum" in message
    assert "import the sieve file again" in message
