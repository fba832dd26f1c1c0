#!/usr/bin/env bash
# Check our AlgoPerf submissions against the real harness (mlcommons/algorithmic-efficiency).
#
# Clones the harness at a pinned commit into a scratch folder, creates a scratch
# virtual environment there, installs the harness with its CPU extras and this
# package (without dependencies, so the harness's pins stay), then, for every
# chosen workload x framework x ruleset, runs
#   1. the harness's own fake-data test (tests/reference_algorithm_tests.py: one
#      update_params on random batches and two evals, tiny global batch), and
#   2. scripts/conformance_driver.py (the same fake-data workload, but called the
#      way submission_runner.py calls a submission: hyperparameters None for
#      self-tuning, a read-only train_state, prepare_for_eval before each eval,
#      training resumed from what prepare_for_eval returned),
# and prints a PASS/FAIL table. With --exported DIR it checks the folders that
# `sfadamw export --output_dir DIR` wrote (DIR/submissions/<ruleset>_tuning/
# sfadamw_<framework>/) instead, in a venv where sfadamw is NOT installed, as the
# working group runs them. Needs internet (GitHub, PyPI, the PyTorch CPU
# index), python3.11 and about 12 GB of memory for criteo1tb (run last).
# Nothing is written inside this repository.
set -euo pipefail

HARNESS_URL="https://github.com/mlcommons/algorithmic-efficiency.git"
HARNESS_COMMIT="2c90454fc05d5bdf3598b0c7651e611f132a7060" # main, 2025-09-05
TORCH_CPU_INDEX="https://download.pytorch.org/whl/cpu"
ALL_WORKLOADS="fastmri,imagenet_resnet,imagenet_vit,librispeech_conformer,librispeech_deepspeech,ogbg,wmt,criteo1tb"
SUBMISSION="schedule_free_adamw"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() {
  cat <<EOF
Usage: scripts/check_conformance.sh [options]

Runs the AlgoPerf harness's fake-data test and our prepare_for_eval driver on
submissions/<ruleset>_tuning/${SUBMISSION}/<framework>/submission.py against
mlcommons/algorithmic-efficiency at ${HARNESS_COMMIT}.

Options:
  --framework F          pytorch, jax or both (default: both)
  --ruleset R            self, external or both (default: both)
  --workloads W1,W2,...  base workloads (default: all 8: ${ALL_WORKLOADS})
  --workdir DIR          scratch folder for the clone, the venv and the logs
                         (default: a new folder from mktemp -d)
  --keep                 keep the scratch folder (default: delete it when done,
                         unless --workdir named a folder that already existed)
  --harness-dir DIR      use this harness checkout instead of cloning
  --venv DIR             use this virtual environment (harness and sfadamw
                         already installed) instead of creating one
  --exported DIR         check the self-contained folders that
                         'sfadamw export --output_dir DIR' wrote
                         (DIR/submissions/<ruleset>_tuning/sfadamw_<framework>/)
                         instead of this repository's submissions; sfadamw is
                         then not installed (and must not be, with --venv)
  --no-torch-compile     PyTorch: the driver does not torch.compile the model
                         and loss (by default it does where submission_runner.py
                         does, as with its default --torch_compile; the
                         harness's fake-data test never compiles)
  --global-batch-size N  global batch of the fake batches (default: 2)
  --timeout S            limit per check in seconds (default: 3600)
  --dry-run              print the commands, run nothing
  -h, --help             this help
Exit status: 0 when every check passes, 1 when one fails, 2 on bad usage.
EOF
}

die() {
  echo "check_conformance.sh: $*" >&2
  exit 2
}

framework="both"
ruleset="both"
workload_list="$ALL_WORKLOADS"
workdir=""
keep=0
harness_dir=""
venv=""
exported=""
batch=2
torch_compile=1
timeout_s=3600
dry_run=0

while [[ $# -gt 0 ]]; do
  case "$1" in
  --framework) framework="${2:?--framework needs a value}"; shift 2 ;;
  --ruleset) ruleset="${2:?--ruleset needs a value}"; shift 2 ;;
  --workloads) workload_list="${2:?--workloads needs a value}"; shift 2 ;;
  --workdir) workdir="${2:?--workdir needs a value}"; shift 2 ;;
  --keep) keep=1; shift ;;
  --harness-dir) harness_dir="${2:?--harness-dir needs a value}"; shift 2 ;;
  --venv) venv="${2:?--venv needs a value}"; shift 2 ;;
  --exported) exported="${2:?--exported needs a value}"; shift 2 ;;
  --no-torch-compile) torch_compile=0; shift ;;
  --global-batch-size) batch="${2:?--global-batch-size needs a value}"; shift 2 ;;
  --timeout) timeout_s="${2:?--timeout needs a value}"; shift 2 ;;
  --dry-run) dry_run=1; shift ;;
  -h | --help) usage; exit 0 ;;
  *) die "unknown option '$1' (see --help)" ;;
  esac
