"""Shared JAX (flax.linen) side of the embedded workloads (harness semantics).

A ``JaxWorkload`` subclass supplies the flax module (``_build_model``), a
dummy input for initialisation, its data as numpy arrays per split, the numpy
metric sums of one eval batch and ``loss_fn``; this base does the rest the way
the AlgoPerf harness's JAX workloads do:

* ``init_model_fn(rng)`` returns ``(params, model_state)`` where ``params`` is
  the ``'params'`` collection and ``model_state`` the ``'batch_stats'``
  collection (an empty dict for models without BatchNorm).
* ``model_fn`` applies the module with ``train = mode == TRAIN``. As in the
  harness's JAX ResNets, BatchNorm normalises with batch statistics and
  returns the updated ``batch_stats`` only when ``update_batch_norm`` is true;
  otherwise it uses the running averages and ``model_state`` comes back
  unchanged. Dropout draws from ``rng`` in TRAIN mode.
* batches are numpy arrays (global batches; the caller shards them).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from sfadamw import spec
from sfadamw.workloads import arrays
from sfadamw.workloads.base import Workload


class ShapeTuple:
    """A parameter's shape as one pytree leaf (the harness's ``spec.ShapeTuple``)."""

    def __init__(self, shape_tuple: tuple[int, ...]) -> None:
        self.shape_tuple = tuple(shape_tuple)

    def __repr__(self) -> str:
        return f"ShapeTuple({self.shape_tuple})"

    def __eq__(self, other) -> bool:
        return getattr(other, "shape_tuple", None) == self.shape_tuple


def parameter_types(params) -> Any:
    """A pytree like ``params`` of ``spec.ParameterType``, read from flax module names.

    ``Conv*/kernel`` is CONV_WEIGHT, ``BatchNorm*`` scale/bias BATCH_NORM_*,
    ``LayerNorm*`` LAYER_NORM_*, ``Embed*/embedding`` EMBEDDING, ``bias`` BIAS,
    other kernels WEIGHT.
    """

    def kind(path, _):
        names = [getattr(p, "key", str(p)) for p in path]
        module, leaf = (names[-2] if len(names) > 1 else ""), names[-1]
        if module.startswith("BatchNorm") or module.startswith("bn"):
            return (
                spec.ParameterType.BATCH_NORM_SCALE
                if leaf == "scale"
                else spec.ParameterType.BATCH_NORM_BIAS
            )
        if module.startswith("LayerNorm"):
            return (
                spec.ParameterType.LAYER_NORM_SCALE
                if leaf == "scale"
                else spec.ParameterType.LAYER_NORM_BIAS
            )
        if leaf == "embedding":
            return spec.ParameterType.EMBEDDING
        if leaf == "bias":
            return spec.ParameterType.BIAS
        if module.startswith("Conv") or module.startswith("conv"):
            return spec.ParameterType.CONV_WEIGHT
        return spec.ParameterType.WEIGHT

    return jax.tree_util.tree_map_with_path(kind, params)


def softmax_cross_entropy(targets, logits, label_smoothing: float = 0.0):
    """Per-example ``-sum_c q_c log softmax(logits)_c`` with ``q = (1-ls) onehot + ls/C``."""
    num_classes = logits.shape[-1]
    q = optax.smooth_labels(jax.nn.one_hot(targets, num_classes), label_smoothing)
    return -(q * jax.nn.log_softmax(logits, axis=-1)).sum(axis=-1)


def masked_sum(per_example, mask_batch):
    """The harness's loss dict from per-example losses and an optional 0/1 mask."""
    if mask_batch is not None:
        per_example = per_example * mask_batch
        n_valid = mask_batch.sum()
    else:
        n_valid = jnp.asarray(per_example.shape[0], per_example.dtype)
    return {"summed": per_example.sum(), "n_valid_examples": n_valid, "per_example": per_example}


class JaxWorkload(Workload):
    """Base of the embedded JAX workloads (see the module docstring)."""

    framework = "jax"
    _output_module = "head"

    def __init__(self) -> None:
        super().__init__()
        self._model = self._build_model()
        self._eval_logits = jax.jit(self._eval_forward)

    @abc.abstractmethod
    def _build_model(self) -> nn.Module:
        """The flax module."""

    @abc.abstractmethod
    def _dummy_inputs(self) -> np.ndarray:
        """An input batch of the right shape and dtype, for ``init``."""

    @abc.abstractmethod
    def _split_arrays(self, split: str) -> Mapping[str, np.ndarray]:
        """The numpy arrays (``inputs``, ``targets``) of ``split``."""

    @abc.abstractmethod
    def _metric_sums(self, logits: np.ndarray, batch: Mapping[str, np.ndarray]) -> dict:
        """Metric values summed over the batch's valid examples (``weights`` > 0)."""

    def _augment(self, batch: arrays.Batch, rng: np.random.Generator) -> arrays.Batch:
        del rng
        return batch

    # --- model -----------------------------------------------------------------
    def init_model_fn(self, rng, dropout_rate: float | None = None, aux_dropout_rate=None):
        del dropout_rate, aux_dropout_rate
        variables = self._model.init(
            {"params": rng}, jnp.asarray(self._dummy_inputs()), train=False
        )
        params = variables["params"]
        model_state = variables.get("batch_stats", {})
        self._param_shapes = jax.tree.map(lambda p: ShapeTuple(p.shape), params)
        self._param_types = parameter_types(params)
        return params, model_state

    def is_output_params(self, param_key) -> bool:
        names = [getattr(p, "key", str(p)) for p in param_key]
        return bool(names) and names[0] == self._output_module

    def model_fn(
        self,
        params,
        augmented_and_preprocessed_input_batch: dict[str, Any],
        model_state,
        mode,
        rng,
        update_batch_norm: bool,
        dropout_rate: float | None = None,
    ):
        del dropout_rate
        train = mode == spec.ForwardPassMode.TRAIN
        variables = {"params": params}
        if model_state:
            variables["batch_stats"] = model_state
        rngs = {"dropout": rng} if train and rng is not None else None
        inputs = augmented_and_preprocessed_input_batch["inputs"]
        if update_batch_norm and model_state:
            logits, new_state = self._model.apply(
                variables,
                inputs,
                train=train,
                update_batch_norm=True,
                mutable=["batch_stats"],
                rngs=rngs,
            )
            return logits, new_state["batch_stats"]
        logits = self._model.apply(
            variables, inputs, train=train, update_batch_norm=False, rngs=rngs
        )
        return logits, model_state

    def _eval_forward(self, params, model_state, inputs):
        logits, _ = self.model_fn(
            params, {"inputs": inputs}, model_state, spec.ForwardPassMode.EVAL, None, False
        )
        return logits

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
    ):
        del data_dir, cache
        data = self._split_arrays(split)
        if split == "train":
            batches = arrays.train_batches(
                data, global_batch_size, arrays.seed_from_rng(data_rng), self._augment
            )
        else:
            batches = arrays.eval_batches(data, global_batch_size)
            if repeat_final_dataset:
                batches = _cycle(data, global_batch_size)
        for i, batch in enumerate(batches):
            if num_batches is not None and i >= num_batches:
                return
            yield batch

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
            logits = np.asarray(self._eval_logits(params, model_state, batch["inputs"]))
            for k, v in self._metric_sums(logits, batch).items():
                totals[k] = totals.get(k, 0.0) + float(v)
            count += float(batch["weights"].sum())
        return {k: v / count for k, v in totals.items()}


def _cycle(data, batch_size):
    while True:
        yield from arrays.eval_batches(data, batch_size)
