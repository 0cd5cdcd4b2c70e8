"""Campaign-wide sieving (darkreach_pipeline/campaign_sieve.py): one sieve over the untested blocks equals each
block sieved alone, deepening in steps equals one deep sieve, tested blocks are never touched, the blocks' sieve
frames built from it carry a verified factor for every removal, and known primes survive."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sqlalchemy as sa
from conftest import FORMAT_SAMPLES as SAMPLES
from conftest import trial_division_survivors

from darkreach_pipeline.blocks import FACTOR, IMPORTED_REMOVAL, SURVIVOR, candidate_frame, sieve_frame
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.campaign_sieve import (
    SIEVE_RUN_SECONDS,
    SieveState,
    arithmetic_speedup,
    auto_depth,
    deepen,
    open_blocks,
    segments,
    sieve_pays,
    sieve_seconds_saved,
)
from darkreach_pipeline.checks import factor_claim_problems
from darkreach_pipeline.cost_model import rebalanced_depth
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.forms import form_for
from darkreach_pipeline.sieve.primes import prime_chunks
from darkreach_pipeline.sieve_import import plan_import
from darkreach_pipeline.stores.sieve_imports import DamagedImportError, SieveImportStore

RIESEL = parse_campaign({"name": "riesel", "form": "kbn", "k": 5, "b": 2, "c": -1, "n_min": 1, "n_max": 900,
                         "block_size": 100, "sieve_depth": 1000})
PROTH = parse_campaign({"name": "proth", "form": "kbn", "k": 3, "b": 2, "c": 1, "n_min": 1, "n_max": 120,
                        "block_size": 40, "sieve_depth": 1000})


def block_sieve(spec, block, depth) -> np.ndarray:
    lo, hi = spec.block_range(block)
    return form_for(spec).sieve(lo, hi, prime_chunks(2, depth)).astype(np.int64)


def by_block(rows) -> dict:
    return {r.block: r for r in rows}


def test_one_campaign_sieve_equals_every_block_sieved_alone():
    rows = by_block(deepen(RIESEL, 20_000, {}, set()))
    assert sorted(rows) == list(range(RIESEL.block_count))
    for block, row in rows.items():
        lo, hi = RIESEL.block_range(block)
        alone = block_sieve(RIESEL, block, 20_000)
        assert row.survivors.tolist() == [n for n in range(lo, hi) if alone[n - lo] == 0]
        assert row.factors == {n: int(alone[n - lo]) for n in range(lo, hi) if alone[n - lo]}
        assert row.sieved_to == 20_000 and row.format == "darkreach"


def test_deepening_in_steps_equals_one_deep_sieve_and_leaves_tested_blocks_alone(pari_primes):
    shallow = by_block(deepen(RIESEL, 1_000, {}, set()))
    tested = {0, 1, 4}
    runs = segments([SieveState(RIESEL, shallow, tested)], 50_000)
    assert [(s.first, s.stop, s.depth) for s in runs] == [(2, 4, 1000), (5, 9, 1000)]
    deeper = by_block(deepen(RIESEL, 50_000, shallow, tested))
    assert sorted(deeper) == [2, 3, 5, 6, 7, 8]  # the tested blocks keep the sieve they were tested with
    direct = by_block(deepen(RIESEL, 50_000, {}, set()))
    for block, row in deeper.items():
        assert row.survivors.tolist() == direct[block].survivors.tolist()
        assert row.factors == direct[block].factors  # each the smallest prime: those of the first pass stay
        assert len(row.survivors) < len(shallow[block].survivors)
    assert deepen(RIESEL, 50_000, {**shallow, **deeper}, tested) == []  # already there: nothing to do
    # known primes are never struck (n where 5*2^n-1 is prime, n <= 900, by PARI/GP)
    kept = {int(n) for rows in (deeper, {b: shallow[b] for b in tested}) for r in rows.values() for n in r.survivors}
    assert pari_primes(5, 2, -1, 1, 900) <= kept


def test_block_frames_from_the_campaign_sieve_have_a_verified_factor_for_every_removal():
    rows = by_block(deepen(PROTH, 5_000, {}, set()))
    expected = trial_division_survivors(3, 2, 1, range(1, 121), 5_000)
    survivors = []
    for block in range(PROTH.block_count):
        frame = sieve_frame(PROTH, block, candidate_frame(PROTH, block), imported=rows[block])
        assert IMPORTED_REMOVAL not in set(frame["status"])
        assert factor_claim_problems(form_for(PROTH), "n", frame) == []
        assert (frame["status"] == FACTOR).sum() == len(rows[block].factors)
        survivors += frame.loc[frame["status"] == SURVIVOR, "n"].astype(int).tolist()
    assert survivors == expected


def test_continuing_an_imported_file_keeps_its_removals_and_names_it():
    imported = by_block(plan_import(PROTH, SAMPLES / "proth_1000.abcd", seed=1))
    rows = by_block(deepen(PROTH, 5_000, imported, set()))
    for block, row in rows.items():
        assert set(row.survivors) <= set(imported[block].survivors)
        assert row.source == "continuing abcd file proth_1000.abcd" and row.sieved_to == 5_000
        frame = sieve_frame(PROTH, block, candidate_frame(PROTH, block), imported=row)
        assert "campaign sieve" in frame.loc[frame["status"] == IMPORTED_REMOVAL, "reason"].iloc[0]
    expected = trial_division_survivors(3, 2, 1, range(1, 121), 5_000)
    assert [int(n) for b in sorted(rows) for n in rows[b].survivors] == expected


def test_auto_depth_is_deeper_for_the_campaign_than_for_a_block_and_other_forms_are_refused():
    assert auto_depth(RIESEL, set()) > RIESEL.sieve_depth
    cullen = parse_campaign({"name": "cullen", "form": "cullen", "n_min": 1, "n_max": 100, "block_size": 50,
                             "sieve_depth": 1000})
    with pytest.raises(CampaignError, match="shares no work across blocks"):
        deepen(cullen, 10_000, {}, set())


def test_the_campaign_sieve_balances_against_the_fft_test_where_the_fft_runs():
    """At FFT sizes a test costs 1/speedup of the GMP model, so the balance is shallower by exactly that
    (P ln P scales with the test cost); at GMP sizes the form's own depth is kept."""
    big = parse_campaign({"name": "big", "form": "kbn", "k": 3, "b": 2, "c": 1, "n_min": 100_000,
                          "n_max": 102_000, "block_size": 100, "sieve_depth": 1000})
    form = form_for(big)
    speedup = arithmetic_speedup(form, 100_000 + 0.7 * 1_999)
    assert speedup > 1.5  # the weighted FFT at 100k bits (benchmarks/RESULTS.md)
    gmp = type(form).auto_sieve_depth(big.params, 100_000, 101_999, 2_000)
    fft = auto_depth(big, set())
    assert fft < gmp
    assert fft * math.log(fft) == pytest.approx(gmp * math.log(gmp) / speedup, rel=1e-3)
    assert arithmetic_speedup(form_for(RIESEL), 630) == 1.0
    assert auto_depth(RIESEL, set()) == type(form_for(RIESEL)).auto_sieve_depth(RIESEL.params, 1, 900, 900)
    assert rebalanced_depth(123_456, 1.0) == 123_456


