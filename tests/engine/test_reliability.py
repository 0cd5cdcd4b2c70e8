"""Worker reliability (SQLite and PostgreSQL), the double-check policy, worker identity, the residue double
check against independent libraries, and the verified-primes status / Top5000 export. No Dagster."""

from __future__ import annotations

import re
import socket
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pandas as pd
import pytest

from darkreach_pipeline import blocks
from darkreach_pipeline.campaign import parse_campaign
from darkreach_pipeline.stores.reliability import (
    TRUST_STREAK,
    ReliabilityStore,
    WorkerRecord,
    needs_double_check,
    proofs_may_replace_double_check,
    sampled,
)
from darkreach_pipeline.stores.worker_identity import worker_identity
from darkreach_pipeline.verification import double_check
from darkreach_pipeline.verification.double_check import (
    FIRST_WRONG,
    MATCH,
    SECOND_WRONG,
    UNRESOLVED,
    block_is_valid,
    double_check_frame,
)
from darkreach_pipeline.verification.verified_primes import (
    FERMAT_PRP_RESIDUE,
    PENDING,
    PROVEN_VERIFIED,
    PRP_DOUBLE_CHECKED,
    top5000_text,
    verified_primes_frame,
)

MASK64 = (1 << 64) - 1

# ----- ReliabilityStore on SQLite and PostgreSQL ---------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path) -> ReliabilityStore:
    if request.param == "sqlite":
        return ReliabilityStore(f"sqlite:///{tmp_path / 'registry.db'}")
    return ReliabilityStore(request.getfixturevalue("postgres_url"))  # shared session database: unique ids below


def new_worker() -> str:
    return str(uuid.uuid4())


def new_key(label: str = "blk") -> str:
    return f"{label}-{uuid.uuid4().hex[:10]}/000000"


def validate(store: ReliabilityStore, worker: str, *outcomes: bool, at: datetime | None = None) -> None:
    for valid in outcomes:
        store.record_validation(new_key(), worker, valid, at=at)


def test_a_new_worker_is_untrusted(store):
    worker = new_worker()
    record = store.worker(worker)
    assert record == WorkerRecord(worker, 0, 0, 0)
    assert not record.trusted and not record.unreliable and record.reliability == 0.0


def test_trusted_after_ten_consecutive_valid_blocks(store):
    worker = new_worker()
    validate(store, worker, *[True] * (TRUST_STREAK - 1))
    nine = store.worker(worker)
    assert (nine.valid, nine.total, nine.streak) == (9, 9, 9)
    assert not nine.trusted  # one short of the streak
    validate(store, worker, True)
    ten = store.worker(worker)
    assert (ten.valid, ten.total, ten.streak) == (10, 10, 10)
    assert ten.reliability == 1.0 and ten.trusted and not ten.unreliable


def test_one_invalid_block_resets_the_streak(store):
    worker = new_worker()
    validate(store, worker, *[True] * 12)
    assert store.worker(worker).trusted
    validate(store, worker, False)
    record = store.worker(worker)
    assert record.streak == 0 and not record.trusted
    assert (record.valid, record.total) == (12, 13)
    validate(store, worker, *[True] * 9)
    assert store.worker(worker).streak == 9 and not store.worker(worker).trusted
    validate(store, worker, True)
    record = store.worker(worker)
    assert record.streak == 10 and record.reliability == pytest.approx(22 / 23) and record.trusted


def test_streak_without_reliability_is_not_enough(store):
    """Ten in a row, but 10/12 = 0.83 over the window: not above 0.95, so not trusted."""
    worker = new_worker()
    validate(store, worker, False, False, *[True] * 10)
    record = store.worker(worker)
    assert record.streak == 10 and record.reliability == pytest.approx(10 / 12)
    assert not record.trusted and not record.unreliable


def test_reliability_counts_only_the_last_thirty_days(store):
    worker = new_worker()
    old = datetime.now(UTC) - timedelta(days=31)
    validate(store, worker, False, False, False, at=old)
    validate(store, worker, True, True, True, True)
    record = store.worker(worker)
    assert (record.valid, record.total) == (4, 4) and record.reliability == 1.0
    # just inside the window counts
    validate(store, worker, False, at=datetime.now(UTC) - timedelta(days=29))
    record = store.worker(worker)
    assert (record.valid, record.total) == (4, 5) and record.reliability == pytest.approx(0.8)
    # the streak is by time, newest first: the 29-day-old invalid one is older than the four valid ones
    assert record.streak == 4


