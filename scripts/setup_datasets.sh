#!/usr/bin/env bash
# Prepares the AlgoPerf datasets with the harness's datasets/dataset_setup.py, into the layout
# scripts/run_workload.sh reads: <data_dir>/<dataset> (ImageNet: <data_dir>/imagenet/<framework>).
#
#   scripts/setup_datasets.sh [--data_dir DIR] [--temp_dir DIR] [--framework pytorch|jax]
#                             [--criteo1tb] [--fastmri] [--imagenet] [--librispeech] [--ogbg]
#                             [--wmt] [--mnist] [--all] [--skip_download] [--dry-run]
#                             [--imagenet_train_url URL --imagenet_val_url URL]
#                             [--fastmri_knee_singlecoil_{train,val,test}_url URL]
#
# ImageNet and fastMRI are licensed: sign up for download URLs at https://image-net.org/
# and https://fastmri.med.nyu.edu/ and pass them (or pass --skip_download when the archives
# are already in --data_dir). ImageNet is prepared per framework (give --framework).
# The others (criteo1tb ~1.1 TB, librispeech ~390 GB with its tokenizer and preprocessing,
# ogbg, wmt, mnist) download from public mirrors. Temp files are kept (no prompt), under
# --temp_dir (default <data_dir>/tmp); delete them when done.
# $ALGOPERF_DIR is the harness checkout (default /algorithmic-efficiency); $SFADAMW_DATA_DIR the
# default data dir (default /data). Bad input: one line on stderr, exit 2.
set -euo pipefail

die() { echo "setup_datasets.sh: error: $*" >&2; exit 2; }

ALGOPERF_DIR=${ALGOPERF_DIR:-/algorithmic-efficiency}
PYTHON=${PYTHON:-python3}
DATA_DIR=${SFADAMW_DATA_DIR:-/data}
TEMP_DIR=""
FRAMEWORK=""
DRY_RUN=false
SKIP_DOWNLOAD=false
DATASETS=()
declare -A URLS=()

need_value() { [[ $# -ge 2 && -n "$2" && "$2" != --* ]] || die "$1 needs a value"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --data_dir) need_value "$@"; DATA_DIR=$2; shift ;;
    --temp_dir) need_value "$@"; TEMP_DIR=$2; shift ;;
    --framework)
      need_value "$@"
      [[ "$2" == pytorch || "$2" == jax ]] || die "--framework must be pytorch or jax, not '$2'"
      FRAMEWORK=$2; shift ;;
    --criteo1tb | --fastmri | --imagenet | --librispeech | --ogbg | --wmt | --mnist)
      DATASETS+=("${1#--}") ;;
    --all) DATASETS=(criteo1tb fastmri imagenet librispeech ogbg wmt mnist) ;;
    --imagenet_train_url | --imagenet_val_url | --fastmri_knee_singlecoil_train_url | \
    --fastmri_knee_singlecoil_val_url | --fastmri_knee_singlecoil_test_url)
      need_value "$@"; URLS[${1#--}]=$2; shift ;;
    --skip_download) SKIP_DOWNLOAD=true ;;
    --dry-run | --dry_run) DRY_RUN=true ;;
    -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown flag '$1' (see --help)" ;;
  esac
  shift
done

[[ ${#DATASETS[@]} -gt 0 ]] || die "name at least one dataset (--ogbg, --wmt, ..., or --all)"
TEMP_DIR=${TEMP_DIR:-$DATA_DIR/tmp}
for dir in "$DATA_DIR" "$TEMP_DIR"; do
  # dataset_setup.py refuses these characters; say so before it starts downloading.
  [[ "$dir" != *[\;\ \&\"]* ]] || die "path '$dir' contains one of ; space & \""
done

ARGS=("--data_dir=$DATA_DIR" "--temp_dir=$TEMP_DIR" "--interactive_deletion=false")
for dataset in "${DATASETS[@]}"; do
  ARGS+=("--$dataset")
  case "$dataset" in
    imagenet)
      [[ -n "$FRAMEWORK" ]] || die "--imagenet is prepared per framework: add --framework pytorch|jax"
      ARGS+=("--framework=$FRAMEWORK")
      if [[ $SKIP_DOWNLOAD == false ]]; then
        for key in imagenet_train_url imagenet_val_url; do
          [[ -n "${URLS[$key]:-}" ]] || die "ImageNet needs --$key (sign up at https://image-net.org/), or --skip_download"
        done
      fi ;;
    fastmri)
      if [[ $SKIP_DOWNLOAD == false ]]; then
        for split in train val test; do
          key=fastmri_knee_singlecoil_${split}_url
          [[ -n "${URLS[$key]:-}" ]] || die "fastMRI needs --$key (sign up at https://fastmri.med.nyu.edu/), or --skip_download"
        done
      fi ;;
  esac
done
if [[ ${#URLS[@]} -gt 0 ]]; then
  mapfile -t KEYS < <(printf '%s\n' "${!URLS[@]}" | sort)
  for key in "${KEYS[@]}"; do
    ARGS+=("--$key=${URLS[$key]}")
  done
fi
[[ $SKIP_DOWNLOAD == true ]] && ARGS+=("--skip_download")

COMMAND=("$PYTHON" datasets/dataset_setup.py "${ARGS[@]}")
if [[ $DRY_RUN == true ]]; then
  printf 'cd %q &&' "$ALGOPERF_DIR"
  printf ' %q' "${COMMAND[@]}"
  printf '\n'
  exit 0
fi
[[ -f "$ALGOPERF_DIR/datasets/dataset_setup.py" ]] \
  || die "no datasets/dataset_setup.py in $ALGOPERF_DIR; set ALGOPERF_DIR to the harness checkout"
mkdir -p "$DATA_DIR" "$TEMP_DIR"
cd "$ALGOPERF_DIR"
exec "${COMMAND[@]}"
