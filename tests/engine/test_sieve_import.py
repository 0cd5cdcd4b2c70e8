"""Importing a sieve file as a campaign's sieve (darkreach_pipeline/sieve_import.py), the blocks' sieve frames
built from it, its store (SQLite and PostgreSQL, damage detected), and the export for LLR / PFGW / PRST."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from conftest import FORMAT_SAMPLES as SAMPLES
from conftest import trial_division_survivors

from darkreach_pipeline.blocks import EXCLUDED, FACTOR, IMPORTED_REMOVAL, SURVIVOR, candidate_frame, sieve_frame
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.checks import factor_claim_problems, imported_removal_problems, sieve_coverage_problems
from darkreach_pipeline.formats import FormatError, parse_sieve_text
from darkreach_pipeline.forms import form_for
from darkreach_pipeline.sieve_import import campaign_survivors, export_text, plan_import
from darkreach_pipeline.stores.sieve_imports import DamagedImportError, SieveImportStore

PROTH = {"name": "proth", "form": "kbn", "k": 3, "b": 2, "c": 1, "n_min": 1, "n_max": 120, "block_size": 40,
         "sieve_depth": 1000}
SPEC = parse_campaign(PROTH)
PROTH_SURVIVORS = trial_division_survivors(3, 2, 1, range(1, 121), 1000)
REMOVED = sorted(set(range(1, 121)) - set(PROTH_SURVIVORS))


def frames(spec, blocks) -> list:
    return [sieve_frame(spec, b.block, candidate_frame(spec, b.block), imported=b) for b in blocks]


def survivors_of(frame_list) -> list[int]:
    return [int(n) for f in frame_list for n in f.loc[f["status"] == SURVIVOR, "n"]]


@pytest.mark.parametrize("name", ["proth_1000.abcd", "proth_1000.npg", "proth_1000.abc", "proth_1000.abc2"])
def test_each_sample_imports_as_the_campaigns_sieve(name):
    blocks = plan_import(SPEC, SAMPLES / name, sieved_to=1000 if name.endswith("abc2") else None)
    assert [b.block for b in blocks] == [0, 1, 2] and {b.sieved_to for b in blocks} == {1000}
    assert [int(n) for b in blocks for n in b.survivors] == PROTH_SURVIVORS
    built = frames(SPEC, blocks)
    assert survivors_of(built) == PROTH_SURVIVORS
    removed = [f[f["status"] == IMPORTED_REMOVAL] for f in built]
    assert sum(len(r) for r in removed) == len(REMOVED)  # no factor file: removed, factor unknown
    assert all("not in the imported" in reason for r in removed for reason in r["reason"])


def test_with_its_factor_file_the_import_equals_the_products_own_sieve():
    blocks = plan_import(SPEC, SAMPLES / "proth_1000.abcd", factor_path=SAMPLES / "proth_factors.txt")
    own = [sieve_frame(SPEC, b, candidate_frame(SPEC, b)) for b in range(SPEC.block_count)]
    for b, mine in zip(frames(SPEC, blocks), own, strict=True):
        assert b[["n", "status", "factor"]].equals(mine[["n", "status", "factor"]])
        assert not factor_claim_problems(form_for(SPEC), "n", b)  # the blocking check re-verifies each factor


def test_a_deeper_campaign_sieves_the_imported_survivors_further():
    deeper = parse_campaign({**PROTH, "sieve_depth": 20000})
    built = frames(deeper, plan_import(deeper, SAMPLES / "proth_1000.abcd"))
    assert survivors_of(built) == trial_division_survivors(3, 2, 1, range(1, 121), 20000)
    for block, f in enumerate(built):
        assert not sieve_coverage_problems(deeper, block, f)
        assert not factor_claim_problems(form_for(deeper), "n", f)
        assert (f.loc[f["status"] == FACTOR, "factor"] > 1000).all()  # only primes above the file's depth


def test_algebraic_candidates_stay_excluded(tmp_path):
    # 9*4^n - 1 = (3*2^n - 1)(3*2^n + 1): a file that lists them does not get them tested
    spec = parse_campaign({"name": "sq", "form": "kbn", "k": 9, "b": 4, "c": -1, "n_min": 40, "n_max": 45,
                           "block_size": 6, "sieve_depth": 100})
    path = tmp_path / "square.abcd"
    path.write_text("ABCD 9*4^$a-1 [40] // Sieved to 3\n" + "1\n" * 5)
    built = frames(spec, plan_import(spec, path))[0]
    assert set(built["status"]) == {EXCLUDED}


def _lines(name: str) -> list[str]:
    return (SAMPLES / name).read_text().splitlines()


BAD_IMPORTS = [
    # (file text, campaign overrides, line, words of the reason)
    ("ABCD 5*2^$a+1 [1] // Sieved to 1000\n1\n", {}, 1, "is not of campaign 'proth'"),
    ("ABCD 3*2^$a-1 [1] // Sieved to 1000\n", {}, 1, "is not of campaign 'proth'"),
    ("\n".join(_lines("proth_1000.abc")) + "\n", {"n_max": 100}, 24, "outside campaign 'proth' (n = 1..100)"),
    ("ABC 3*2^$a+1 // Sieved to 1000\n1\n2\n1\n", {}, 4, "listed twice (first on line 2)"),
    # the header claims 1000, but 3*2^3+1 = 25 is divisible by 5
    ("ABC 3*2^$a+1 // Sieved to 1000\n1\n2\n3\n", {}, 4, "divisible by 5, below the depth 1000"),
    # only the first half of the range: candidates missing with no factor up to 1000
    ("\n".join(_lines("proth_1000.abc")[:12]) + "\n", {}, 0, "does not cover the campaign's range"),
    ("ABC2 3*2^$a+1\na: in { 1 2 }\n", {}, 1, "states no sieve depth: give it with --sieved-to"),
]


@pytest.mark.parametrize(("text", "overrides", "line", "reason"), BAD_IMPORTS)
def test_a_mismatching_file_is_refused_whole(tmp_path, text, overrides, line, reason):
    path = tmp_path / "sieve.txt"
    path.write_text(text)
    with pytest.raises(FormatError) as info:
        plan_import(parse_campaign({**PROTH, **overrides}), path)
    assert (info.value.line, reason in info.value.reason) == (line, True), str(info.value)


def test_conflicting_depths_and_bad_factor_files_are_refused(tmp_path):
    with pytest.raises(FormatError, match="header says sieved to 1000 but --sieved-to says 999"):
        plan_import(SPEC, SAMPLES / "proth_1000.abcd", sieved_to=999)
    wrong = tmp_path / "factors.txt"
    wrong.write_text("5 | 3*2^3+1\n7 | 3*2^5+1\n")
    with pytest.raises(FormatError, match=r"factors.txt line 2: 7 does not divide 3\*2\^5\+1"):
        plan_import(SPEC, SAMPLES / "proth_1000.abcd", factor_path=wrong)
    wrong.write_text("5 | 3*2^3+1\n13 | 3*2^5+1\n")  # 97 = 3*2^5+1 is prime: 13 does not divide it
    with pytest.raises(FormatError, match="line 2: 13 does not divide"):
        plan_import(SPEC, SAMPLES / "proth_1000.abcd", factor_path=wrong)
    wrong.write_text("5 | 3*2^3+1\n5 | 7*2^3+1\n")
    with pytest.raises(FormatError, match="line 2: 7\\*2\\^3\\+1 is not a candidate of campaign 'proth'"):
        plan_import(SPEC, SAMPLES / "proth_1000.abcd", factor_path=wrong)


def test_a_survivor_struck_by_a_valid_factor_is_refused(tmp_path):
    listed = 33  # 3*2^33+1 survives to 1000 but has a larger factor; the factor file says so
    N = 3 * 2**listed + 1
    p = next(q for q in range(1001, 10**6, 2) if N % q == 0)
    path = tmp_path / "factors.txt"
    path.write_text(f"{p} | 3*2^{listed}+1\n")
    with pytest.raises(FormatError, match=f"has the factor {p} but the sieve file lists it as a survivor"):
        plan_import(SPEC, SAMPLES / "proth_1000.abcd", factor_path=path)


def test_only_kbn_campaigns_import():
    factorial = parse_campaign({"name": "fact", "form": "factorial", "c": 1, "n_min": 1, "n_max": 50,
                                "block_size": 50, "sieve_depth": 1000})
    with pytest.raises(FormatError, match="kbn campaigns only"):
        plan_import(factorial, SAMPLES / "proth_1000.abcd")


@pytest.mark.parametrize("fmt", ["abcd", "newpgen", "abc2", "abc"])
def test_export_reads_back_as_the_survivors(fmt):
    text = export_text(SPEC, PROTH_SURVIVORS[::-1], fmt, 1000)
    back = parse_sieve_text(text, "export")
    assert [t.expression() for t in back.terms] == [f"3*2^{n}+1" for n in PROTH_SURVIVORS]
    assert back.sieved_to == 1000


# ----- the store ------------------------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    return request.getfixturevalue("postgres_url")  # shared session database: unique campaign names below


def test_store_round_trip_replace_and_damage(store_url):
    store = SieveImportStore(store_url)
    name = f"imp-{uuid.uuid4().hex[:10]}"
    spec = parse_campaign({**PROTH, "name": name})
    blocks = plan_import(spec, SAMPLES / "proth_1000.abcd", factor_path=SAMPLES / "proth_factors.txt")
    assert store.block(name, 0) is None
    store.replace(name, blocks)
    for b in blocks:
        got = store.block(name, b.block)
        assert got.survivors.tolist() == b.survivors.tolist() and got.factors == b.factors
        assert (got.sieved_to, got.format, got.source, got.source_sha256) == (1000, "abcd", "proth_1000.abcd",
                                                                                b.source_sha256)
    assert store.summary(name)["blocks"] == 3
    store.replace(name, plan_import(spec, SAMPLES / "proth_1000.npg"))  # a new import replaces the old
    assert store.block(name, 1).format == "newpgen" and store.block(name, 1).factors == {}
    with store.engine.begin() as conn:  # one bit of a stored row flips
        table = sa.Table("darkreach_sieve_imports", sa.MetaData(), autoload_with=conn)
        conn.execute(table.update().where(table.c.campaign == name, table.c.block == 1)
                     .values(sieved_to=1001))
    with pytest.raises(DamagedImportError, match=f"campaign '{name}' block 1 fails its checksum"):
        store.block(name, 1)
    assert store.block(name, 0) is not None  # the other blocks are intact


def test_export_takes_stored_blocks_and_sieves_the_others(tmp_path):
    from upath import UPath

    from darkreach_pipeline.stores.integrity import DamagedBlockError, block_path, identity, write_block

    imported = plan_import(SPEC, SAMPLES / "proth_1000.abcd")
    survivors, computed = campaign_survivors(SPEC, str(tmp_path), lambda b: imported[b])
    assert (survivors, computed) == (PROTH_SURVIVORS, 3)
    key = SPEC.partition_key(1)  # a stored block is taken as stored (here: with one survivor fewer)
    stored = sieve_frame(SPEC, 1, candidate_frame(SPEC, 1))
    stored.loc[stored["n"] == 45, "status"] = FACTOR
    path = block_path(UPath(str(tmp_path)), "sieve_survivors", key)
    write_block(path, stored, identity("sieve_survivors", key))
    survivors, computed = campaign_survivors(SPEC, str(tmp_path), lambda b: None)
    assert (survivors, computed) == ([n for n in PROTH_SURVIVORS if n != 45], 2)
    path.write_bytes(path.read_bytes()[:-40])  # damaged: named, never exported
    with pytest.raises(DamagedBlockError, match="sieve_survivors of campaign 'proth' block 000001"):
        campaign_survivors(SPEC, str(tmp_path), lambda b: None)


def test_a_deep_file_missing_part_of_the_range_is_caught_by_the_sample(tmp_path):
    """Above SURVIVOR_CHECK_DEPTH the removed candidates are sampled and sieved to the claimed depth."""
    spec = parse_campaign({**PROTH, "n_max": 400, "block_size": 200, "sieve_depth": 10**6})
    survivors = [n for b in range(spec.block_count)
                 for f in [sieve_frame(spec, b, candidate_frame(spec, b))]
                 for n in f.loc[f["status"] == SURVIVOR, "n"].astype(int)]
    whole, half = tmp_path / "whole.abcd", tmp_path / "half.abcd"
    whole.write_text(export_text(spec, survivors, "abcd", 10**6))
    half.write_text(export_text(spec, [n for n in survivors if n <= 200], "abcd", 10**6))
    assert sum(len(b.survivors) for b in plan_import(spec, whole, seed=1)) == len(survivors)
    with pytest.raises(FormatError, match="has no factor up to 1000000: the file does not cover"):
        plan_import(spec, half, seed=1)


def test_the_sieve_check_allows_unfactored_removals_only_where_the_file_left_them_out():
    imported = plan_import(SPEC, SAMPLES / "proth_1000.abcd")
    built = frames(SPEC, imported)
    assert not imported_removal_problems("n", built[0], imported[0])
    assert "has no imported sieve file" in imported_removal_problems("n", built[0], None)[0]
    forged = built[0].copy()
    forged.loc[forged["n"] == 30, "status"] = IMPORTED_REMOVAL  # a listed survivor quietly dropped
    assert "survivors of the imported file marked removed: [30]" in imported_removal_problems("n", forged,
                                                                                              imported[0])[0]