def test_reliability_window_relative_to_now_argument(store):
    worker = new_worker()
    validate(store, worker, True, at=datetime.now(UTC) - timedelta(days=10))
    assert store.worker(worker).total == 1
    assert store.worker(worker, now=datetime.now(UTC) + timedelta(days=25)).total == 0


def test_validation_time_with_a_utc_offset_is_honoured(store):
    """An aware `at` in another zone is the same instant: 31 days ago at UTC+10 is outside the window,
    29 days ago at UTC-10 inside."""
    worker = new_worker()
    validate(store, worker, False, at=datetime.now(timezone(timedelta(hours=10))) - timedelta(days=30, hours=6))
    validate(store, worker, True, at=datetime.now(timezone(timedelta(hours=-10))) - timedelta(days=29, hours=18))
    record = store.worker(worker)
    assert (record.valid, record.total) == (1, 1)


def test_unreliable_below_eighty_percent(store):
    worker = new_worker()
    validate(store, worker, *[True] * 8, False, False)  # 0.80 exactly: not below
    assert store.worker(worker).reliability == pytest.approx(0.8)
    assert not store.worker(worker).unreliable
    validate(store, worker, False)  # 8/11 = 0.727
    record = store.worker(worker)
    assert record.unreliable and not record.trusted
    assert store.worker(new_worker()).unreliable is False  # no data: not unreliable


def test_record_block_block_worker_blocks_of_checked_blocks(store):
    worker, other = new_worker(), new_worker()
    k1, k2, k3 = new_key("a"), new_key("b"), new_key("c")
    assert store.block_worker(k1) is None
    store.record_block(k1, worker, "host-a", 20)
    store.record_block(k2, worker, "host-a", 0)
    store.record_block(k3, other, "host-b", 7)
    assert store.block_worker(k1) == (worker, 20)
    assert store.block_worker(k2) == (worker, 0)
    assert sorted(store.blocks_of(worker)) == sorted([k1, k2])
    assert store.blocks_of(other) == [k3]
    # a rerun of a block by another worker replaces the old owner (one row per block)
    store.record_block(k2, other, "host-b", 11)
    assert store.block_worker(k2) == (other, 11)
    assert store.blocks_of(worker) == [k1]
    assert sorted(store.blocks_of(other)) == sorted([k2, k3])

    assert not {k1, k2, k3} & store.checked_blocks()
    store.record_validation(k1, worker, True)
    store.record_validation(k3, other, False)
    checked = store.checked_blocks()
    assert k1 in checked and k3 in checked and k2 not in checked
    ids = {w.worker_id for w in store.workers()}
    assert {worker, other} <= ids
    by_id = {w.worker_id: w for w in store.workers()}
    assert (by_id[other].valid, by_id[other].total) == (0, 1)


def test_two_store_objects_share_the_database(store):
    worker = new_worker()
    again = ReliabilityStore(str(store.engine.url.render_as_string(hide_password=False)))
    validate(store, worker, True, True)
    assert again.worker(worker).valid == 2


# ----- the double-check policy ---------------------------------------------------------------------------------


def record(worker: str = "w" * 36, valid: int = 0, total: int = 0, streak: int = 0) -> WorkerRecord:
    return WorkerRecord(worker, valid, total, streak)


TRUSTED = record(valid=20, total=20, streak=20)


def test_untrusted_worker_is_always_double_checked():
    assert TRUSTED.trusted
    for untrusted in (record(), record(valid=9, total=9, streak=9), record(valid=10, total=12, streak=10)):
        assert not untrusted.trusted
        for i in range(50):
            reason = needs_double_check(untrusted, f"c/{i:06d}", 50)
            assert reason and "not trusted" in reason


def test_trusted_worker_is_sampled_about_one_in_ten_deterministically():
    keys = [f"camp/{i:06d}" for i in range(1000)]
    picks = [needs_double_check(TRUSTED, key, 50) for key in keys]
    share = sum(p is not None for p in picks) / len(keys)
    assert 0.05 <= share <= 0.15, share
    assert all(p is None or "sampled 1 in 10" in p for p in picks)
    assert picks == [needs_double_check(TRUSTED, key, 50) for key in keys]  # same key, same answer
    other = record("x" * 36, 30, 30, 30)  # the sample depends on the block, not on who computed it
    assert picks == [needs_double_check(other, key, 50) for key in keys]
    denser = sum(needs_double_check(TRUSTED, key, 50, sample_every=2) is not None for key in keys) / len(keys)
    assert 0.4 <= denser <= 0.6


