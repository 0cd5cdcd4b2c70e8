"""The public volunteer stats page: the credit summaries as JSON and as one self-contained HTML page.

The HTML is built from the JSON, so the two always show the same numbers. Every name a volunteer chose is
HTML-escaped (an alias like `<script>` renders as text); the page loads nothing from elsewhere.
"""

from __future__ import annotations

from html import escape
from typing import Any

from darkreach_pipeline.volunteer.credit import Leaderboard, Totals, VolunteerStats

CREDIT_DECIMALS = 3  # credit is shown to a thousandth of a core-hour


def _credit(value: float) -> float:
    return round(value, CREDIT_DECIMALS)


def _totals_json(totals: Totals) -> dict[str, Any]:
    return {
        "units": totals.units,
        "sieve_units": totals.sieve_units,
        "prp_units": totals.prp_units,
        "candidates": totals.candidates,
        "primes": totals.primes,
        "credit": _credit(totals.credit),
        "core_hours": _credit(totals.core_hours),
        "credit_by_form": {form: _credit(credit) for form, credit in totals.credit_by_form},
        "first_accepted": totals.first_accepted.isoformat(),
        "last_accepted": totals.last_accepted.isoformat(),
        "badges": [{"key": b.key, "title": b.title, "earned_on": b.earned_on.isoformat()} for b in totals.badges],
    }


def _leaderboard_json(board: Leaderboard) -> list[dict[str, Any]]:
    return [
        {
            "rank": r.rank,
            "name": r.name,
            "kind": r.kind,
            "credit": _credit(r.credit),
            "units": r.units,
            "primes": r.primes,
        }
        for r in board.rows
    ]


def render_json(stats: VolunteerStats) -> dict[str, Any]:
    """The stats as plain JSON types (str, int, float, list, dict); names only, never a worker's UUID."""
    return {
        "as_of": stats.as_of.isoformat() if stats.as_of else None,
        "units": stats.units,
        "primes": stats.primes,
        "credit": _credit(stats.credit),
        "leaderboard": _leaderboard_json(stats.total),
        "leaderboards_by_form": {board.form: _leaderboard_json(board) for board in stats.by_form},
        "accounts": [{"name": a.name, "machines": list(a.machines), **_totals_json(a.totals)} for a in stats.accounts],
        "workers": [{"name": w.name, "account": w.account, **_totals_json(w.totals)} for w in stats.workers],
    }


_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse;margin:0 0 1.5em}"
    "th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}"
    "td.n{text-align:right}th{background:#f0f0f0}"
)


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    """A table whose every cell is escaped; numbers are right-aligned."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{escape(str(c))}</td>' if isinstance(c, int | float) else f"<td>{escape(str(c))}</td>"
            for c in row
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _board_table(rows: list[dict[str, Any]]) -> str:
    return _table(
        ["#", "name", "", "credit", "units", "primes"],
        [[r["rank"], r["name"], r["kind"], r["credit"], r["units"], r["primes"]] for r in rows],
    )


def _badges(entry: dict[str, Any]) -> str:
    return ", ".join(f"{b['title']} ({b['earned_on']})" for b in entry["badges"])


def render_html(stats: VolunteerStats) -> str:
    """A small public stats page: totals, the leaderboards, accounts and machines with their badges."""
    data = render_json(stats)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>darkreach volunteer stats</title>',
        f"<style>{_STYLE}</style></head><body>",
        "<h1>darkreach volunteer stats</h1>",
        f"<p>{data['units']} units accepted, {data['primes']} primes found, {data['credit']} credit "
        f"(core-hours weighted by difficulty); as of {escape(data['as_of'] or 'no work yet')}.</p>",
        "<h2>Leaderboard</h2>",
        _board_table(data["leaderboard"]),
    ]
    for form, rows in data["leaderboards_by_form"].items():
        parts += [f"<h3>{escape(form)}</h3>", _board_table(rows)]
    parts += [
        "<h2>Accounts</h2>",
        _table(
            ["account", "machines", "credit", "units", "primes", "badges"],
            [
                [a["name"], ", ".join(a["machines"]), a["credit"], a["units"], a["primes"], _badges(a)]
                for a in data["accounts"]
            ],
        ),
        "<h2>Machines</h2>",
        _table(
            ["name", "account", "credit", "units", "primes", "badges"],
            [
                [w["name"], w["account"] or "", w["credit"], w["units"], w["primes"], _badges(w)]
                for w in data["workers"]
            ],
        ),
        "</body></html>",
    ]
    return "\n".join(parts)
