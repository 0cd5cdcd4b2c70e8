"""The `darkreach` command end to end, in subprocesses with their own DARKREACH_HOME; and the `dagster` CLI
materialising a block of a campaign registered by `darkreach register`."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PROTH, REPO, data_env_names, toml_text

PARI_ARGS = (3, 2, 1, 1, 120)  # PROTH: 3*2^n+1, n = 1..120
CSV_COLUMNS = ["campaign", "form", "expression", "digits", "status", "method", "k", "b", "c", "n"]


def env_for(home: Path, **extra: str) -> dict[str, str]:
    drop = set(data_env_names())
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(DARKREACH_HOME=str(home), PYTHONUNBUFFERED="1", **extra)
    return env


def darkreach(home: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "darkreach_pipeline.cli", *args], env=env_for(home), cwd=home,
                          capture_output=True, text=True, timeout=timeout)


def explain(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr[-4000:]}"


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under root with its size and modification time."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


def registry_rows(home: Path) -> list[tuple]:
    import sqlite3

    with sqlite3.connect(home / "registry.db") as conn:
        return conn.execute("SELECT * FROM darkreach_campaigns ORDER BY name").fetchall()


def dynamic_partitions(home: Path) -> list[str]:
    from dagster import DagsterInstance

    instance = DagsterInstance.from_config(str(home / "dagster"))
    try:
        return instance.get_dynamic_partitions("campaign_blocks")
    finally:
        instance.dispose()


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """One `darkreach run` of the proth campaign (3 blocks, 2 workers), shared by the tests below."""
    home = tmp_path_factory.mktemp("cli-home")
    campaign = tmp_path_factory.mktemp("cli-files") / "proth.toml"
    campaign.write_text(toml_text(PROTH))
    proc = darkreach(home, "run", str(campaign), "--workers", "2")
    return home, campaign, proc


def test_run_lists_every_prime_with_its_proof(ran, pari_primes):
    home, _, proc = ran
    assert proc.returncode == 0, explain(proc)
    expected = pari_primes(*PARI_ARGS)
    assert "campaign 'proth' (new)" in proc.stdout
    assert "0 already finished, 3 to run on 2 workers" in proc.stdout
    assert f"{len(expected)} primes in 'proth': {len(expected)} proven, 0 probable" in proc.stdout
    listed = {int(m.group(1)) for m in re.finditer(r"^\s+3\*2\^(\d+)\+1\s+\d+ digits\s+proven by \S+", proc.stdout,
                                                    re.MULTILINE)}
    assert listed == expected, explain(proc)
    assert "proven by proth" in proc.stdout  # 3*2^66+1 is beyond 2^64: a real Proth proof
    assert "FAILED" not in proc.stderr
    for block in range(3):
        assert f"proth/{block:06d}: done" in proc.stderr
    assert (home / "data" / "primes.csv").is_file()
    assert (home / "dagster" / "dagster.yaml").is_file()
    assert (home / "registry.db").is_file()


def test_primes_csv(ran, pari_primes):
    home, _, _ = ran
    proc = darkreach(home, "primes", "proth", "--format", "csv")
    assert proc.returncode == 0, explain(proc)
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    header = proc.stdout.splitlines()[0].split(",")
    assert set(CSV_COLUMNS) <= set(header), header
    assert {int(r["n"]) for r in rows} == pari_primes(*PARI_ARGS)
    for r in rows:
        k, b, c, n = (int(r[x]) for x in "kbcn")
        assert (k, b, c, r["campaign"], r["form"], r["status"]) == (3, 2, 1, "proth", "kbn", "proven")
        assert r["expression"] == f"3*2^{n}+1"
        assert int(r["digits"]) == len(str(k * b**n + c))
    # the cross-campaign primes.csv written by the `primes` asset holds the same numbers
    with open(home / "data" / "primes.csv") as f:
        assert {int(r["n"]) for r in csv.DictReader(f) if r["campaign"] == "proth"} == pari_primes(*PARI_ARGS)


def test_primes_table(ran):
    home, _, _ = ran
    proc = darkreach(home, "primes", "proth")
    assert proc.returncode == 0, explain(proc)
    assert "3*2^66+1" in proc.stdout and "proven" in proc.stdout


def test_run_again_has_nothing_to_do(ran, pari_primes):
    home, campaign, _ = ran
    proc = darkreach(home, "run", str(campaign), "--workers", "2")
    assert proc.returncode == 0, explain(proc)
    assert "campaign 'proth' (registered)" in proc.stdout
    assert "3 already finished, 0 to run" in proc.stdout
    assert f"{len(pari_primes(*PARI_ARGS))} primes in 'proth'" in proc.stdout
    assert "done in" not in proc.stderr  # no block ran


def test_status(ran, pari_primes):
    home, _, _ = ran
    proc = darkreach(home, "status")
    assert proc.returncode == 0, explain(proc)
    assert f"proth: 3/3 blocks finished, {len(pari_primes(*PARI_ARGS))} primes/PRPs" in proc.stdout
    unknown = darkreach(home, "status", "nosuch")
    assert unknown.returncode == 2
    assert "error: campaign field 'name'" in unknown.stderr and "registered: proth" in unknown.stderr


def test_a_bad_campaign_file_exits_2_and_writes_nothing(ran, tmp_path):
    home, _, _ = ran
    bad = tmp_path / "bad.toml"
    bad.write_text(toml_text({**PROTH, "name": "other", "k": 6}))
    before, rows = tree(home), registry_rows(home)
    proc = darkreach(home, "run", str(bad), "--workers", "2")
    assert proc.returncode == 2, explain(proc)
    assert "error: campaign field 'k'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert tree(home) == before
    assert registry_rows(home) == rows


def test_a_bad_campaign_file_in_a_fresh_home_creates_nothing(tmp_path):
    home = tmp_path / "fresh"
    home.mkdir()
    bad = tmp_path / "bad.toml"
    bad.write_text(toml_text({**PROTH, "n_mx": 120}))
    proc = darkreach(home, "run", str(bad))
    assert proc.returncode == 2, explain(proc)
    assert "error: campaign field 'n_mx'" in proc.stderr
    assert list(home.iterdir()) == []


def test_zero_workers_is_a_usage_error(tmp_path):
    home = tmp_path / "fresh"
    home.mkdir()
    campaign = tmp_path / "proth.toml"
    campaign.write_text(toml_text(PROTH))
    proc = darkreach(home, "run", str(campaign), "--workers", "0")
    assert proc.returncode == 2, explain(proc)
    assert "Traceback" not in proc.stderr and "workers" in proc.stderr
    assert list(home.iterdir()) == []  # rejected before anything is registered


def test_editing_n_max_of_a_registered_campaign_is_refused(ran):
    home, campaign, _ = ran
    original = campaign.read_text()
    rows, keys = registry_rows(home), dynamic_partitions(home)
    campaign.write_text(toml_text({**PROTH, "n_max": 200}))
    try:
        proc = darkreach(home, "run", str(campaign), "--workers", "2")
    finally:
        campaign.write_text(original)
    assert proc.returncode == 2, explain(proc)
    assert "error: campaign field 'n_max'" in proc.stderr and "120 -> 200" in proc.stderr
    assert registry_rows(home) == rows
    assert dynamic_partitions(home) == keys == [f"proth/{b:06d}" for b in range(3)]


def test_primes_of_an_unknown_campaign_exits_2(ran):
    home, _, _ = ran
    proc = darkreach(home, "primes", "nosuch", "--format", "csv")
    assert proc.returncode == 2, explain(proc)
    assert "no campaign named 'nosuch'" in proc.stderr and "registered: proth" in proc.stderr


def test_primes_csv_of_a_campaign_without_primes_still_has_a_header(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    from darkreach_pipeline.campaign import parse_campaign
    from darkreach_pipeline.stores.registry import CampaignRegistry

    registry = CampaignRegistry(f"sqlite:///{home / 'registry.db'}")  # registered, never run
    registry.register(parse_campaign({**PROTH, "name": "empty"}))
    registry.engine.dispose()
    proc = darkreach(home, "primes", "empty", "--format", "csv")
    assert proc.returncode == 0, explain(proc)
    assert proc.stdout.splitlines()[:1] and set(CSV_COLUMNS) <= set(proc.stdout.splitlines()[0].split(",")), \
        repr(proc.stdout)


def test_darkreach_register(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    campaign = tmp_path / "proth.toml"
    campaign.write_text(toml_text(PROTH))
    proc = darkreach(home, "register", str(campaign))
    assert proc.returncode == 0, explain(proc)
    assert "campaign 'proth' registered: 3 blocks (proth/000000 .. proth/000002), sieve depth 1000" in proc.stdout
    assert dynamic_partitions(home) == [f"proth/{b:06d}" for b in range(3)]
    assert len(registry_rows(home)) == 1


def test_dagster_asset_materialize_on_a_registered_campaign(ran, pari_primes):
    """The stock `dagster asset materialize` on the home `darkreach run` (and so `register`) set up.
    Runs last in this module: it rewrites blocks 0 and 1.

    `dagster asset materialize` has no -w option in 1.13.27 ("No such option '-w'"): the code location is
    given with -m. It needs DAGSTER_HOME=$DARKREACH_HOME/dagster (where `darkreach` keeps its instance);
    without it the CLI uses a temporary instance that lacks the block partitions."""
    home, _, _ = ran
    dagster = str(Path(sys.executable).parent / "dagster")
    env = env_for(home, DAGSTER_HOME=str(home / "dagster"), PYTHONWARNINGS=readme_python_warnings())

    def materialize(selection: str, key: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [dagster, "asset", "materialize", "-m", "darkreach_pipeline.definitions", "-a", "defs",
             "--select", selection, "--partition", key],
            env=env, cwd=REPO, capture_output=True, text=True, timeout=180,
        )

    def mtimes(key: str) -> dict[str, int]:
        files = {a: home / "data" / a / f"{key}.parquet" for a in
                 ("candidate_ranges", "sieve_survivors", "p_minus_1", "prp_results", "certificates")}
        files["primes.csv"] = home / "data" / "primes.csv"
        return {name: path.stat().st_mtime_ns for name, path in files.items()}

    # '+' is one step downstream: candidate_ranges and sieve_survivors (with its check) are rewritten
    before = mtimes("proth/000000")
    proc = materialize("candidate_ranges+", "proth/000000")
    assert proc.returncode == 0, explain(proc)
    assert "RUN_SUCCESS" in proc.stderr + proc.stdout
    assert "SupersessionWarning" not in proc.stderr and "'dg " not in proc.stderr, explain(proc)
    after = mtimes("proth/000000")
    assert {name for name in before if after[name] != before[name]} == {"candidate_ranges", "sieve_survivors"}

    # '*' is everything downstream, including the unpartitioned `primes`
    before = mtimes("proth/000001")
    proc = materialize("candidate_ranges*", "proth/000001")
    assert proc.returncode == 0, explain(proc)
    after = mtimes("proth/000001")
    assert all(after[name] != before[name] for name in before), (before, after)
    assert "Asset check 'every_prime_has_verified_certificate' on 'certificates' passed" in proc.stderr + proc.stdout
    with open(home / "data" / "primes.csv") as f:
        assert {int(r["n"]) for r in csv.DictReader(f)} == pari_primes(*PARI_ARGS)


def readme_python_warnings() -> str:
    """PYTHONWARNINGS as the README's `export` line for the dagster CLI sets it: the filter `darkreach ui` uses."""
    from darkreach_pipeline.cli import QUIET_SUPERSESSION

    found = re.findall(r"^export DARKREACH_HOME=\S+ DAGSTER_HOME=\S+ PYTHONWARNINGS=(\S+)",
                       (REPO / "README.md").read_text(), re.MULTILINE)
    assert found == [QUIET_SUPERSESSION], found
    return found[0]


