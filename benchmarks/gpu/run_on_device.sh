#!/usr/bin/env bash
# The GPU measurement of issue #18, on a GPU host, in under ~5 minutes: install what is missing, run the GPU
# tests, then the benchmark (benchmarks/gpu/bench_gpu.py), writing everything to $OUT (default /tmp/gpu-out).
# The device machine reaches no package index: wheels made here by benchmarks/gpu/fetch_wheels.sh travel in
# .whl/ (carried); elsewhere pip installs the GPU extra and the engine's needs from PyPI.
#   bash benchmarks/gpu/run_on_device.sh            # full (about 3-4 minutes)
#   QUICK=1 bash benchmarks/gpu/run_on_device.sh    # smaller sizes first
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
{
  date -u; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
  if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
    $PY -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
  else
    $PY -c "import cupy" 2>/dev/null || $PY -m pip install -q "cupy-cuda12x>=13"   # the .[gpu] extra
    $PY -m pip install -q gmpy2 pyfftw numba pytest
  fi
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
  $PY -c "import cupy; print('cupy', cupy.__version__, cupy.cuda.runtime.getDeviceCount(), 'device(s)')"
} 2>&1 | tee "$OUT/setup.log"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}:/tmp/site"

# 1. the GPU tests (and the numpy path of the same code), ~1 minute
timeout 150 $PY -m pytest -q -c benchmarks/gpu/pytest-device.ini --rootdir . tests/engine/test_gpu_device.py \
    tests/engine/test_arith_device.py tests/engine/test_sieve_kbn_device.py 2>&1 | tee "$OUT/tests.log"
tests_rc=${PIPESTATUS[0]}

# 2. the benchmark, ~2-3 minutes
timeout 240 $PY benchmarks/gpu/bench_gpu.py --out "$OUT" ${QUICK:+--quick} 2>&1 | tee "$OUT/bench.log"
bench_rc=${PIPESTATUS[0]}
echo "tests rc=$tests_rc bench rc=$bench_rc" | tee "$OUT/summary.txt"
[ "$tests_rc" = 0 ] && [ "$bench_rc" = 0 ]
