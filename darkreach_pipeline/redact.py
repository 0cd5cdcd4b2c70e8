"""Secrets out of what the product prints: the password of every `scheme://user:password@host` URL in a text
becomes `***`. Broker, result-backend and database URLs carry passwords, and log lines, error messages and
command lines end up in terminals, CI logs and the Dagster UI."""

from __future__ import annotations

import re

# scheme://credentials@ : the credentials run to the last '@' before the host's path, so a password holding
# an unencoded '@' is hidden whole.
URL_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<credentials>[^\s/?#]*)@")


def _mask(match: re.Match[str]) -> str:
    user, sep, _ = match["credentials"].partition(":")
    return f"{match['scheme']}{user}{':***' if sep else ''}@"


def redact(text: str) -> str:
    """`text` with the password of each URL in it replaced by ***: `redis://:pw@h/0` -> `redis://:***@h/0`,
    `postgresql://u:pw@h/db` -> `postgresql://u:***@h/db`. Text without such URLs is returned unchanged."""
    return URL_CREDENTIALS.sub(_mask, text)
