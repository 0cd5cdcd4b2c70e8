"""How a form's test runs its chains: one small options object instead of three keywords in every signature."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from darkreach_pipeline.primality.gerbicz import Fault


@dataclass(frozen=True)
class TestOptions:
    """`check`: Gerbicz checks on (off only for diagnostics and the fault-injection tests); `faults`: errors to
    inject (tests); `chain_run`: hooks of the first chain (resume, on_verified, want_check, proof), the block's
    checkpoints and Pietrzak proof. The defaults are what a production test runs."""

    __test__ = False  # not a pytest class, whatever module imports it

    check: bool = True
    faults: list[Fault] | None = None
    chain_run: dict[str, Any] | None = None

    def without_hooks(self) -> TestOptions:
        """The same checks and faults for a later chain (a pair's second member): a saved chain state and a
        proof recorder belong to the first chain only."""
        return replace(self, chain_run=None)


DEFAULT_OPTIONS = TestOptions()
