"""Swappable FFT backends with cached plans, so chains never call an FFT library directly.

A backend hands out plans with preallocated, aligned buffers. Both inverses are UNnormalised (the result is
scaled by the length): the arithmetic folds 1/L into its weight tables instead of paying an extra pass.
pyFFTW (FFTW_MEASURE, one thread) measured ~2x faster than numpy.fft (performance-anchors.md section 11);
numpy is the fallback. A GPU backend only needs to provide the same two plan kinds.
Plans are cached per backend and backends per thread: a plan's buffers are scratch space, never state
shared between threads.
"""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

ENV_VAR = "DARKREACH_FFT_BACKEND"
WISDOM_PATH = Path.home() / ".cache" / "darkreach" / "fftw-wisdom"


class RealPlan(ABC):
    """Real FFT of length L: `forward()` reads `.real` (float64[L]) into `.spectrum` (complex128[L//2+1]);
    `inverse()` reads `.spectrum` (which it may destroy) into `.real`, scaled by L."""

    real: np.ndarray
    spectrum: np.ndarray

    @abstractmethod
    def forward(self) -> None: ...

    @abstractmethod
    def inverse(self) -> None: ...


class ComplexPlan(ABC):
    """Complex FFT of length M in place on `.buffer` (complex128[M]); `inverse()` is scaled by M."""

    buffer: np.ndarray

    @abstractmethod
    def forward(self) -> None: ...

    @abstractmethod
    def inverse(self) -> None: ...


class FFTBackend(ABC):
    name: str

    def __init__(self) -> None:
        self._real: dict[int, RealPlan] = {}
        self._complex: dict[int, ComplexPlan] = {}

    def real_plan(self, L: int) -> RealPlan:
        if L < 2 or L % 2:
            raise ValueError(f"real FFT length must be even and >= 2, got L={L}")
        if L not in self._real:
            self._real[L] = self._make_real(L)
        return self._real[L]

    def complex_plan(self, M: int) -> ComplexPlan:
        if M < 1:
            raise ValueError(f"complex FFT length must be >= 1, got M={M}")
        if M not in self._complex:
            self._complex[M] = self._make_complex(M)
        return self._complex[M]

    @abstractmethod
    def _make_real(self, L: int) -> RealPlan: ...

    @abstractmethod
    def _make_complex(self, M: int) -> ComplexPlan: ...


# --- numpy (always available) --------------------------------------------------------------------
class _NumpyReal(RealPlan):
    def __init__(self, L: int):
        self.L = L
        self.real = np.zeros(L)
        self.spectrum = np.zeros(L // 2 + 1, dtype=np.complex128)

    def forward(self) -> None:
        self.spectrum[:] = np.fft.rfft(self.real)

    def inverse(self) -> None:
        self.real[:] = np.fft.irfft(self.spectrum, n=self.L, norm="forward")


class _NumpyComplex(ComplexPlan):
    def __init__(self, M: int):
        self.buffer = np.zeros(M, dtype=np.complex128)

    def forward(self) -> None:
        self.buffer[:] = np.fft.fft(self.buffer)

    def inverse(self) -> None:
        self.buffer[:] = np.fft.ifft(self.buffer, norm="forward")


class NumpyBackend(FFTBackend):
    name = "numpy"

    def _make_real(self, L: int) -> RealPlan:
        return _NumpyReal(L)

    def _make_complex(self, M: int) -> ComplexPlan:
        return _NumpyComplex(M)


# --- pyFFTW ---------------------------------------------------------------------------------------
class _FFTWReal(RealPlan):
    def __init__(self, pyfftw, L: int):
        align = pyfftw.simd_alignment
        self.real = pyfftw.empty_aligned(L, dtype="float64", n=align)
        self.spectrum = pyfftw.empty_aligned(L // 2 + 1, dtype="complex128", n=align)
        flags = ("FFTW_MEASURE",)
        # Planning overwrites the arrays: plan first, the caller fills them afterwards.
        self._fwd = pyfftw.FFTW(self.real, self.spectrum, direction="FFTW_FORWARD", flags=flags, threads=1)
        self._inv = pyfftw.FFTW(self.spectrum, self.real, direction="FFTW_BACKWARD", flags=flags, threads=1)
        self.real[:] = 0
        self.spectrum[:] = 0

    def forward(self) -> None:
        self._fwd.execute()

    def inverse(self) -> None:
        self._inv.execute()  # execute(): unnormalised, no copy


class _FFTWComplex(ComplexPlan):
    def __init__(self, pyfftw, M: int):
        self.buffer = pyfftw.empty_aligned(M, dtype="complex128", n=pyfftw.simd_alignment)
        flags = ("FFTW_MEASURE",)
        self._fwd = pyfftw.FFTW(self.buffer, self.buffer, direction="FFTW_FORWARD", flags=flags, threads=1)
        self._inv = pyfftw.FFTW(self.buffer, self.buffer, direction="FFTW_BACKWARD", flags=flags, threads=1)
        self.buffer[:] = 0

    def forward(self) -> None:
        self._fwd.execute()

    def inverse(self) -> None:
        self._inv.execute()


class PyFFTWBackend(FFTBackend):
    name = "pyfftw"

    def __init__(self) -> None:
        super().__init__()
        import pyfftw

        self._pyfftw = pyfftw
        self._load_wisdom()

    def _load_wisdom(self) -> None:
        try:
            self._pyfftw.import_wisdom(tuple(WISDOM_PATH.read_bytes().split(b"\0\0")))
        except (OSError, ValueError, TypeError):
            pass  # wisdom only saves planning time

    def _save_wisdom(self) -> None:
        try:
            WISDOM_PATH.parent.mkdir(parents=True, exist_ok=True)
            tmp = WISDOM_PATH.with_name(f"{WISDOM_PATH.name}.{os.getpid()}.tmp")
            tmp.write_bytes(b"\0\0".join(self._pyfftw.export_wisdom()))
            os.replace(tmp, WISDOM_PATH)
        except OSError:
            pass

    def _make_real(self, L: int) -> RealPlan:
        plan = _FFTWReal(self._pyfftw, L)
        self._save_wisdom()
        return plan

    def _make_complex(self, M: int) -> ComplexPlan:
        plan = _FFTWComplex(self._pyfftw, M)
        self._save_wisdom()
        return plan


_BACKENDS: dict[str, type[FFTBackend]] = {"pyfftw": PyFFTWBackend, "numpy": NumpyBackend}
_local = threading.local()


def _default_name() -> str:
    try:
        import pyfftw  # noqa: F401
    except ImportError:
        return "numpy"
    return "pyfftw"


def get_backend(name: str | None = None) -> FFTBackend:
    """The backend `name`, else $DARKREACH_FFT_BACKEND, else pyfftw if importable, else numpy (one per thread)."""
    name = name or os.environ.get(ENV_VAR) or _default_name()
    if name not in _BACKENDS:
        raise ValueError(f"unknown FFT backend {name!r} (from the argument or {ENV_VAR}): "
                         f"use one of {sorted(_BACKENDS)}")
    cache = _local.__dict__.setdefault("backends", {})
    if name not in cache:
        cache[name] = _BACKENDS[name]()
    return cache[name]