@pytest.mark.parametrize("form", ["factorial", "primorial", "kbn"])
def test_both_signs_in_one_campaign_sieve_equal_each_block_of_each_sign_alone(form):
    base = {"form": form, "n_min": 1, "n_max": 300, "block_size": 100, "sieve_depth": 1000}
    if form == "primorial":
        base = {**base, "p_min": 1, "p_max": 300, "n_min": None, "n_max": None}
    if form == "kbn":
        base = {**base, "k": 5, "b": 2}
    plus = parse_campaign({k: v for k, v in {**base, "name": "plus", "c": 1}.items() if v is not None})
    minus = parse_campaign({k: v for k, v in {**base, "name": "minus", "c": -1}.items() if v is not None})
    first = by_block(deepen(minus, 5_000, {}, {0}))  # minus tested block 0 before the pair was sieved together
    rows = deepen(plus, 30_000, {}, {2}, partner=SieveState(minus, first, {0}))
    assert sorted((r.campaign, r.block) for r in rows) == [("minus", 1), ("minus", 2), ("plus", 0), ("plus", 1)]
    for row in rows:
        spec = plus if row.campaign == "plus" else minus
        lo, hi = spec.block_range(row.block)
        alone = block_sieve(spec, row.block, 30_000)
        assert row.survivors.tolist() == [n for n in range(lo, hi) if alone[n - lo] == 0]
    with pytest.raises(CampaignError, match="is not 'plus' with the other sign"):
        deepen(plus, 30_000, {}, set(), partner=SieveState(plus, {}, set()))


