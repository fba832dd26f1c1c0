#!/usr/bin/env bash
# Installs what the tests need into .venv, then runs the whole suite on all cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
# One thread per worker: pytest-xdist runs one worker per core.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
# The suite planner's tests run in a process of their own: in a worker that had run JAX
# tests before, pytest's captured stderr was found closed during them (under
# investigation, see the issue notes); everything else runs on all cores.
.venv/bin/python -m pytest -p no:xdist -q tests/test_suite.py
exec .venv/bin/python -m pytest -n auto -q --ignore=tests/test_suite.py "$@"
