"""`darkreach plan`, `feedback` and `advise` (in-process through the CLI's main): a plan's campaign file registers
as it is, then the feedback and the fleet advisor read the deployment. tests/dagster/test_strategy_assets.py
covers both after a real run (running blocks here would cost half a minute more)."""

from __future__ import annotations

import re

from darkreach_pipeline.campaign import load_campaign
from darkreach_pipeline.cli import main

PLAN = ["plan", "kbn", "--param", "k=3,5", "--param", "b=2", "--param", "c=1", "--range", "n=200..400"]


def test_plan_register_feedback_advise(darkreach_home, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(darkreach_home / "dagster"))  # main() sets it: restored afterwards
    assert main([*PLAN, "--top", "1", "--write", str(tmp_path / "plans")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| rank | campaign |") and "| 1 | plan-kbn-k" in out and "1 campaign files in" in out
    (path,) = (tmp_path / "plans").glob("*.toml")
    spec = load_campaign(path)
    assert main(["register", str(path)]) == 0
    capsys.readouterr()
    assert main(["feedback", spec.name]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith(f"{spec.name}: "))
    assert re.match(rf"{spec.name}: push on: found 0, expected 0.00 ± 0.00; \d+\.\d+ more expected", line)
    assert main(["advise", "--number"]) == 0
    assert capsys.readouterr().out == "1\n"  # the whole (small) campaign is queued: one worker slot drains it
    assert main(["feedback", "nosuch"]) == 1


def test_plan_refuses_a_bad_request_naming_the_field(darkreach_home, capsys):
    assert main(["plan", "kbn", "--param", "k=three", "--range", "n=1..9"]) == 2
    err = capsys.readouterr().err
    assert "campaign field 'k'" in err and "1..99:2" in err
    assert main(["plan", "kbn", "--param", "k=3", "--range", "n=100"]) == 2
    assert "campaign field 'range'" in capsys.readouterr().err
