"""The workload protocol shared by the embedded runner and the submissions.

A workload exposes the members of the AlgoPerf harness's ``spec.Workload``
that submissions and runners use, with the same names and signatures, so a
submission module runs unchanged under the official harness and under
``sfadamw run``:

* targets and budget: ``target_metric_name``, ``validation_target_value``,
  ``test_target_value``, ``has_reached_validation_target``,
  ``has_reached_test_target``, ``max_allowed_runtime_sec``,
  ``eval_period_time_sec``, ``step_hint``;
* sizes: ``num_train_examples``, ``num_eval_train_examples``,
  ``num_validation_examples``, ``num_test_examples``, ``eval_batch_size``;
* the model: ``init_model_fn(rng)``, ``model_fn(params, batch, model_state,
  mode, rng, update_batch_norm, dropout_rate)``, ``loss_fn(label_batch,
  logits_batch, mask_batch=None, label_smoothing=0.0)`` returning
  ``{'summed', 'n_valid_examples', 'per_example'}``, ``loss_type``,
  ``param_shapes``, ``model_params_types``, ``is_output_params``;
* data and evaluation: ``_build_input_queue(data_rng, split, data_dir,
  global_batch_size, ...)`` yielding ``{'inputs', 'targets', 'weights'?}``
  dicts, and ``eval_model(global_batch_size, params, model_state, rng,
  data_dir, imagenet_v2_data_dir, global_step)`` returning metrics prefixed
  ``train/``, ``validation/`` and ``test/``.

Embedded workloads add ``name`` (their registry name), ``framework``
(``"pytorch"`` or ``"jax"``) and ``algoperf_analog`` (the AlgoPerf workload
family they stand for).
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

from sfadamw import spec

#: Metrics the AlgoPerf scorer minimises (everything else is maximised).
MINIMIZED_METRICS = ("loss", "wer", "ppl", "ctc_loss", "error_rate", "l1_loss", "ce_loss")


def metric_is_minimized(metric_name: str) -> bool:
    """Whether lower is better for ``metric_name`` (``validation/`` prefixes allowed)."""
    base = metric_name.rsplit("/", 1)[-1]
    return any(base == m or base.endswith(m) for m in MINIMIZED_METRICS)


class Workload(abc.ABC):
    """An AlgoPerf-protocol workload (see the module docstring)."""

    name: ClassVar[str]
    framework: ClassVar[str]
    algoperf_analog: ClassVar[str]

    target_metric_name: ClassVar[str]
    validation_target_value: ClassVar[float]
    test_target_value: ClassVar[float]
    loss_type: ClassVar[Any] = spec.LossType.SOFTMAX_CROSS_ENTROPY
    max_allowed_runtime_sec: ClassVar[float]
    eval_period_time_sec: ClassVar[float]
    step_hint: ClassVar[int]
    num_train_examples: ClassVar[int]
    num_eval_train_examples: ClassVar[int]
    num_validation_examples: ClassVar[int]
    num_test_examples: ClassVar[int]
    eval_batch_size: ClassVar[int] = 256
    train_mean: ClassVar[Any] = None
    train_stddev: ClassVar[Any] = None

    def __init__(self) -> None:
        self._param_shapes = None
        self._param_types = None
        self.metrics_logger = None

    # --- targets -------------------------------------------------------------------
    @property
    def target_metric_lower_is_better(self) -> bool:
        return metric_is_minimized(self.target_metric_name)

    def _reached(self, value: float, target: float) -> bool:
        if value != value:  # NaN never reaches a target
            return False
        return value <= target if self.target_metric_lower_is_better else value >= target

    def has_reached_validation_target(self, eval_result: dict[str, float]) -> bool:
        value = eval_result[f"validation/{self.target_metric_name}"]
        return self._reached(value, self.validation_target_value)

    def has_reached_test_target(self, eval_result: dict[str, float]) -> bool:
        value = eval_result[f"test/{self.target_metric_name}"]
        return self._reached(value, self.test_target_value)

    # --- parameters ----------------------------------------------------------------
    @property
    def param_shapes(self):
        if self._param_shapes is None:
            raise ValueError("param_shapes is set by init_model_fn; call it first")
        return self._param_shapes

    @property
    def model_params_types(self):
        if self._param_types is None:
            raise ValueError("model_params_types is set by init_model_fn; call it first")
        return self._param_types

    def attach_metrics_logger(self, metrics_logger) -> None:
        self.metrics_logger = metrics_logger

    # --- the members each workload implements -----------------------------------------
    @abc.abstractmethod
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
        """An iterator of batches of ``split`` ('train', 'eval_train', 'validation', 'test')."""

    @abc.abstractmethod
    def init_model_fn(self, rng) -> tuple[Any, Any]:
        """``(params, model_state)``; sets ``param_shapes`` and ``model_params_types``."""

    @abc.abstractmethod
    def is_output_params(self, param_key) -> bool:
        """Whether the parameter is in the output layer."""

    @abc.abstractmethod
    def model_fn(
        self,
        params,
        augmented_and_preprocessed_input_batch: dict[str, Any],
        model_state,
        mode,
        rng,
        update_batch_norm: bool,
        dropout_rate: float | None = None,
    ) -> tuple[Any, Any]:
        """``(logits_batch, new_model_state)``."""

    @abc.abstractmethod
    def loss_fn(self, label_batch, logits_batch, mask_batch=None, label_smoothing: float = 0.0):
        """``{'summed', 'n_valid_examples', 'per_example'}``."""

    @abc.abstractmethod
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
        """Metrics on one split, unprefixed (e.g. ``{'accuracy': .., 'loss': ..}``)."""

    def eval_model(
        self,
        global_batch_size: int,
        params,
        model_state,
        rng,
        data_dir: str | None,
        imagenet_v2_data_dir: str | None = None,
        global_step: int = 0,
    ) -> dict[str, float]:
        """Metrics on eval_train, validation and test, prefixed as the harness does."""
        del imagenet_v2_data_dir
        results: dict[str, float] = {}
        for prefix, split, n in (
            ("train", "eval_train", self.num_eval_train_examples),
            ("validation", "validation", self.num_validation_examples),
            ("test", "test", self.num_test_examples),
        ):
            metrics = self._eval_model_on_split(
                split, n, global_batch_size, params, model_state, rng, data_dir, global_step
            )
            results.update({f"{prefix}/{k}": float(v) for k, v in metrics.items()})
        return results
