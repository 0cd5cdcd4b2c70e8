#!/usr/bin/env bash
# Wheels for the device machine (Python 3.12, x86-64, no package index there; its image already has CuPy,
# numba, numpy and pytest): the engine's other needs, into .whl/ (git-ignored through .git/info/exclude).
# Then call the device tool with carry [".whl"] and `bash benchmarks/gpu/run_on_device.sh`.
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> "$(git rev-parse --git-common-dir)/info/exclude"
for pkg in gmpy2 pyfftw cypari2 python-flint; do
  python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d .whl "$pkg"
done
ls -la .whl
