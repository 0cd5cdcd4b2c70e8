"""The dated snapshot of the prime lists (Top 5000 cut-off, per-form top-20 cut-offs and records, the OEIS
sequences of the forms) shipped as data: the product cannot reach the internet at run time. Its source and
date travel with every number derived from it."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SNAPSHOT_FILE = Path(__file__).with_name("lists_snapshot.json")


@dataclass(frozen=True)
class ListsSnapshot:
    source: str
    date: str
    top5000_min_digits: int
    forms: dict[str, dict[str, Any]]
    oeis: list[dict[str, Any]]

    def top20_min_digits(self, form: str) -> int | None:
        entry = self.forms.get(form)
        return None if entry is None else int(entry["top20_min_digits"])

    def oeis_for(self, form: str, params: dict[str, int]) -> dict[str, Any] | None:
        """The OEIS sequence listing this form's primes for these parameters, if the snapshot knows one."""
        for entry in self.oeis:
            if entry["form"] == form and all(params.get(k) == v for k, v in entry["params"].items()) \
                    and set(entry["params"]) == set(params):
                return entry
        return None

    def label(self) -> str:
        return f"lists snapshot of {self.date} (approximate, from memory; see {SNAPSHOT_FILE.name})"


@functools.cache
def load_snapshot(path: Path = SNAPSHOT_FILE) -> ListsSnapshot:
    """Read and check the snapshot; a damaged or incomplete file is refused, naming the field."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"lists snapshot {path}: cannot be read ({exc}); restore it from git") from exc
    for field in ("source", "date", "top5000_min_digits", "forms", "oeis"):
        if field not in raw:
            raise ValueError(f"lists snapshot {path}: field {field!r} is missing; restore it from git")
    for name, entry in raw["forms"].items():
        if not isinstance(entry.get("top20_min_digits"), int) or entry["top20_min_digits"] <= 0:
            raise ValueError(f"lists snapshot {path}: forms.{name}.top20_min_digits must be a positive integer")
    return ListsSnapshot(raw["source"], raw["date"], int(raw["top5000_min_digits"]), raw["forms"], raw["oeis"])