def test_possible_records_are_always_checked():
    for key in (f"big/{i:06d}" for i in range(200)):
        reason = needs_double_check(TRUSTED, key, 100_000)
        assert reason and "possible record" in reason
        assert "possible record" in needs_double_check(TRUSTED, key, 5000, record_digits=5000)
    # one digit short of a record: back to sampling (most blocks of a trusted worker go unchecked)
    below = [needs_double_check(TRUSTED, f"big/{i:06d}", 99_999) for i in range(200)]
    assert None in below and all(r is None or "sampled" in r for r in below)


# ----- worker identity -----------------------------------------------------------------------------------------


def test_worker_identity_is_made_once_and_kept(tmp_path):
    home = tmp_path / "not-yet"
    worker_id, host = worker_identity(home)
    assert str(uuid.UUID(worker_id)) == worker_id
    assert host == socket.gethostname()
    assert (home / "worker.json").is_file()
    assert worker_identity(home) == (worker_id, host)
    assert worker_identity(tmp_path / "elsewhere")[0] != worker_id  # another home, another worker
    assert not list(home.glob("*.tmp"))


@pytest.mark.parametrize("content", ["", "{}", "{not json"], ids=["empty", "no-id", "garbage"])
def test_worker_identity_recovers_from_a_damaged_file(tmp_path, content):
    """The damaged-file branch exists (ValueError/KeyError are caught): it must end with a usable id."""
    (tmp_path / "worker.json").write_text(content)
    worker_id, _ = worker_identity(tmp_path)
    assert str(uuid.UUID(worker_id)) == worker_id
    assert worker_identity(tmp_path)[0] == worker_id


# ----- residue double check ------------------------------------------------------------------------------------

SMALL = {"name": "dc", "form": "kbn", "k": 3, "b": 2, "c": -1, "n_min": 60, "n_max": 130, "block_size": 71,
         "sieve_depth": 1000}
# b = 6: no Proth/LLR theorem, so the primes here (n = 136, 147, per PARI) are probable primes
SIX = {"name": "six", "form": "kbn", "k": 5, "b": 6, "c": 1, "n_min": 100, "n_max": 160, "block_size": 61,
       "sieve_depth": 1000}


def block_results(raw: dict, worker=("worker-1", "host-1")):
    spec = parse_campaign(raw)
    candidates = blocks.candidate_frame(spec, 0)
    sieved = blocks.sieve_frame(spec, 0, candidates)
    return spec, blocks.test_frame(spec, 0, sieved, worker=worker)


@pytest.fixture(scope="module")
def small_block():
    return block_results(SMALL)


def fermat_res64(N: int) -> str:
    return format(pow(3, N - 1, N) & MASK64, "016x")


def test_double_check_of_honest_results_matches(small_block):
    spec, results = small_block
    assert len(results) >= 5 and (results["result"] == "prime").any()
    checks = double_check_frame(spec, results)
    assert len(checks) == len(results)
    assert list(checks["n"]) == list(results["n"])
    assert (checks["verdict"] == MATCH).all()
    assert block_is_valid(checks)
    special = checks["res64"].map(lambda r: True) & (checks["n"] >= 64)  # N >= 2^64: the special loop
    assert (checks.loc[special, "second_library"] == "flint-special").all() and special.any()
    assert (checks.loc[~special, "second_library"] == "pari").all()
    assert (checks["res64_tiebreak"] == "").all() and (checks["tiebreak_library"] == "").all()
    assert (checks["worker_id"] == "worker-1").all()
    for row in checks.to_dict("records"):  # an oracle of its own: Python's pow
        assert row["res64_second"] == fermat_res64(3 * 2 ** row["n"] - 1)
        assert row["res64"] == row["res64_second"]
        assert row["expression"] == f"3*2^{row['n']}-1"


