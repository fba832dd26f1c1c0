"""BatchNorm running statistics at the evaluation point x.

Training forwards run at y, so BatchNorm running statistics collected during
training describe y, not x, the point that is evaluated (the AlgoPerf v0.5
entry's ResNet-50 never reached its target for this reason). schedulefree's
README advises recomputing them at x from a few training batches; this does
that: reset the statistics, then average them exactly (``momentum=None``, a
cumulative average) over the given batches with the model in train mode.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn


def batchnorm_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """The BatchNorm layers of ``model`` that track running statistics."""
    return [
        m
        for m in model.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
    ]


@torch.no_grad()
def recompute_batchnorm_stats(
    model: nn.Module,
    batches: Iterable[Any],
    forward: Callable[[nn.Module, Any], Any] | None = None,
) -> int:
    """Recompute BatchNorm running mean/var of ``model`` at its current parameters.

    Call it with the parameters holding x (``optimizer.eval()`` first). ``forward``
    runs one batch (default ``model(batch)``). The statistics become the exact
    average over the batches; the modules' momentum and train/eval flags are
    restored. Returns the number of batches used (0 if the model has no BatchNorm).

    The AlgoPerf harness's ``model_fn(update_batch_norm=True)`` restores each
    layer's ``momentum`` from a ``momentum_backup`` attribute when it has one;
    that backup is set to ``None`` too for the duration, and restored.
    """
    layers = batchnorm_layers(model)
    if not layers:
        return 0
    forward = forward or (lambda m, b: m(b))
    momenta = [m.momentum for m in layers]
    backups = {m: m.momentum_backup for m in layers if hasattr(m, "momentum_backup")}
    training = {m: m.training for m in model.modules()}
    for m in layers:
        m.reset_running_stats()
        m.momentum = None
        if m in backups:
            m.momentum_backup = None
    model.train()
    count = 0
    try:
        for batch in batches:
            forward(model, batch)
            count += 1
    finally:
        for m, momentum in zip(layers, momenta, strict=True):
            m.momentum = momentum
        for m, backup in backups.items():
            m.momentum_backup = backup
        for m, flag in training.items():
            m.train(flag)
    return count
