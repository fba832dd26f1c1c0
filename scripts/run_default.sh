#!/usr/bin/env bash
# The main job on a fresh machine: install, then train the default embedded workload
# (digits_resnet, PyTorch) with our self-tuning Schedule-Free AdamW submission under the
# AlgoPerf protocol. Ends with the summary line (time to target or not reached) and the
# experiment directory. Extra flags are passed to `sfadamw run` (e.g. --framework=jax).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/sfadamw run --experiment_dir=experiments --experiment_name=default \
  --tuning_ruleset=self --rng_seed=0 --overwrite "$@"
