"""Which array module runs the device arithmetic and sieve: CuPy on a GPU host, numpy on the CPU.

The device code (arith/xp_fft.py, arith/xp_carry.py, sieve/kbn_xp.py) is written against an array module
`xp` with numpy's API, so the same code runs on a GPU through CuPy and on the CPU through numpy, where the
tests check it bit-exact against gmpy2. CuPy is imported only when a GPU is asked for: a CPU host never
needs it installed (it is the optional extra `.[gpu]`).

DARKREACH_GPU decides whether the device path is used at all:
  off  (default) never;
  on   always where a device arithmetic or sieve exists, and an error naming the fix if there is no
       usable CuPy/device (`darkreach worker --gpu` sets it);
  auto where CuPy finds a device, else the CPU path.
DARKREACH_GPU_ARRAY=numpy runs the device code path on the CPU with numpy instead of CuPy (tests,
diagnosis on hosts without a GPU); its default, cupy, is the real device.
"""

from __future__ import annotations

import importlib.util
import os
from functools import cache
from types import ModuleType

import numpy as np

ENV_GPU = "DARKREACH_GPU"
ENV_ARRAY = "DARKREACH_GPU_ARRAY"
GPU_MODES = ("off", "on", "auto")
ARRAY_MODULES = ("cupy", "numpy")


class GpuUnavailableError(RuntimeError):
    """A GPU was asked for (DARKREACH_GPU=on, `darkreach worker --gpu`) but CuPy or a device is missing."""


def gpu_mode() -> str:
    mode = (os.environ.get(ENV_GPU) or "off").strip().lower()
    aliases = {"0": "off", "false": "off", "no": "off", "1": "on", "true": "on", "yes": "on"}
    mode = aliases.get(mode, mode)
    if mode not in GPU_MODES:
        raise ValueError(f"{ENV_GPU}={os.environ.get(ENV_GPU)!r} is not a mode: set it to one of "
                         f"{', '.join(GPU_MODES)} (or unset it: off)")
    return mode


def array_module_name() -> str:
    name = (os.environ.get(ENV_ARRAY) or "cupy").strip().lower()
    if name not in ARRAY_MODULES:
        raise ValueError(f"{ENV_ARRAY}={name!r}: use cupy (the GPU, default) or numpy (the same code on the CPU)")
    return name


@cache
def _cupy_status() -> tuple[ModuleType | None, str]:
    """(cupy, "") when CuPy imports and sees at least one CUDA device, else (None, why not). Probed once."""
    if importlib.util.find_spec("cupy") is None:
        return None, "CuPy is not installed (pip install -e '.[gpu]' on a GPU host)"
    try:
        import cupy

        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # no driver, no device, a CUDA mismatch: CuPy raises many kinds
        return None, f"CuPy found no usable CUDA device ({type(exc).__name__}: {exc})"
    if count < 1:
        return None, "CuPy found no CUDA device"
    return cupy, ""


def gpu_present() -> bool:
    """True when CuPy is installed and sees a CUDA device (the auto-detection of `darkreach worker`)."""
    return _cupy_status()[0] is not None


def device_array_module(required: bool = True) -> ModuleType | None:
    """The array module of the device path (DARKREACH_GPU_ARRAY: cupy by default, or numpy). With cupy and
    no usable device: GpuUnavailableError when `required`, else None."""
    if array_module_name() == "numpy":
        return np
    cupy, why = _cupy_status()
    if cupy is None and required:
        raise GpuUnavailableError(f"the GPU was asked for ({ENV_GPU}=on, or `darkreach worker --gpu`) but {why}; "
                                  f"unset {ENV_GPU} (or set it to auto, or drop --gpu) to run on the CPU, or set "
                                  f"{ENV_ARRAY}=numpy to run the device code on the CPU")
    return cupy


def selected_array_module() -> ModuleType | None:
    """The array module the engine should use now: None (CPU path) unless DARKREACH_GPU asks for the device."""
    mode = gpu_mode()
    if mode == "off":
        return None
    return device_array_module(required=mode == "on")


def to_host(xp: ModuleType, a) -> np.ndarray:
    """A device array as a numpy array (a copy from the GPU with CuPy, the array itself with numpy)."""
    return a.get() if xp is not np else a


def module_name(xp: ModuleType) -> str:
    return "numpy" if xp is np else xp.__name__.split(".")[0]
