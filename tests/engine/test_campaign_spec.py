"""Campaign spec validation (parse_campaign / load_campaign), blocks, partition keys and fingerprints."""

from __future__ import annotations

import os

import pytest
from conftest import PROTH, RIESEL, toml_text

from darkreach_pipeline.campaign import (
    MAX_BLOCKS,
    MAX_DESCRIPTION_CHARS,
    MAX_FILE_BYTES,
    MAX_SIEVE_DEPTH,
    MIN_SIEVE_DEPTH,
    CampaignSpec,
    load_campaign,
    parse_campaign,
    split_partition_key,
)
from darkreach_pipeline.errors import CampaignError


def spec(**overrides) -> CampaignSpec:
    return parse_campaign({**PROTH, **overrides})


def error_for(raw) -> CampaignError:
    with pytest.raises(CampaignError) as info:
        parse_campaign(raw)
    return info.value


# ----- valid input -----------------------------------------------------------------------------------------


def test_valid_campaign_parses_every_field():
    s = spec(description="tiny")
    assert (s.name, s.form, s.params) == ("proth", "kbn", {"k": 3, "b": 2, "c": 1})
    assert (s.axis, s.axis_min, s.axis_max, s.block_size, s.sieve_depth) == ("n", 1, 120, 40, 1000)
    assert s.sieve_depth_requested == 1000
    assert s.description == "tiny"
    assert s.block_count == 3
    assert s.definition() == {"name": "proth", "form": "kbn", "k": 3, "b": 2, "c": 1, "n_min": 1, "n_max": 120,
                              "block_size": 40, "sieve_depth": 1000}


def test_to_toml_round_trips(tmp_path):
    for s in (spec(description="a \"quoted\" text"), spec(sieve_depth="auto")):
        path = tmp_path / "c.toml"
        path.write_text(s.to_toml())
        again = load_campaign(path)
        assert again == s


def test_riesel_campaign_parses():
    s = parse_campaign(RIESEL)
    assert s.params["c"] == -1 and s.block_count == 3


# ----- invalid input: each names its field and what would be valid ----------------------------------------


def test_k_divisible_by_b_names_the_equivalent_campaign():
    err = error_for({**PROTH, "k": 6, "b": 2, "n_min": 1, "n_max": 10})
    assert err.field == "k"
    assert "k = 3 with n_min = 2, n_max = 11" in str(err)
    assert str(err).startswith("campaign field 'k':")


def test_k_divisible_by_a_power_of_b():
    err = error_for({**PROTH, "k": 3 * 10**3, "b": 10, "n_min": 5, "n_max": 8})
    assert err.field == "k"
    assert "k = 3 with n_min = 8, n_max = 11" in str(err)


def test_n_min_greater_than_n_max():
    err = error_for({**PROTH, "n_min": 50, "n_max": 10})
    assert err.field == "n_min"
    assert "n_min = 50 is greater than n_max = 10" in str(err)


def test_negative_n_min():
    err = error_for({**PROTH, "n_min": -1})
    assert err.field == "n_min"
    assert ">= 0" in str(err) and "-1" in str(err)


def test_unknown_form_lists_valid_forms():
    err = error_for({**PROTH, "form": "mersenne"})
    assert err.field == "form"
    assert "'mersenne'" in str(err)
    for form in ("kbn", "factorial", "primorial", "twin", "wagstaff", "gfn", "palindromic"):
        assert form in str(err).split("valid forms:")[1]


def test_missing_form():
    err = error_for({k: v for k, v in PROTH.items() if k != "form"})
    assert err.field == "form"
    assert "valid forms" in str(err)


@pytest.mark.parametrize("size", [0, -40])
def test_block_size_must_be_positive(size):
    err = error_for({**PROTH, "block_size": size})
    assert err.field == "block_size"
    assert ">= 1" in str(err)


def test_block_size_over_the_maximum():
    err = error_for({**PROTH, "block_size": 10**6 + 1})
    assert err.field == "block_size"
    assert "<= 1000000" in str(err)


