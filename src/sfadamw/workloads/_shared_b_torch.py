"""PyTorch pieces shared by motif_gnn, numbers_transformer, synth_conformer, pystdlib_gpt.

* :class:`TorchWorkloadB`: the harness semantics every PyTorch workload here
  shares. ``init_model_fn`` seeds torch from the rng, builds the module and
  records its parameter shapes and types; ``model_fn`` switches train/eval
  mode, sets every ``nn.Dropout`` to ``dropout_rate`` (the workload's default
  when None, as the harness's v0.6 ``model_fn`` does) and runs under
  ``torch.no_grad`` in EVAL mode; ``_build_input_queue`` yields torch batches
  of the workload's numpy dataset; ``_eval_model_on_split`` makes one pass over
  a split, averaging the loss and handing batches to the workload's metric.
* :func:`torch_param_types`: ``spec.ParameterType`` per parameter, from the
  module that owns it.
* :class:`MultiHeadAttention` (separate q/k/v/out projections, so their types
  are ATTENTION_Q/K/V/OUT) and :class:`FeedForward`.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sfadamw import spec
from sfadamw.workloads._shared_b import ArrayDataset, input_queue, seed_from_rng
from sfadamw.workloads.base import Workload

P = spec.ParameterType


def to_torch(tree: Any) -> Any:
    """Numpy arrays in dicts/tuples/lists -> torch tensors (other leaves unchanged)."""
    if isinstance(tree, dict):
        return {k: to_torch(v) for k, v in tree.items()}
    if isinstance(tree, tuple | list):
        return type(tree)(to_torch(v) for v in tree)
    if isinstance(tree, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(tree))
    return tree


class MultiHeadAttention(nn.Module):
    """Scaled dot-product attention (Vaswani et al. 2017) with separate projections.

    ``softmax(Q K^T / sqrt(d_head) + mask) V`` per head; ``mask`` is a boolean
    tensor broadcastable to ``(batch, heads, q_len, k_len)``, True = attend.
    """

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.q, self.k, self.v, self.out = (nn.Linear(dim, dim) for _ in range(4))

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        return x.view(b, t, self.num_heads, d // self.num_heads).transpose(1, 2)

    def project_kv(self, key_value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values, ``(batch, heads, k_len, d_head)`` each (cacheable for decoding)."""
        return self._heads(self.k(key_value)), self._heads(self.v(key_value))

    def attend(
        self,
        query: torch.Tensor,
        keys: torch.Tensor,
        values: torch.Tensor,
        mask: torch.Tensor | None = None,
        causal: bool = False,
    ) -> torch.Tensor:
        """Attention of ``query`` over projected ``keys``/``values`` (see ``project_kv``)."""
        y = F.scaled_dot_product_attention(
            self._heads(self.q(query)), keys, values, attn_mask=mask, is_causal=causal
        )
        b, h, t, dh = y.shape
        return self.out(y.transpose(1, 2).reshape(b, t, h * dh))

    def forward(
        self,
        query: torch.Tensor,
        key_value: torch.Tensor,
        mask: torch.Tensor | None = None,
        causal: bool = False,
    ) -> torch.Tensor:
        return self.attend(query, *self.project_kv(key_value), mask, causal)


class FeedForward(nn.Sequential):
    """``Linear(dim, hidden) -> activation -> Dropout -> Linear(hidden, dim)``."""

    def __init__(self, dim: int, hidden: int, activation: type[nn.Module] = nn.GELU):
        super().__init__(nn.Linear(dim, hidden), activation(), nn.Dropout(), nn.Linear(hidden, dim))


def torch_param_types(model: nn.Module) -> dict[str, spec.ParameterType]:
    """``{parameter name: spec.ParameterType}`` from the type of the owning module."""
    types: dict[str, spec.ParameterType] = {}
    for module_name, module in model.named_modules():
        for param_name, _ in module.named_parameters(recurse=False):
            name = f"{module_name}.{param_name}" if module_name else param_name
            types[name] = _param_type(model, module_name, module, param_name)
    return types


def _param_type(model: nn.Module, module_name: str, module: nn.Module, param: str):
    parent_name, _, child = module_name.rpartition(".")
    parent = model.get_submodule(parent_name) if module_name else None
    if isinstance(parent, MultiHeadAttention) and isinstance(module, nn.Linear):
        if param == "bias":
            return P.ATTENTION_BIAS
        return {"q": P.ATTENTION_Q, "k": P.ATTENTION_K, "v": P.ATTENTION_V, "out": P.ATTENTION_OUT}[
            child
        ]
    if isinstance(module, nn.LayerNorm):
        return P.LAYER_NORM_SCALE if param == "weight" else P.LAYER_NORM_BIAS
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return P.BATCH_NORM_SCALE if param == "weight" else P.BATCH_NORM_BIAS
    if isinstance(module, nn.Embedding):
        return P.EMBEDDING
    if param == "bias":
        return P.BIAS
    if isinstance(module, nn.modules.conv._ConvNd):
        return P.CONV_WEIGHT
    if isinstance(module, nn.Linear):
        return P.WEIGHT
    raise TypeError(f"no ParameterType rule for {module_name}.{param} ({type(module).__name__})")