@pytest.mark.parametrize("command", ["run", "register"])
def test_an_unreadable_campaign_file_exits_2_naming_it(tmp_path, monkeypatch, capsys, command):
    """A directory named *.toml, a binary file, a FIFO, a missing file: `error: ...` naming the file, exit 2,
    no traceback and nothing written (a directory or a binary file used to end in an OSError's traceback)."""
    from darkreach_pipeline import cli

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("DARKREACH_HOME", str(home))
    (tmp_path / "dir.toml").mkdir()
    (tmp_path / "binary.toml").write_bytes(bytes(range(256)))
    os.mkfifo(tmp_path / "fifo.toml")
    for name, reason in (("dir.toml", "is a directory"), ("binary.toml", "not UTF-8"),
                         ("fifo.toml", "not a regular file"), ("missing.toml", "does not exist")):
        assert cli.main([command, str(tmp_path / name)]) == 2, name
        err = capsys.readouterr().err
        assert err.startswith("error: campaign field '<file>'") and str(tmp_path / name) in err and reason in err
    assert list(home.iterdir()) == []


def test_version_is_one_line_naming_the_pinned_family(capsys, monkeypatch):
    """`darkreach --version` (compared across containers by tests/fleet/test_container_fleet.py): one line even on
    a narrow terminal, with the versions a fleet must keep equal."""
    from importlib.metadata import version

    from darkreach_pipeline import __version__, cli

    monkeypatch.setenv("COLUMNS", "40")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    python = sys.version.split()[0]
    assert capsys.readouterr().out == (f"darkreach-pipeline {__version__} (python {python}; dagster "
                                       f"{version('dagster')}; dagster-celery {version('dagster-celery')})\n")