@pytest.mark.parametrize("name", ["a/b", "x,y", "A..", "", "has space", "-lead", "a" * 64, 7, None])
def test_bad_names(name):
    raw = {**PROTH, "name": name}
    if name is None:
        del raw["name"]
    err = error_for(raw)
    assert err.field == "name"
    assert "a-z, 0-9, '_' and '-'" in str(err)


@pytest.mark.parametrize("name", ["a", "0", "quick_start-2", "a" * 63])
def test_good_names(name):
    assert spec(name=name).name == name


def test_too_many_blocks_says_which_block_size_fits():
    err = error_for({**PROTH, "n_min": 1, "n_max": 10_001 * 40, "block_size": 40})
    assert err.field == "block_size"
    assert f"{MAX_BLOCKS} blocks" in str(err)
    assert "block_size >= 41" in str(err)
    # exactly at the limit is fine
    assert spec(n_min=1, n_max=MAX_BLOCKS * 40, block_size=40).block_count == MAX_BLOCKS


def test_sieve_depth_limits():
    err = error_for({**PROTH, "sieve_depth": MAX_SIEVE_DEPTH + 1})
    assert err.field == "sieve_depth"
    assert str(MAX_SIEVE_DEPTH) in str(err) and "auto" in str(err)
    assert spec(sieve_depth=MAX_SIEVE_DEPTH).sieve_depth == MAX_SIEVE_DEPTH
    err = error_for({**PROTH, "sieve_depth": MIN_SIEVE_DEPTH - 1})
    assert err.field == "sieve_depth" and f">= {MIN_SIEVE_DEPTH}" in str(err)


def test_sieve_depth_other_string():
    err = error_for({**PROTH, "sieve_depth": "deep"})
    assert err.field == "sieve_depth"
    assert "whole number" in str(err)


def test_unknown_key_typo_lists_valid_fields():
    raw = {k: v for k, v in PROTH.items() if k != "n_max"}
    err = error_for({**raw, "n_mx": 120})
    assert err.field == "n_mx"
    assert "not a field of form 'kbn'" in str(err) and "'n_max'" in str(err)


@pytest.mark.parametrize("field", ["k", "b", "c", "n_min", "n_max", "block_size", "sieve_depth"])
def test_bool_is_not_an_int(field):
    err = error_for({**PROTH, field: True})
    assert err.field == field
    assert "whole number" in str(err) and "True" in str(err)


@pytest.mark.parametrize("field", ["k", "n_max", "block_size"])
def test_float_and_string_are_not_ints(field):
    assert error_for({**PROTH, field: 40.0}).field == field
    assert error_for({**PROTH, field: "40"}).field == field


@pytest.mark.parametrize("field", ["k", "b", "c", "n_min", "n_max", "block_size"])
def test_missing_required_field(field):
    err = error_for({k: v for k, v in PROTH.items() if k != field})
    assert err.field == field
    assert "missing" in str(err)


@pytest.mark.parametrize("c", [2, 0, -2])
def test_c_must_be_plus_or_minus_one(c):
    err = error_for({**PROTH, "c": c})
    assert err.field == "c"
    assert "+1 or -1" in str(err)


@pytest.mark.parametrize("field,value", [("k", 0), ("k", 2**62 + 1), ("b", 1), ("b", 2**31 + 1)])
def test_k_and_b_ranges(field, value):
    err = error_for({**PROTH, field: value, "k": 3 if field == "b" else value})
    assert err.field == field
    assert "between" in str(err)


def test_n_max_limit():
    err = error_for({**PROTH, "n_min": 50_000_000, "n_max": 50_000_001})
    assert err.field == "n_max"
    assert "<= 50000000" in str(err)


def test_description_must_be_a_string():
    err = error_for({**PROTH, "description": 5})
    assert err.field == "description"


def test_not_a_table():
    with pytest.raises(CampaignError) as info:
        parse_campaign(["name", "proth"])
    assert info.value.field == "<file>"


def test_malformed_toml_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('name = "proth"\nk = = 3\n')
    with pytest.raises(CampaignError) as info:
        load_campaign(path)
    assert info.value.field == "<file>"
    assert "not valid TOML" in str(info.value) and str(path) in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(CampaignError) as info:
        load_campaign(tmp_path / "nope.toml")
    assert info.value.field == "<file>" and "does not exist" in str(info.value)


