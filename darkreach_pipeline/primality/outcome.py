"""What one primality test established about one number, and how."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PRIME = "prime"
PROBABLE_PRIME = "probable-prime"
COMPOSITE = "composite"

RESIDUE_TYPE = "fermat-3"  # RES64 of 3^(N-1) mod N, as PFGW prints it


def res64(x: int) -> str:
    """Low 64 bits of a residue as 16 hex digits (the RES64 of LLR, PFGW and PRST)."""
    return format(int(x) & 0xFFFF_FFFF_FFFF_FFFF, "016x")


@dataclass(frozen=True)
class TestOutcome:
    """Result of testing one candidate. `result` is prime only when `method` is a proof."""

    result: str
    method: str
    res64: str
    residue_type: str = RESIDUE_TYPE
    certificate: dict[str, Any] = field(default_factory=dict)
    checks: int = 0  # Gerbicz checks that passed
    rollbacks: int = 0  # errors detected and recomputed
    arithmetic: str = "gmp"  # the first test's arithmetic (arith.select): "gmp" or "fft-ibdwt/<FFT length>"
    max_roundoff: float = 0.0  # the largest FFT round-off of that test (0 for GMP)

    @property
    def status(self) -> str | None:
        """'proven' or 'prp' for the numbers worth reporting, None for composites."""
        return {PRIME: "proven", PROBABLE_PRIME: "prp"}.get(self.result)