@pytest.mark.parametrize("row_index", [0, -1])
def test_a_corrupted_residue_is_blamed_on_the_first_test(small_block, row_index):
    spec, results = small_block
    bad = results.copy()
    index = bad.index[row_index]
    true = bad.loc[index, "res64"]
    bad.loc[index, "res64"] = format(int(true, 16) ^ 1, "016x")
    checks = double_check_frame(spec, bad)
    wrong = checks[checks["verdict"] != MATCH]
    assert list(wrong.index) == [index]
    row = wrong.iloc[0]
    assert row["verdict"] == FIRST_WRONG
    assert row["res64_second"] == true and row["res64_tiebreak"] == true  # two other libraries agree against it
    assert row["tiebreak_library"] == {"pari": "flint", "flint-special": "pari"}[row["second_library"]]
    assert row["expression"] == bad.loc[index, "expression"]
    assert not block_is_valid(checks)


@pytest.mark.parametrize("broken", ["pari", "flint-special"])
def test_a_wrong_second_library_is_named(small_block, monkeypatch, broken):
    spec, results = small_block
    monkeypatch.setitem(double_check.LIBRARIES, broken, lambda *args: 12345)
    checks = double_check_frame(spec, results)
    by_broken = checks["second_library"] == broken
    assert by_broken.any()
    assert (checks.loc[by_broken, "verdict"] == SECOND_WRONG).all()
    assert (checks.loc[~by_broken, "verdict"] == MATCH).all()
    assert (checks.loc[by_broken, "res64_tiebreak"] == checks.loc[by_broken, "res64"]).all()
    assert block_is_valid(checks)  # the first worker's results hold


def test_three_different_answers_are_unresolved(small_block, monkeypatch):
    spec, results = small_block
    monkeypatch.setitem(double_check.LIBRARIES, "pari", lambda *args: 1)
    monkeypatch.setitem(double_check.LIBRARIES, "flint", lambda *args: 2)
    monkeypatch.setitem(double_check.LIBRARIES, "flint-special", lambda *args: 3)
    composites = results[results["result"] == "composite"]
    checks = double_check_frame(spec, composites)
    assert len(checks) and (checks["verdict"] == UNRESOLVED).all()
    assert not block_is_valid(checks)


def test_triple_check_always_fills_the_tiebreak(small_block):
    spec, results = small_block
    checks = double_check_frame(spec, results, triple=True)
    assert (checks["verdict"] == MATCH).all()
    assert (checks["tiebreak_library"] != checks["second_library"]).all()
    assert checks["tiebreak_library"].isin(["pari", "flint"]).all()
    assert (checks["res64_tiebreak"] == checks["res64"]).all()
    assert checks["res64_tiebreak"].str.fullmatch(r"[0-9a-f]{16}").all()


def test_triple_check_catches_a_wrong_second_library_even_when_it_agrees(small_block, monkeypatch):
    """With triple=True the third library is consulted on agreement too: a first and second result that
    agree with each other but not with flint are not a plain 'match'."""
    spec, results = small_block
    monkeypatch.setitem(double_check.LIBRARIES, "flint", lambda *args: 7)
    monkeypatch.setitem(double_check.LIBRARIES, "pari", lambda *args: 7)
    checks = double_check_frame(spec, results, triple=True)
    special = checks["second_library"] == "flint-special"  # the third library is the faked PARI
    assert special.any() and (checks.loc[special, "verdict"] == UNRESOLVED).all()


def test_progress_is_reported(small_block):
    spec, results = small_block
    calls = []
    double_check_frame(spec, results, progress=lambda stage, done, total: calls.append((stage, done, total)))
    assert calls and all(stage == "double-check" and total == len(results) for stage, _, total in calls)


def test_double_check_of_an_empty_block():
    spec = parse_campaign(SMALL)
    checks = double_check_frame(spec, blocks.test_frame(spec, 0, pd.DataFrame(
        {"n": pd.Series([], dtype="int64"), "status": pd.Series([], dtype=object)})))
    assert len(checks) == 0 and "verdict" in checks.columns
    assert block_is_valid(checks)


# ----- verified primes and the Top5000 export ------------------------------------------------------------------


@pytest.fixture(scope="module")
def six_block():
    spec, results = block_results(SIX)
    return spec, results, blocks.certificate_frame(spec, results)


def test_the_six_family_has_probable_primes(six_block, pari_primes):
    spec, results, certs = six_block
    assert set(certs["n"]) == pari_primes(5, 6, 1, 100, 160) == {136, 147}
    assert (certs["status"] == "prp").all()
    assert set(results.loc[results["result"] == "probable-prime", "res64"]) == {FERMAT_PRP_RESIDUE}


