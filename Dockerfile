# syntax=docker/dockerfile:1
# The AlgoPerf harness with the Schedule-Free AdamW submission, for timed GPU runs.
#
#   docker build --build-arg FRAMEWORK=pytorch -t sfadamw:pytorch .
#   docker run --rm --gpus all --ipc=host \
#     -v "$DATA":/data -v "$PWD/experiment_runs":/experiment_runs -v "$PWD/logs":/logs \
#     sfadamw:pytorch -f pytorch -w ogbg -e my_run
#
# As the harness's own image: an NVIDIA CUDA 12 cuDNN devel base, Python 3.11, the harness
# cloned from its public repository at a pinned commit (ALGOPERF_REF) and installed with
# the GPU extra of FRAMEWORK plus the CPU build of the other framework and the workloads'
# extras ("full"). The entry point is scripts/run_workload.sh (see its header for flags).
ARG BASE_IMAGE=nvidia/cuda:12.9.0-cudnn-devel-ubuntu22.04
FROM ${BASE_IMAGE}

ARG FRAMEWORK=pytorch
# mlcommons/algorithmic-efficiency main, 2025-09-05 (v0.6 API, jax 0.7.0, torch 2.5.1).
ARG ALGOPERF_REF=2c90454fc05d5bdf3598b0c7651e611f132a7060
ARG ALGOPERF_URL=https://github.com/mlcommons/algorithmic-efficiency.git
ARG PYTHON_VERSION=3.11
ARG UID=1000

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV DEBIAN_FRONTEND=noninteractive \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1

# ffmpeg: LibriSpeech preprocessing; pigz/unzip/wget/curl: dataset_setup.py downloads.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates curl git wget unzip pigz ffmpeg libtcmalloc-minimal4 \
    && rm -rf /var/lib/apt/lists/*

# Python 3.11 (a standalone build installed by uv) in a virtual environment.
COPY --from=ghcr.io/astral-sh/uv:0.8.15 /uv /usr/local/bin/uv
ENV UV_PYTHON_INSTALL_DIR=/opt/python \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:${PATH}
RUN uv venv --seed --python "${PYTHON_VERSION}" /opt/venv \
    && python -m pip install --upgrade "pip>=25"

# The harness: GPU build of FRAMEWORK, CPU build of the other one (as its Dockerfile does).
RUN git clone "${ALGOPERF_URL}" /algorithmic-efficiency \
    && git -C /algorithmic-efficiency checkout "${ALGOPERF_REF}"
WORKDIR /algorithmic-efficiency
RUN case "${FRAMEWORK}" in \
      jax) \
        python -m pip install -e '.[pytorch_cpu,full]' \
            --extra-index-url https://download.pytorch.org/whl/cpu \
        && python -m pip install -e '.[jax_gpu]' ;; \
      pytorch) \
        python -m pip install -e '.[pytorch_gpu,jax_cpu,full]' ;; \
      *) echo "FRAMEWORK must be jax or pytorch, not '${FRAMEWORK}'" >&2; exit 1 ;; \
    esac

# Our package (the harness's framework pins stay: pip keeps satisfied requirements).
COPY . /opt/sfadamw
RUN python -m pip install '/opt/sfadamw[cluster]' \
    && python -m pip check

# A non-root user; data, results and logs are mount points it can write.
RUN useradd --create-home --uid "${UID}" --shell /bin/bash algoperf \
    && mkdir -p /data /experiment_runs /logs \
    && chown algoperf:algoperf /data /experiment_runs /logs \
    && chmod 0775 /data /experiment_runs /logs
ENV SFADAMW_ROOT=/opt/sfadamw \
    ALGOPERF_DIR=/algorithmic-efficiency \
    SFADAMW_DATA_DIR=/data \
    SFADAMW_EXPERIMENT_DIR=/experiment_runs \
    SFADAMW_LOG_DIR=/logs \
    PYTHON=python \
    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
USER ${UID}
VOLUME ["/data", "/experiment_runs", "/logs"]
ENTRYPOINT ["/opt/sfadamw/scripts/run_workload.sh"]
