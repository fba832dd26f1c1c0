#!/usr/bin/env bash
# Runs one AlgoPerf workload with the Schedule-Free AdamW submission (the Docker entry point).
#
# Flags as the harness's Docker entry (docker/scripts/startup.sh of mlcommons/algorithmic-efficiency):
#   -f framework (pytorch|jax)   -w workload        -s submission path   -t search space
#   -e experiment name           -d dataset         -m max global steps
#   -o overwrite (true|false)    -c save checkpoints (true|false, default true)
#   --tuning_ruleset external|self  --num_tuning_trials N  --hparam_start_index I
#   --hparam_end_index J  --rng_seed S
# plus --resume_last_run true|false, --gpus N (PyTorch: torchrun processes; default all GPUs)
# and --dry-run (print the exact command, run nothing).
#
# Official workloads run the harness's submission_runner.py in $ALGOPERF_DIR with data from
# $SFADAMW_DATA_DIR/<dataset> (ImageNet: imagenet/<framework>); embedded workloads run
# `sfadamw run`. Results go to $SFADAMW_EXPERIMENT_DIR, logs to $SFADAMW_LOG_DIR.
# Defaults: /algorithmic-efficiency, /data, /experiment_runs, /logs. Bad input: one line, exit 2.
set -euo pipefail

SFADAMW_ROOT=${SFADAMW_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
export SFADAMW_ROOT
PYTHON=${PYTHON:-python3}
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "run_workload.sh: error: no Python interpreter '$PYTHON'; set PYTHON" >&2
  exit 2
fi
# The package from this checkout when it is not installed (a plain clone).
if ! "$PYTHON" -c "import sfadamw" >/dev/null 2>&1; then
  export PYTHONPATH="$SFADAMW_ROOT/src${PYTHONPATH:+:$PYTHONPATH}"
fi
exec "$PYTHON" -m sfadamw.suite.launch "$@"