class TorchWorkloadB(Workload):
    """Harness plumbing for the PyTorch workloads of this group (see module docstring).

    Subclasses define ``default_dropout_rate``, ``output_param_prefix`` (the
    name prefix of the output layer's parameters), ``_dataset(split)``,
    ``_build_model()``, ``_forward(model, batch)`` and the metric hooks
    ``_eval_batch`` / ``_eval_metrics``.
    """

    framework: ClassVar[str] = "pytorch"
    default_dropout_rate: ClassVar[float] = 0.0
    output_param_prefix: ClassVar[str]

    # --- workload-specific hooks ---------------------------------------------------
    @abc.abstractmethod
    def _dataset(self, split: str) -> ArrayDataset:
        """The numpy dataset of ``split`` (``'eval_train'`` reads the train set)."""

    @abc.abstractmethod
    def _build_model(self) -> nn.Module:
        """A freshly initialised model (torch's global RNG is already seeded)."""

    @abc.abstractmethod
    def _forward(self, model: nn.Module, batch: dict[str, Any]) -> Any:
        """The logits of ``batch`` (whatever ``loss_fn`` takes as ``logits_batch``)."""

    @abc.abstractmethod
    def _eval_batch(self, model: nn.Module, batch: dict[str, Any], logits: Any) -> dict[str, Any]:
        """Per-batch metric statistics: numbers are summed, lists concatenated."""

    @abc.abstractmethod
    def _eval_metrics(self, stats: dict[str, Any]) -> dict[str, float]:
        """The split's metrics (without 'loss') from the accumulated statistics."""

    # --- harness members -----------------------------------------------------------
    def _build_input_queue(
        self,
        data_rng,
        split: str,
        data_dir: str | None,
        global_batch_size: int,
        cache: bool | None = None,
        repeat_final_dataset: bool | None = None,
        num_batches: int | None = None,
        num_examples: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        del data_dir, cache, repeat_final_dataset
        if split == "eval_train" and num_examples is None:
            num_examples = self.num_eval_train_examples
        dataset = self._dataset(split)
        for batch in input_queue(
            dataset, split, seed_from_rng(data_rng), global_batch_size, num_examples, num_batches
        ):
            yield to_torch(batch)

    def init_model_fn(self, rng) -> tuple[nn.Module, None]:
        torch.manual_seed(seed_from_rng(rng))
        model = self._build_model()
        self._param_shapes = {n: tuple(p.shape) for n, p in model.named_parameters()}
        self._param_types = torch_param_types(model)
        return model, None

    def is_output_params(self, param_key: str) -> bool:
        return param_key.startswith(self.output_param_prefix)

    def model_fn(
        self,
        params: nn.Module,
        augmented_and_preprocessed_input_batch: dict[str, Any],
        model_state,
        mode,
        rng,
        update_batch_norm: bool,
        dropout_rate: float | None = None,
    ) -> tuple[Any, None]:
        del model_state, rng, update_batch_norm
        rate = self.default_dropout_rate if dropout_rate is None else float(dropout_rate)
        for module in params.modules():
            if isinstance(module, nn.Dropout):
                module.p = rate
        train = mode == spec.ForwardPassMode.TRAIN
        params.train(train)
        context = contextlib.nullcontext() if train else torch.no_grad()
        with context:
            logits = self._forward(params, augmented_and_preprocessed_input_batch)
        return logits, None

    def _eval_model_on_split(
        self,
        split: str,
        num_examples: int,
        global_batch_size: int,
        params: nn.Module,
        model_state,
        rng,
        data_dir: str | None,
        global_step: int = 0,
    ) -> dict[str, float]:
        del global_step
        loss_sum, loss_count = 0.0, 0.0
        stats: dict[str, Any] = {}
        for batch in self._build_input_queue(
            rng, split, data_dir, global_batch_size, num_examples=num_examples
        ):
            logits, _ = self.model_fn(
                params, batch, model_state, spec.ForwardPassMode.EVAL, rng, False
            )
            loss = self.loss_fn(batch["targets"], logits, batch.get("weights"))
            loss_sum += float(loss["summed"])
            loss_count += float(loss["n_valid_examples"])
            with torch.no_grad():
                for key, value in self._eval_batch(params, batch, logits).items():
                    if isinstance(value, list):
                        stats.setdefault(key, []).extend(value)
                    else:
                        stats[key] = stats.get(key, 0.0) + value
        metrics = self._eval_metrics(stats)
        metrics["loss"] = loss_sum / max(loss_count, 1.0)
        return metrics


def softmax_cross_entropy(
    targets: torch.Tensor,
    logits: torch.Tensor,
    weights: torch.Tensor | None,
    label_smoothing: float,
) -> dict[str, torch.Tensor]:
    """Token-level softmax cross-entropy with the harness's loss_fn return dict.

    ``per_example[i] = -sum_c q_c log softmax(logits_i)_c`` with the smoothed
    target ``q = (1 - ls) onehot(t_i) + ls / C`` (``torch.nn.functional.cross_entropy``'s
    label smoothing), times ``weights`` (padding = 0). ``summed`` is their sum and
    ``n_valid_examples`` the sum of the weights, as in the harness's wmt workload.
    """
    per_example = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]).float(),
        targets.reshape(-1).long(),
        reduction="none",
        label_smoothing=label_smoothing,
    ).view(targets.shape)
    if weights is None:
        weights = torch.ones_like(per_example)
    per_example = per_example * weights
    return {
        "summed": per_example.sum(),
        "n_valid_examples": weights.sum(),
        "per_example": per_example,
    }
