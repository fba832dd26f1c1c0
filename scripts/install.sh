#!/usr/bin/env bash
# Creates .venv (if missing) and installs sfadamw with everything the runs and tests need.
# Versions are pinned by constraints.txt (torch 2.13.0 CPU, jax 0.10.2, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -c constraints.txt -e ".[torch,jax,workloads,cluster,dev]"
