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

CHECKOUT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SFADAMW_ROOT=${SFADAMW_ROOT:-$CHECKOUT}
export SFADAMW_ROOT
PYTHON=${PYTHON:-python3}
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "run_workload.sh: error: no Python interpreter '$PYTHON'; set PYTHON" >&2
  exit 2
fi
# The package of this checkout first (a plain clone need not install it).
if [[ -d "$CHECKOUT/src/sfadamw" ]]; then
  export PYTHONPATH="$CHECKOUT/src${PYTHONPATH:+:$PYTHONPATH}"
fi
exec "$PYTHON" -c 'import sys; from sfadamw.suite.launch import main; sys.exit(main())' "$@"
