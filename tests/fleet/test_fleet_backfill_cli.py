"""`darkreach backfill`: an asset backfill the daemon executes (and whose failed runs it retries), over a campaign's
unfinished blocks or the given ones; unknown blocks are refused. On the embedded instance (no daemon needed to
record it)."""

from darkreach_pipeline.cli import main


def test_backfill_records_an_asset_backfill_of_the_campaign_blocks(darkreach_home, write_campaign, capsys):
    campaign = write_campaign(name="bf", n_min=1, n_max=120, block_size=40)
    assert main(["register", str(campaign)]) == 0
    assert main(["backfill", "bf", "--blocks", "bf/000001,bf/000002"]) == 0
    assert main(["backfill", "bf"]) == 0
    out = capsys.readouterr().out
    assert "2 blocks of 'bf' (bf/000001 .. bf/000002)" in out and "3 blocks of 'bf' (bf/000000 .. bf/000002)" in out

    from dagster import AssetKey, DagsterInstance

    instance = DagsterInstance.get()
    backfills = sorted(instance.get_backfills(), key=lambda b: b.backfill_timestamp)
    assert len(backfills) == 2
    for backfill, keys in zip(backfills, (["bf/000001", "bf/000002"], ["bf/000000", "bf/000001", "bf/000002"]),
                              strict=True):
        assert backfill.is_asset_backfill and backfill.status.value == "REQUESTED"
        assert backfill.tags == {"darkreach/campaign": "bf"}
        subset = backfill.asset_backfill_data.target_subset
        assert set(subset.asset_keys) == {AssetKey(a) for a in ("candidate_ranges", "sieve_survivors", "p_minus_1",
                                                                 "prp_results", "prp_proofs", "certificates")}
        assert set(subset.get_partitions_subset(AssetKey("prp_results")).get_partition_keys()) == set(keys)


def test_backfill_refuses_blocks_of_other_campaigns(darkreach_home, write_campaign, capsys):
    assert main(["register", str(write_campaign(name="bf", n_min=1, n_max=120, block_size=40))]) == 0
    assert main(["backfill", "bf", "--blocks", "bf/000007,other/000000"]) == 2
    err = capsys.readouterr().err
    assert "not blocks of campaign 'bf': bf/000007, other/000000 (its blocks are bf/000000 .. bf/000002)" in err
    assert main(["backfill", "nosuch"]) == 2
