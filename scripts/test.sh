#!/usr/bin/env bash
# Installs what the tests need into .venv, then runs the whole suite on all cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/python -m pytest -n auto -q "$@"
