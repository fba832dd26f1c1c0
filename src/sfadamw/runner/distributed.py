"""PyTorch data parallelism for the embedded runner (and for submissions).

Convention (as in the harness): DDP is on when ``LOCAL_RANK`` is set, i.e. the
run was started by ``torchrun --nproc_per_node=N``. On a CPU-only machine the
process group uses the gloo backend.

Batches: the workload's input queue is built with the GLOBAL batch size and
yields the same global batch on every rank (same ``data_rng``); the runner
hands each rank its contiguous slice ``[r * B / N, (r + 1) * B / N)`` of every
array (:func:`shard_batch`). The submission therefore sees per-rank batches,
as under the harness, and must all-reduce the summed loss and
``n_valid_examples`` before dividing. Decisions that depend on wall-clock time
(eval now? budget left?) are taken on rank 0 and broadcast (:func:`agree`),
so all ranks run the same number of steps. Every rank evaluates the full
eval splits (eval is untimed; the embedded workloads do not shard it). Only
rank 0 writes logs and checkpoints.
"""

from __future__ import annotations

import os
from typing import Any


def pytorch_setup() -> tuple[bool, int, Any, int]:
    """``(use_ddp, rank, device, n_gpus)`` like ``algoperf.pytorch_utils.pytorch_setup``.

    ``n_gpus`` is the number of data-parallel processes (1 without DDP).
    """
    import torch

    use_ddp = "LOCAL_RANK" in os.environ
    rank = int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", 0))) if use_ddp else 0
    if torch.cuda.is_available():
        device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}")
    else:
        device = torch.device("cpu")
    n = int(os.environ.get("WORLD_SIZE", 1)) if use_ddp else max(torch.cuda.device_count(), 1)
    return use_ddp, rank, device, n


def init_process_group() -> None:
    """Start the process group once (gloo on CPU, nccl on GPU)."""
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")


def shard_batch(batch: dict[str, Any], rank: int, world_size: int) -> dict[str, Any]:
    """This rank's contiguous slice of every array of a global batch."""
    if world_size == 1:
        return batch
    out = {}
    for key, value in batch.items():
        n = len(value)
        if n % world_size:
            raise ValueError(f"batch size {n} of {key!r} is not divisible by {world_size} ranks")
        size = n // world_size
        out[key] = value[rank * size : (rank + 1) * size]
    return out


def agree(values: list[float], use_ddp: bool) -> list[float]:
    """Rank 0's ``values`` on every rank (identity without DDP)."""
    if not use_ddp:
        return values
    import torch
    import torch.distributed as dist

    tensor = torch.tensor(values, dtype=torch.float64)
    dist.broadcast(tensor, src=0)
    return tensor.tolist()
