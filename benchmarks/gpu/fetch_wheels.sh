#!/usr/bin/env bash
# Wheels for the device machine (Python 3.12, x86-64, no package index there; its image already has CuPy,
# numba, numpy and pytest): what the device tests and bench_gpu.py import besides, gmpy2, and pyFFTW for a
# fair CPU baseline (without it the CPU FFT falls back to numpy.fft, ~2x slower). Into .whl/ (git-ignored);
# then call the device tool with carry [".whl"] and `bash benchmarks/gpu/run_on_device.sh`.
set -euo pipefail
cd "$(dirname "$0")/../.."
for pkg in gmpy2 pyfftw; do
  python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d .whl "$pkg"
done
ls -la .whl
