"""digits_resnet in JAX (flax.linen): the same ResNet and data as the PyTorch one.

Architecture as in :mod:`sfadamw.workloads.digits_resnet.pytorch` (stem conv
16 + BN + ReLU; basic blocks of 16, 32, 64 channels with strides 1, 2, 2;
global average pool; dense head), NHWC; BatchNorm momentum 0.9 and epsilon
1e-5 (PyTorch's 0.1/1e-5), He-normal (fan_out) conv kernels. The statistics
live in ``model_state`` (flax's ``batch_stats``). Data, loss and metrics are
shared with the PyTorch workload (:mod:`sfadamw.workloads.digits_resnet.data`).
"""

from __future__ import annotations

import functools

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from sfadamw import spec
from sfadamw.workloads.digits_resnet import data, settings
from sfadamw.workloads.jax_base import JaxWorkload, masked_sum, softmax_cross_entropy

_conv_init = nn.initializers.variance_scaling(2.0, "fan_out", "normal")


class BasicBlock(nn.Module):
    features: int
    strides: int

    @nn.compact
    def __call__(self, x, update_batch_norm: bool):
        norm = functools.partial(
            nn.BatchNorm, use_running_average=not update_batch_norm, momentum=0.9, epsilon=1e-5
        )
        conv = functools.partial(nn.Conv, use_bias=False, kernel_init=_conv_init)
        y = conv(self.features, (3, 3), self.strides, padding=1)(x)
        y = nn.relu(norm()(y))
        y = norm()(conv(self.features, (3, 3), padding=1)(y))
        if self.strides != 1 or x.shape[-1] != self.features:
            x = norm()(conv(self.features, (1, 1), self.strides)(x))
        return nn.relu(x + y)


class ResNet(nn.Module):
    widths: tuple[int, ...] = settings.WIDTHS
    num_classes: int = data.NUM_CLASSES

    @nn.compact
    def __call__(self, x, train: bool = False, update_batch_norm: bool = False):
        del train  # no dropout; BatchNorm follows update_batch_norm (harness semantics)
        x = nn.Conv(self.widths[0], (3, 3), padding=1, use_bias=False, kernel_init=_conv_init)(x)
        x = nn.relu(
            nn.BatchNorm(use_running_average=not update_batch_norm, momentum=0.9, epsilon=1e-5)(x)
        )
        for i, width in enumerate(self.widths):
            x = BasicBlock(width, 1 if i == 0 else 2)(x, update_batch_norm)
        return nn.Dense(self.num_classes, name="head")(jnp.mean(x, axis=(1, 2)))


class DigitsResNetWorkload(JaxWorkload):
    name = "digits_resnet"
    algoperf_analog = "imagenet_resnet"
    target_metric_name = "accuracy"
    loss_type = spec.LossType.SOFTMAX_CROSS_ENTROPY
    validation_target_value = settings.VALIDATION_TARGET
    test_target_value = settings.TEST_TARGET
    max_allowed_runtime_sec = settings.BUDGET_SEC
    eval_period_time_sec = settings.EVAL_PERIOD_SEC
    step_hint = settings.STEP_HINT
    num_train_examples = data._SPLIT_SIZES["train"]
    num_eval_train_examples = data.NUM_EVAL_TRAIN
    num_validation_examples = data._SPLIT_SIZES["validation"]
    num_test_examples = data._SPLIT_SIZES["test"]
    eval_batch_size = 300

    def _build_model(self) -> nn.Module:
        return ResNet()

    def _dummy_inputs(self) -> np.ndarray:
        return np.zeros((1, data.IMAGE_SIZE, data.IMAGE_SIZE, 1), np.float32)

    def _split_arrays(self, split: str):
        return data.split_arrays(split)

    def _augment(self, batch, rng: np.random.Generator):
        return data.augment(batch, rng)

    def _metric_sums(self, logits, batch):
        return data.metric_sums(logits, batch)

    def loss_fn(self, label_batch, logits_batch, mask_batch=None, label_smoothing: float = 0.0):
        return masked_sum(
            softmax_cross_entropy(label_batch, logits_batch, label_smoothing), mask_batch
        )