done

case "$framework" in
pytorch | jax) frameworks=("$framework") ;;
both) frameworks=(pytorch jax) ;;
*) die "--framework must be pytorch, jax or both, not '$framework'" ;;
esac
case "$ruleset" in
self | external) rulesets=("$ruleset") ;;
both) rulesets=(self external) ;;
*) die "--ruleset must be self, external or both, not '$ruleset'" ;;
esac
[[ "$batch" =~ ^[1-9][0-9]*$ ]] || die "--global-batch-size must be a positive integer, not '$batch'"
[[ "$timeout_s" =~ ^[1-9][0-9]*$ ]] || die "--timeout must be a positive integer, not '$timeout_s'"

IFS=',' read -r -a requested <<<"$workload_list"
workloads=()
for w in "${requested[@]}"; do
  [[ ",$ALL_WORKLOADS," == *",$w,"* ]] || die "unknown workload '$w' (choose from $ALL_WORKLOADS)"
done
# criteo1tb (about 12 GB) runs last, alone.
for w in "${requested[@]}"; do [[ "$w" == criteo1tb ]] || workloads+=("$w"); done
for w in "${requested[@]}"; do [[ "$w" != criteo1tb ]] || workloads+=("$w"); done

# Where the submissions are imported from (put on PYTHONPATH) and each one's path
# below it, as the harness's --submission_path wants it.
if [[ -n "$exported" ]]; then
  [[ -d "$exported/submissions" ]] || die "--exported $exported has no submissions/ folder (write it with: sfadamw export --output_dir $exported ...)"
  subs_root="$(cd "$exported" && pwd)"
else
  subs_root="$REPO_ROOT"
fi
submission_dir() { # RULESET FRAMEWORK
  if [[ -n "$exported" ]]; then
    echo "submissions/$1_tuning/sfadamw_$2"
  else
    echo "submissions/$1_tuning/$SUBMISSION/$2"
  fi
}
for rs in "${rulesets[@]}"; do
  for fw in "${frameworks[@]}"; do
    f="$subs_root/$(submission_dir "$rs" "$fw")/submission.py"
    [[ -f "$f" ]] || die "no submission at $f"
  done
done