def test_load_campaign_from_file(write_campaign):
    path = write_campaign(PROTH, description="from a file")
    assert load_campaign(path) == spec(description="from a file")


def test_quickstart_campaign_is_valid():
    from conftest import REPO

    s = load_campaign(REPO / "campaigns" / "quickstart.toml")
    assert s.name == "quickstart" and s.block_count == 10 and s.sieve_depth_requested == "auto"


# ----- blocks and partition keys ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n_min,n_max,block_size",
    [(1, 120, 40), (1, 121, 40), (0, 0, 1), (5, 5, 100), (7, 1000, 33), (0, 99, 1), (10, 49, 40)],
)
def test_blocks_tile_the_range_exactly(n_min, n_max, block_size):
    s = spec(n_min=n_min, n_max=n_max, block_size=block_size)
    covered = []
    for block in range(s.block_count):
        lo, hi = s.block_range(block)
        assert lo < hi and hi - lo <= block_size
        if block < s.block_count - 1:
            assert hi - lo == block_size  # only the last block may be short
        covered.extend(range(lo, hi))
    assert covered == list(range(n_min, n_max + 1))  # in order: no n twice, none skipped
    assert s.block_count == -(-(n_max - n_min + 1) // block_size)


def test_last_block_is_short():
    s = spec(n_min=1, n_max=121, block_size=40)
    assert s.block_count == 4
    assert s.block_range(3) == (121, 122)


@pytest.mark.parametrize("block", [-1, 3, 100])
def test_block_out_of_range(block):
    s = spec()
    with pytest.raises(CampaignError) as info:
        s.block_range(block)
    assert info.value.field == "block" and "0..2" in str(info.value)
    with pytest.raises(CampaignError):
        s.partition_key(block)


def test_partition_keys():
    s = spec()
    assert s.partition_keys() == ["proth/000000", "proth/000001", "proth/000002"]
    assert spec(n_max=40 * 1234, block_size=40).partition_key(1233) == "proth/001233"


@pytest.mark.parametrize("key,expected", [("proth/000000", ("proth", 0)), ("a-b_c/001234", ("a-b_c", 1234)),
                                          ("x/999999", ("x", 999999))])
def test_split_partition_key(key, expected):
    assert split_partition_key(key) == expected


def test_split_partition_key_round_trip():
    s = spec(n_max=40 * 25, block_size=40)
    for block, key in enumerate(s.partition_keys()):
        assert split_partition_key(key) == (s.name, block)


@pytest.mark.parametrize("key", ["proth", "proth/", "proth/12", "proth/0000001", "Proth/000001", "proth/00000a",
                                 "/000001", "a/b/000001", "proth-000001", "proth/-00001", ""])
def test_split_partition_key_errors(key):
    with pytest.raises(CampaignError) as info:
        split_partition_key(key)
    assert info.value.field == "partition_key"
    assert "'<campaign>/<block>'" in str(info.value)


# ----- identity ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field,value",
    [("name", "other"), ("k", 5), ("b", 4), ("c", -1), ("n_min", 2), ("n_max", 121), ("block_size", 41),
     ("sieve_depth", 1001)],
)
def test_fingerprint_changes_with_every_defining_field(field, value):
    assert spec(**{field: value}).fingerprint() != spec().fingerprint()


def test_fingerprint_ignores_description_and_is_stable():
    assert spec(description="x").fingerprint() == spec(description="y").fingerprint() == spec().fingerprint()
    assert len(spec().fingerprint()) == 16


@pytest.mark.parametrize(
    "raw",
    [PROTH, RIESEL, {**PROTH, "n_min": 1, "n_max": 5000, "block_size": 500},
     {**PROTH, "b": 10, "k": 7, "n_min": 100_000, "n_max": 200_000, "block_size": 1000},
     {**PROTH, "k": 1, "b": 2, "n_min": 0, "n_max": 0, "block_size": 1}],
)
def test_auto_sieve_depth_is_deterministic_and_bounded(raw):
    raw = {**raw, "sieve_depth": "auto"}
    depths = {parse_campaign(raw).sieve_depth for _ in range(3)}
    assert len(depths) == 1
    depth = depths.pop()
    assert 1000 <= depth <= MAX_SIEVE_DEPTH
    s = parse_campaign(raw)
    assert s.sieve_depth_requested == "auto"
    assert s.definition()["sieve_depth"] == depth  # the resolved depth is part of the identity


