"""Shared PyTorch side of the embedded workloads (harness semantics).

A ``TorchWorkload`` subclass supplies the model (``_build_model``), its data
as numpy arrays per split (``_split_arrays``), the numpy metric sums of one
eval batch (``_metric_sums``) and ``loss_fn``; this base does the rest the
way the AlgoPerf harness's PyTorch workloads do:

* ``init_model_fn(rng)`` seeds torch from ``rng``, builds the ``nn.Module``
  (the harness's ``ParameterContainer``) and returns ``(module, None)``;
  ``param_shapes``/``model_params_types`` are keyed by ``named_parameters()``.
* ``model_fn`` puts the module in train or eval mode per ``mode``; with
  ``update_batch_norm=False`` BatchNorm layers keep normalising with batch
  statistics in train mode but their running statistics stay unchanged (their
  momentum is set to 0 for the call, as the harness does); ``dropout_rate``,
  when given, sets every dropout module's probability. Gradients are enabled
  only in TRAIN mode.
* batches are the numpy batches of :mod:`sfadamw.workloads.arrays` as tensors;
  under ``torch.distributed`` each process gets its rows of every global train
  batch (as the harness shards batches over devices), while evaluation runs
  over the whole split in every process (identical results, no reduction).
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sfadamw import spec
from sfadamw.workloads import arrays
from sfadamw.workloads.base import Workload

_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
_LAYER_NORMS = (nn.LayerNorm, nn.GroupNorm, nn.InstanceNorm2d)
_DROPOUTS = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d)
_PARAM_TYPES: dict[tuple[type, ...], tuple[Any, Any]] = {
    (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d): (
        spec.ParameterType.CONV_WEIGHT,
        spec.ParameterType.BIAS,
    ),
    _BATCH_NORMS: (spec.ParameterType.BATCH_NORM_SCALE, spec.ParameterType.BATCH_NORM_BIAS),
    _LAYER_NORMS: (spec.ParameterType.LAYER_NORM_SCALE, spec.ParameterType.LAYER_NORM_BIAS),
    (nn.Embedding, nn.EmbeddingBag): (spec.ParameterType.EMBEDDING, None),
}


def parameter_types(module: nn.Module) -> dict[str, Any]:
    """``{name: spec.ParameterType}`` for every parameter of ``module``.

    Convolution kernels are CONV_WEIGHT, norm scales/shifts BATCH_NORM_* or
    LAYER_NORM_*, embedding tables EMBEDDING, biases BIAS, anything else
    (linear kernels, position embeddings, class tokens) WEIGHT.
    """
    types = {}
    for module_name, sub in module.named_modules():
        for param_name, _ in sub.named_parameters(recurse=False):
            full = f"{module_name}.{param_name}" if module_name else param_name
            kind = spec.ParameterType.BIAS if param_name == "bias" else spec.ParameterType.WEIGHT
            for classes, (weight_type, bias_type) in _PARAM_TYPES.items():
                if isinstance(sub, classes):
                    kind = weight_type if param_name == "weight" else (bias_type or kind)
            types[full] = kind
    return types


def masked_sum(per_example: torch.Tensor, mask_batch: torch.Tensor | None) -> dict[str, Any]:
    """The harness's loss dict from per-example losses and an optional 0/1 mask."""
    if mask_batch is not None:
        per_example = per_example * mask_batch
        n_valid = mask_batch.sum()
    else:
        n_valid = torch.tensor(float(per_example.shape[0]))
    return {"summed": per_example.sum(), "n_valid_examples": n_valid, "per_example": per_example}


def softmax_cross_entropy(
    targets: torch.Tensor, logits: torch.Tensor, label_smoothing: float = 0.0
) -> torch.Tensor:
    """Per-example ``-sum_c q_c log softmax(logits)_c`` with ``q = (1-ls) onehot + ls/C``."""
    num_classes = logits.shape[-1]
    q = F.one_hot(targets.long(), num_classes).to(logits.dtype)
    q = q * (1.0 - label_smoothing) + label_smoothing / num_classes
    return -(q * F.log_softmax(logits, dim=-1)).sum(dim=-1)


