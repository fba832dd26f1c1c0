"""Tiny workloads for the runner tests (not registered in sfadamw.workloads).

Logistic regression on 8-d Gaussian inputs with labels from a planted linear
rule: a few hundred steps of SGD reach ~95% accuracy. Both frameworks see the
same numpy data. ``clock`` (a :class:`FakeClock`) and ``eval_cost`` let tests
control time: eval_model advances the clock by ``eval_cost``. The environment
variable ``SFADAMW_TEST_TARGET`` sets the validation target (for subprocesses).
"""

from __future__ import annotations

import os

import numpy as np

from sfadamw import spec
from sfadamw.workloads.base import Workload

DIM, CLASSES = 8, 2


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    w = np.random.default_rng(1234).normal(size=(DIM,))
    x = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return x, (x @ w > 0).astype(np.int64)


SPLITS = {"train": _data(512, 0), "eval_train": _data(128, 0), "validation": _data(128, 1),
          "test": _data(128, 2)}


def _seed(rng) -> int:
    return int(np.asarray(rng).astype(np.uint64).sum() % (2**31))


class _Tiny(Workload):
    name = "tiny"
    algoperf_analog = "mnist"
    target_metric_name = "accuracy"
    validation_target_value = float(os.environ.get("SFADAMW_TEST_TARGET", 0.9))
    test_target_value = 0.88
    max_allowed_runtime_sec = 1e6
    eval_period_time_sec = 0.0
    step_hint = 200
    num_train_examples = 512
    num_eval_train_examples = 128
    num_validation_examples = 128
    num_test_examples = 128
    eval_batch_size = 64

    def __init__(self) -> None:
        super().__init__()
        self.clock: FakeClock | None = None
        self.eval_cost = 0.0
        self.eval_calls: list[int] = []

    def _numpy_batches(self, data_rng, split, global_batch_size):
        x, y = SPLITS[split]
        if split == "train":
            rng = np.random.default_rng(_seed(data_rng))
            while True:
                order = rng.permutation(len(x))
                for i in range(0, len(x) - global_batch_size + 1, global_batch_size):
                    idx = order[i : i + global_batch_size]
                    yield {"inputs": x[idx], "targets": y[idx]}
        else:
            for i in range(0, len(x), global_batch_size):
                part = slice(i, i + global_batch_size)
                yield {"inputs": x[part], "targets": y[part]}

    def is_output_params(self, param_key) -> bool:
        return True

    def eval_model(self, global_batch_size, params, model_state, rng, data_dir,
                   imagenet_v2_data_dir=None, global_step=0):
        self.eval_calls.append(global_step)
        if self.clock is not None:
            self.clock.advance(self.eval_cost)
        return super().eval_model(global_batch_size, params, model_state, rng, data_dir,
                                  imagenet_v2_data_dir, global_step)


class TinyTorchWorkload(_Tiny):
    framework = "pytorch"

    def _build_input_queue(self, data_rng, split, data_dir, global_batch_size, cache=None,
                           repeat_final_dataset=None, num_batches=None):
        import torch

        for b in self._numpy_batches(data_rng, split, global_batch_size):
            yield {k: torch.from_numpy(v) for k, v in b.items()}

    def init_model_fn(self, rng):
        import torch

        torch.manual_seed(_seed(rng))
        model = torch.nn.Linear(DIM, CLASSES)
        self._param_shapes = {k: tuple(v.shape) for k, v in model.named_parameters()}
        self._param_types = {
            "weight": spec.ParameterType.WEIGHT, "bias": spec.ParameterType.BIAS
        }
        return model, None

    def model_fn(self, params, augmented_and_preprocessed_input_batch, model_state, mode, rng,
                 update_batch_norm, dropout_rate=None):
        import torch

        params.train(mode == spec.ForwardPassMode.TRAIN)
        with torch.set_grad_enabled(mode == spec.ForwardPassMode.TRAIN):
            return params(augmented_and_preprocessed_input_batch["inputs"]), model_state

    def loss_fn(self, label_batch, logits_batch, mask_batch=None, label_smoothing=0.0):
        import torch

        per_example = torch.nn.functional.cross_entropy(
            logits_batch, label_batch, reduction="none", label_smoothing=label_smoothing
        )
        if mask_batch is not None:
            per_example = per_example * mask_batch
            n = mask_batch.sum()
        else:
            n = torch.tensor(float(len(label_batch)))
        return {"summed": per_example.sum(), "n_valid_examples": n, "per_example": per_example}

    def _eval_model_on_split(self, split, num_examples, global_batch_size, params, model_state,
                             rng, data_dir, global_step=0):
        import torch

        correct = loss = 0.0
        for batch in self._build_input_queue(None, split, None, global_batch_size):
            logits, _ = self.model_fn(params, batch, None, spec.ForwardPassMode.EVAL, rng, False)
            correct += (logits.argmax(-1) == batch["targets"]).sum().item()
            loss += self.loss_fn(batch["targets"], logits)["summed"].item()
        del torch
        return {"accuracy": correct / num_examples, "loss": loss / num_examples}


class TinyJaxWorkload(_Tiny):
    framework = "jax"

    def _build_input_queue(self, data_rng, split, data_dir, global_batch_size, cache=None,
                           repeat_final_dataset=None, num_batches=None):
        return self._numpy_batches(data_rng, split, global_batch_size)

    def init_model_fn(self, rng):
        import jax
        import jax.numpy as jnp

        params = {"w": 0.1 * jax.random.normal(rng, (DIM, CLASSES)), "b": jnp.zeros(CLASSES)}
        self._param_shapes = jax.tree.map(lambda p: p.shape, params)
        self._param_types = {"w": spec.ParameterType.WEIGHT, "b": spec.ParameterType.BIAS}
        return params, None

    def model_fn(self, params, augmented_and_preprocessed_input_batch, model_state, mode, rng,
                 update_batch_norm, dropout_rate=None):
        x = augmented_and_preprocessed_input_batch["inputs"]
        return x @ params["w"] + params["b"], model_state

    def loss_fn(self, label_batch, logits_batch, mask_batch=None, label_smoothing=0.0):
        import jax
        import jax.numpy as jnp

        onehot = jax.nn.one_hot(label_batch, CLASSES)
        onehot = onehot * (1 - label_smoothing) + label_smoothing / CLASSES
        per_example = -(onehot * jax.nn.log_softmax(logits_batch)).sum(-1)
        mask = jnp.ones_like(per_example) if mask_batch is None else mask_batch
        return {"summed": (per_example * mask).sum(), "n_valid_examples": mask.sum(),
                "per_example": per_example * mask}

    def _eval_model_on_split(self, split, num_examples, global_batch_size, params, model_state,
                             rng, data_dir, global_step=0):
        correct = loss = 0.0
        for batch in self._build_input_queue(None, split, None, global_batch_size):
            logits, _ = self.model_fn(params, batch, None, spec.ForwardPassMode.EVAL, rng, False)
            correct += float((logits.argmax(-1) == batch["targets"]).sum())
            loss += float(self.loss_fn(batch["targets"], logits)["summed"])
        return {"accuracy": correct / num_examples, "loss": loss / num_examples}