def test_auto_sieve_depth_grows_with_the_numbers():
    small = spec(sieve_depth="auto", n_min=1, n_max=1000, block_size=100)
    large = spec(sieve_depth="auto", n_min=100_000, n_max=101_000, block_size=100)
    assert large.sieve_depth > small.sieve_depth


# ----- names, free text and unreadable files (issue #10 items 6 and 9) -----------------------------------------


@pytest.mark.parametrize("name", ["proth\n", "proth\r\n", "\nproth", "proth\n\n"])
def test_a_name_with_a_newline_is_refused(name):
    err = error_for({**PROTH, "name": name})
    assert err.field == "name"


def test_a_block_key_with_a_newline_or_non_ascii_digits_is_refused():
    for key in ("proth\n/000001", "proth/000001\n", "proth/00000\u0661"):
        with pytest.raises(CampaignError) as info:
            split_partition_key(key)
        assert info.value.field == "partition_key"


def test_description_length_is_limited():
    assert spec(description="x" * MAX_DESCRIPTION_CHARS).description == "x" * MAX_DESCRIPTION_CHARS
    err = error_for({**PROTH, "description": "x" * 10_000_000})
    assert err.field == "description"
    assert f"limit of {MAX_DESCRIPTION_CHARS}" in str(err) and len(str(err)) < 300


@pytest.mark.parametrize(("field", "value"), [("name", "x" * 10_000_000), ("form", "x" * 10_000_000),
                                              ("k", "3" * 10_000_000), ("sieve_depth", "9" * 10_000_000)])
def test_a_huge_value_is_not_echoed_in_full(field, value):
    err = error_for({**PROTH, field: value})
    assert err.field == field and len(str(err)) < 400


@pytest.mark.parametrize("form", [["kbn"], {"a": 1}, 7])
def test_a_form_that_is_not_a_string_is_refused(form):
    err = error_for({**PROTH, "form": form})
    assert err.field == "form" and "valid forms" in str(err)


def unreadable_files(folder):
    """(path, words of the error) for files a watched folder may hold that cannot be campaign files."""
    folder.mkdir(parents=True, exist_ok=True)
    binary = folder / "binary.toml"
    binary.write_bytes(bytes(range(256)) * 4)
    directory = folder / "dir.toml"
    directory.mkdir()
    fifo = folder / "fifo.toml"
    os.mkfifo(fifo)
    dangling = folder / "gone.toml"
    dangling.symlink_to(folder / "removed-meanwhile")
    loop = folder / "loop.toml"
    loop.symlink_to(loop)
    huge = folder / "huge.toml"
    huge.write_text(f'description = "{"x" * MAX_FILE_BYTES}"\n')
    nul = folder / "nul.toml"
    nul.write_bytes(b'name = "proth"\x00\n')
    return [(binary, "not UTF-8"), (directory, "is a directory"), (fifo, "not a regular file"),
            (dangling, "does not exist"), (loop, "cannot be read"), (huge, f"larger than {MAX_FILE_BYTES}"),
            (nul, "not valid TOML")]


def test_unreadable_files_are_campaign_errors_naming_the_file(tmp_path):
    for path, words in unreadable_files(tmp_path / "inbox"):
        with pytest.raises(CampaignError) as info:
            load_campaign(path)
        assert info.value.field == "<file>" and str(path) in str(info.value) and words in str(info.value), path


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_a_file_without_read_permission(tmp_path):
    path = tmp_path / "secret.toml"
    path.write_text(toml_text(PROTH))
    path.chmod(0)
    with pytest.raises(CampaignError) as info:
        load_campaign(path)
    assert "permission denied" in str(info.value) and "chmod" in str(info.value)