class TorchWorkload(Workload):
    """Base of the embedded PyTorch workloads (see the module docstring)."""

    framework = "pytorch"

    @abc.abstractmethod
    def _build_model(self) -> nn.Module:
        """A freshly initialised model (torch's global RNG is already seeded)."""

    @abc.abstractmethod
    def _split_arrays(self, split: str) -> Mapping[str, np.ndarray]:
        """The numpy arrays (``inputs``, ``targets``) of ``split``."""

    @abc.abstractmethod
    def _metric_sums(self, logits: np.ndarray, batch: Mapping[str, np.ndarray]) -> dict:
        """Metric values summed over the batch's valid examples (``weights`` > 0)."""

    def _augment(self, batch: arrays.Batch, rng: np.random.Generator) -> arrays.Batch:
        """Train-time augmentation (none by default)."""
        del rng
        return batch

    # --- model -----------------------------------------------------------------
    def init_model_fn(self, rng, dropout_rate: float | None = None, aux_dropout_rate=None):
        del aux_dropout_rate
        torch.manual_seed(arrays.seed_from_rng(rng))
        model = self._build_model()
        if dropout_rate is not None:
            _set_dropout(model, dropout_rate)
        self._param_shapes = {k: tuple(v.shape) for k, v in model.named_parameters()}
        self._param_types = parameter_types(model)
        return model, None

    def is_output_params(self, param_key: str) -> bool:
        return param_key.startswith(self._output_layer_prefix)

    _output_layer_prefix = "head."

    def model_fn(
        self,
        params: nn.Module,
        augmented_and_preprocessed_input_batch: dict[str, Any],
        model_state,
        mode,
        rng,
        update_batch_norm: bool,
        dropout_rate: float | None = None,
    ):
        del rng
        model = getattr(params, "module", params)  # a DDP wrapper's module
        train = mode == spec.ForwardPassMode.TRAIN
        model.train(train)
        if dropout_rate is not None:
            _set_dropout(model, dropout_rate)
        saved = _freeze_batch_norm(model) if train and not update_batch_norm else []
        try:
            with torch.set_grad_enabled(train):
                logits = params(augmented_and_preprocessed_input_batch["inputs"])
        finally:
            for bn, momentum in saved:
                bn.momentum = momentum
        return logits, model_state

    # --- data ------------------------------------------------------------------
    def _build_input_queue(
        self,
        data_rng,
        split: str,
        data_dir: str | None,
        global_batch_size: int,
        cache: bool | None = None,
        repeat_final_dataset: bool | None = None,
        num_batches: int | None = None,
    ) -> Iterator[dict[str, torch.Tensor]]:
        del data_dir, cache
        data = self._split_arrays(split)
        if split == "train":
            batches = arrays.train_batches(
                data, global_batch_size, arrays.seed_from_rng(data_rng), self._augment
            )
        else:
            batches = _repeat(
                lambda: arrays.eval_batches(data, global_batch_size), bool(repeat_final_dataset)
            )
        # Global batches: under torchrun the runner hands each rank its rows
        # (sfadamw.runner.distributed.shard_batch), for every workload alike.
        for i, batch in enumerate(batches):
            if num_batches is not None and i >= num_batches:
                return
            yield {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in batch.items()}

    def _eval_model_on_split(
        self,
        split: str,
        num_examples: int,
        global_batch_size: int,
        params,
        model_state,
        rng,
        data_dir: str | None,
        global_step: int = 0,
    ) -> dict[str, float]:
        del rng, data_dir, global_step
        data = {k: v[:num_examples] for k, v in self._split_arrays(split).items()}
        totals: dict[str, float] = {}
        count = 0.0
        for batch in arrays.eval_batches(data, global_batch_size):
            tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in batch.items()}
            logits, _ = self.model_fn(
                params, tensors, model_state, spec.ForwardPassMode.EVAL, None, False
            )
            sums = self._metric_sums(logits.detach().float().numpy(), batch)
            for k, v in sums.items():
                totals[k] = totals.get(k, 0.0) + float(v)
            count += float(batch["weights"].sum())
        return {k: v / count for k, v in totals.items()}



def _repeat(make, forever: bool):
    while True:
        yield from make()
        if not forever:
            return


def _set_dropout(model: nn.Module, rate: float) -> None:
    for sub in model.modules():
        if isinstance(sub, _DROPOUTS):
            sub.p = rate


def _freeze_batch_norm(model: nn.Module) -> list[tuple[nn.Module, float | None]]:
    """Set BatchNorm momenta to 0 (running stats unchanged); return them for restoring."""
    saved = []
    for sub in model.modules():
        if isinstance(sub, _BATCH_NORMS):
            saved.append((sub, sub.momentum))
            sub.momentum = 0.0
    return saved
