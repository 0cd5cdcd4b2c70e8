#!/usr/bin/env bash
# The container check (README "Containers"), run by hand because it does not fit the test suite's budget on a
# 2-core machine (the image build alone takes minutes): builds the image with deploy/build-local-images.sh, then
# runs tests/fleet/test_container_fleet.py against it (the image as users get it; the webserver, the daemon and
# two worker containers from deploy/docker-compose.yml + docker-compose.host-services.yml on this machine's
# PostgreSQL, RabbitMQ and Redis; a campaign backfill; one worker container killed mid-block).
# Record its result and date in benchmarks/RESULTS.md ("Container check").
#
#   deploy/check-containers.sh                  # PYTHON defaults to .venv/bin/python (pip install -e ".[dev]")
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
started=$SECONDS
deploy/build-local-images.sh
built=$SECONDS
export CONTAINER_CHECK_IMAGE="${DARKREACH_IMAGE:-localhost/darkreach-pipeline:latest}"
RUN_CONTAINER_CHECK=1 "$PYTHON" -m pytest -q -s -p no:cacheprovider --durations=0 \
    tests/fleet/test_container_fleet.py
echo "container check passed on $(date -u +%Y-%m-%d): build $((built - started)) s, tests $((SECONDS - built)) s"
