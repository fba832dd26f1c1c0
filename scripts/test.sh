#!/usr/bin/env bash
# Installs what the tests need into .venv, then runs the whole suite on all cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
# One thread per worker: pytest-xdist runs one worker per core.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
exec .venv/bin/python -m pytest -n auto -q "$@"