def test_stored_rows_round_trip_and_a_damaged_row_is_named(tmp_path):
    store = SieveImportStore(f"sqlite:///{tmp_path / 'registry.db'}")
    first = deepen(PROTH, 1_000, {}, set())
    store.replace("proth", first)
    rows = store.all_blocks("proth")
    deeper = deepen(PROTH, 5_000, rows, {0})
    store.update("proth", deeper)  # block 0 (tested) keeps its row
    after = store.all_blocks("proth")
    assert after[0].sieved_to == 1_000 and after[0].survivors.tolist() == rows[0].survivors.tolist()
    assert [after[b].survivors.tolist() for b in (1, 2)] == [r.survivors.tolist() for r in deeper]
    assert after[1].factors == deeper[0].factors and "campaign sieve" in after[1].describe()
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE darkreach_sieve_imports SET sieved_to = 9 WHERE block = 2"))
    with pytest.raises(DamagedImportError, match="block 2 fails its checksum"):
        store.all_blocks("proth")


def test_open_blocks_leave_out_tested_blocks_and_blocks_already_at_the_depth():
    """What `darkreach run` would sieve campaign-wide: a rerun after a crash finds the stored rows and sieves none."""
    assert open_blocks(SieveState(RIESEL, {}, set()), 1000) == list(range(RIESEL.block_count))
    rows = by_block(deepen(RIESEL, 1000, {}, {0, 1}))  # blocks 0 and 1 tested: no rows
    assert sorted(rows) == list(range(2, RIESEL.block_count))
    assert open_blocks(SieveState(RIESEL, rows, {0, 1}), 1000) == []
    shallow = by_block(deepen(RIESEL, 500, {}, set()))
    assert open_blocks(SieveState(RIESEL, shallow, {3}), 1000) == [b for b in range(RIESEL.block_count) if b != 3]
    assert open_blocks(SieveState(RIESEL, shallow, set()), 500) == []


def test_the_campaign_sieve_pays_for_real_campaigns_not_for_small_trials():
    """The saving grows with the depth and the blocks sharing a call; below SIEVE_RUN_SECONDS the run costs more."""
    big = parse_campaign({"name": "big", "form": "kbn", "k": 3, "b": 2, "c": 1, "n_min": 100_000, "n_max": 199_999,
                          "block_size": 1000, "sieve_depth": 10**9})
    saved = sieve_seconds_saved(SieveState(big, {}, set()), big.sieve_depth)
    half = sieve_seconds_saved(SieveState(big, {}, set(range(50))), big.sieve_depth)
    # 100 blocks: each alone costs 1000^0.38 per prime, together (100,000)^0.38, i.e. 100 / 5.75 = 17x more
    per_prime = 0.022e-6 * (100 * 1000**0.38 - 100_000**0.38)
    assert saved == pytest.approx(per_prime * (1e9 / math.log(1e9) - 2 / math.log(2)), rel=1e-6)
    assert 0 < half < saved and sieve_pays(SieveState(big, {}, set()), big.sieve_depth)
    assert sieve_seconds_saved(SieveState(big, {}, set()), 10**7) < saved / 50  # fewer primes, less saved
    assert not sieve_pays(SieveState(big, {}, set(range(99))), big.sieve_depth)  # one block: the same sieve
    assert not sieve_pays(SieveState(PROTH, {}, set()), PROTH.sieve_depth)  # depth 1,000: microseconds
    assert sieve_seconds_saved(SieveState(PROTH, {}, set()), PROTH.sieve_depth) < SIEVE_RUN_SECONDS / 1000
    rows = by_block(deepen(big, 1000, {}, set(range(2, 100))))  # blocks 0, 1 at 1,000 already: fewer primes left
    assert sieve_seconds_saved(SieveState(big, rows, set()), big.sieve_depth) < saved
    for form, fields in (("factorial", {"n_min": 1000, "n_max": 5000, "block_size": 500}),
                         ("primorial", {"p_min": 1000, "p_max": 50_000, "block_size": 5000})):
        spec = parse_campaign({"name": form, "form": form, "c": 1, **fields})  # auto depth: one tree per block
        assert sieve_pays(SieveState(spec, {}, set()), spec.sieve_depth), form