created_workdir=0
if [[ -n "$workdir" ]]; then
  workdir="$(realpath -m -- "$workdir")"
  case "$workdir/" in
  "$REPO_ROOT"/*) die "--workdir must be outside the repository ($REPO_ROOT)" ;;
  esac
  if [[ ! -e "$workdir" ]]; then
    [[ $dry_run -eq 1 ]] || mkdir -p -- "$workdir"
    created_workdir=1
  fi
elif [[ $dry_run -eq 1 ]]; then
  workdir="/tmp/sfadamw-conformance.XXXXXX"
else
  workdir="$(mktemp -d -t sfadamw-conformance.XXXXXX)"
  created_workdir=1
fi
if [[ -n "$harness_dir" ]]; then
  [[ -d "$harness_dir" ]] || die "--harness-dir $harness_dir is not a folder"
  harness_dir="$(cd "$harness_dir" && pwd)"
else
  harness_dir="$workdir/algorithmic-efficiency"
fi
if [[ -n "$venv" ]]; then
  [[ -x "$venv/bin/python" ]] || die "--venv $venv has no bin/python"
  venv="$(cd "$venv" && pwd)"
  if [[ -n "$exported" && $dry_run -eq 0 ]] && "$venv/bin/python" -c "import sfadamw" 2>/dev/null; then
    die "--venv $venv has sfadamw installed: exported folders must run without it (use another venv or: $venv/bin/python -m pip uninstall sfadamw)"
  fi
fi
[[ -n "$venv" ]] || venv_new=1
[[ -n "$venv" ]] || venv="$workdir/venv"
logdir="$workdir/logs"

failures=0
cleanup() {
  if [[ $dry_run -eq 0 && $keep -eq 0 && $created_workdir -eq 1 && $failures -eq 0 ]]; then
    rm -rf -- "$workdir"
  elif [[ $dry_run -eq 0 ]]; then
    echo "kept: $workdir"
  fi
}
trap cleanup EXIT

# run CMD...: print it, then run it unless --dry-run.
run() {
  printf '+'
  printf ' %q' "$@"
  printf '\n'
  [[ $dry_run -eq 1 ]] || "$@"
}

if [[ ! -d "$harness_dir/.git" && ! -f "$harness_dir/submission_runner.py" ]]; then
  run git clone --quiet "$HARNESS_URL" "$harness_dir"
  run git -C "$harness_dir" checkout --quiet --detach "$HARNESS_COMMIT"
fi
py="$venv/bin/python"
if [[ "${venv_new:-0}" -eq 1 && ! -x "$py" ]]; then
  run python3.11 -m venv "$venv"
  run "$py" -m pip install --quiet --upgrade pip
  # The harness's documented CPU install; the test imports both frameworks.
  run "$py" -m pip install --quiet -e "${harness_dir}[pytorch_cpu,jax_cpu,full]" \
    --extra-index-url "$TORCH_CPU_INDEX"
  # tensorflow-metadata >= 1.17 imports google.protobuf.runtime_version (protobuf 5)
  # while the harness pins protobuf 4.25.5: tensorflow_datasets.core then fails to
  # import and the imagenet workloads cannot load (seen with 1.21.0; 1.16.1 works).
  run "$py" -m pip install --quiet "tensorflow-metadata<1.17" "protobuf==4.25.5"
  # Our package without dependencies: the harness's pins must stay. Exported
  # folders carry their own copy and must run without it.
  [[ -n "$exported" ]] || run "$py" -m pip install --quiet --no-deps -e "$REPO_ROOT"
fi
run mkdir -p "$logdir"

declare -A result
# check NAME LOG CMD...: run CMD in the harness checkout with the submissions'
# root on PYTHONPATH (for submissions/), record PASS/FAIL under NAME.
check() {
  local name="$1" log="$2"
  shift 2
  printf '+ (cd %q && PYTHONPATH=%q' "$harness_dir" "$subs_root"
  printf ' %q' "$@"
  printf ' > %q 2>&1)\n' "$log"
  if [[ $dry_run -eq 1 ]]; then
    result[$name]="-"
    return
  fi
  local start=$SECONDS
  if (cd "$harness_dir" && PYTHONPATH="$subs_root" timeout "$timeout_s" "$@") >"$log" 2>&1; then
    result[$name]="PASS $((SECONDS - start))s"
  else
    result[$name]="FAIL $((SECONDS - start))s"
    failures=$((failures + 1))
    echo "  FAIL: $name (log: $log)"
  fi
}

for rs in "${rulesets[@]}"; do
  for fw in "${frameworks[@]}"; do
    sub="$(submission_dir "$rs" "$fw")/submission.py"
    if [[ "$rs" == self ]]; then
      space="None"
    elif [[ -n "$exported" ]]; then
      space="$subs_root/$(dirname "$sub")/tuning_search_space.json"
    else
      space="$REPO_ROOT/submissions/external_tuning/$SUBMISSION/tuning_search_space.json"
    fi
    for w in "${workloads[@]}"; do
      args=(--framework="$fw" --workload="$w" --global_batch_size="$batch"
        --submission_path="$sub" --tuning_search_space="$space")
      check "test/$w/$fw/$rs" "$logdir/test_${w}_${fw}_${rs}.log" \
        "$py" -m tests.reference_algorithm_tests "${args[@]}"
      driver_args=("${args[@]}")
      [[ $torch_compile -eq 1 || "$fw" != pytorch ]] || driver_args+=(--torch_compile=false)
      check "driver/$w/$fw/$rs" "$logdir/driver_${w}_${fw}_${rs}.log" \
        "$py" "$REPO_ROOT/scripts/conformance_driver.py" "${driver_args[@]}"
    done
  done
done

echo
echo "harness: $HARNESS_URL @ $(git -C "$harness_dir" rev-parse HEAD 2>/dev/null || echo "$HARNESS_COMMIT")"
echo "submissions: $subs_root/$(submission_dir '<ruleset>' '<framework>')"
printf '%-24s %-8s %-9s %-14s %-14s\n' workload framework ruleset "fake-data test" "driver+prep"
for rs in "${rulesets[@]}"; do
  for fw in "${frameworks[@]}"; do
    for w in "${workloads[@]}"; do
      printf '%-24s %-8s %-9s %-14s %-14s\n' "$w" "$fw" "$rs" \
        "${result[test/$w/$fw/$rs]}" "${result[driver/$w/$fw/$rs]}"
    done
  done
done
if [[ $failures -gt 0 ]]; then
  echo "$failures check(s) FAILED; logs in $logdir"
  exit 1
fi
[[ $dry_run -eq 1 ]] || echo "all checks passed"