def test_prp_with_a_matching_double_check_is_prp_double_checked(six_block):
    spec, results, certs = six_block
    checks = double_check_frame(spec, results)
    frame = verified_primes_frame(certs, checks)
    assert list(frame["n"]) == [136, 147]
    assert (frame["status"] == PRP_DOUBLE_CHECKED).all()
    assert frame["evidence"].str.contains("reproduced by pari").all()
    text = top5000_text(frame)
    lines = text.splitlines()
    assert lines[0].startswith("#")
    assert lines[1:] == ["5*6^147+1  116  PRP", "5*6^136+1  107  PRP"]  # largest first


def test_prp_without_a_double_check_is_pending(six_block):
    spec, results, certs = six_block
    frame = verified_primes_frame(certs, pd.DataFrame())
    assert (frame["status"] == PENDING).all()
    assert top5000_text(frame).splitlines()[1:] == []
    # only one of the two checked
    checks = double_check_frame(spec, results[results["n"] == 147])
    frame = verified_primes_frame(certs, checks)
    assert dict(zip(frame["n"], frame["status"], strict=True)) == {136: PENDING, 147: PRP_DOUBLE_CHECKED}
    assert [line.split()[0] for line in top5000_text(frame).splitlines()[1:]] == ["5*6^147+1"]


def test_prp_whose_double_check_disagrees_is_pending(six_block):
    spec, results, certs = six_block
    checks = double_check_frame(spec, results)
    checks.loc[checks["n"] == 136, "verdict"] = FIRST_WRONG
    checks.loc[checks["n"] == 147, "res64_second"] = "0000000000000002"  # a match on a non-1 residue
    frame = verified_primes_frame(certs, checks)
    assert (frame["status"] == PENDING).all()


def test_double_check_of_another_campaign_does_not_count(six_block):
    spec, results, certs = six_block
    checks = double_check_frame(spec, results)
    checks["campaign"] = "other"
    assert (verified_primes_frame(certs, checks)["status"] == PENDING).all()


def test_proven_and_verified_is_proven_verified(small_block):
    spec, results = small_block
    certs = blocks.certificate_frame(spec, results)
    assert len(certs) and (certs["status"] == "proven").all() and certs["verified"].all()
    frame = verified_primes_frame(certs, pd.DataFrame())  # a proof needs no double check
    assert (frame["status"] == PROVEN_VERIFIED).all()
    assert frame["evidence"].str.startswith("llr: ").all()
    lines = top5000_text(frame).splitlines()[1:]
    assert len(lines) == len(certs)
    for line, row in zip(lines, certs.sort_values("digits", ascending=False).to_dict("records"), strict=True):
        assert re.fullmatch(rf"{re.escape(row['expression'])}  {row['digits']}  LLR, P = \d+", line), line


def test_proven_but_not_verified_is_pending(small_block):
    spec, results = small_block
    certs = blocks.certificate_frame(spec, results)
    certs.loc[certs.index[0], "verified"] = False
    certs.loc[certs.index[0], "verification"] = "proof rejected"
    frame = verified_primes_frame(certs, double_check_frame(spec, results))
    assert frame.loc[frame.index[0], "status"] == PENDING
    assert (frame["status"].iloc[1:] == PROVEN_VERIFIED).all()
    assert certs.loc[certs.index[0], "expression"] not in top5000_text(frame)


def test_no_certificates_no_rows():
    empty = verified_primes_frame(pd.DataFrame(), pd.DataFrame())
    assert len(empty) == 0 and {"status", "evidence"} <= set(empty.columns)


def test_proofs_replace_the_double_check_only_for_an_untrusted_worker_off_sample_and_below_records():
    new = WorkerRecord("w", 0, 0, 0)
    trusted = WorkerRecord("w", 10, 10, 10)
    unreliable = WorkerRecord("w", 1, 5, 0)
    keys = [f"c/{i:06d}" for i in range(40)]
    off_sample = [k for k in keys if not sampled(k, 10)]
    assert 0 < len(off_sample) < len(keys)
    assert all(proofs_may_replace_double_check(new, k, 50) for k in off_sample)
    assert not any(proofs_may_replace_double_check(new, k, 50) for k in set(keys) - set(off_sample))
    assert not proofs_may_replace_double_check(new, off_sample[0], 100_000)  # a possible record: full re-test
    assert not proofs_may_replace_double_check(unreliable, off_sample[0], 50)
    assert not proofs_may_replace_double_check(trusted, off_sample[0], 50)  # sampled or not, as before
