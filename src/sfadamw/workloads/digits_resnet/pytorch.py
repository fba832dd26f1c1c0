"""digits_resnet in PyTorch: a small BatchNorm ResNet on 16x16 digits.

Model (He et al. 2016, "Deep residual learning", CIFAR-style basic blocks):
a 3x3 stem conv to 16 channels + BN + ReLU, then three stages of one basic
block each (16, 32, 64 channels; strides 1, 2, 2; a 1x1 conv + BN shortcut
where the shape changes), global average pooling and a linear head to 10
logits. Inputs are NHWC ``(N, 16, 16, 1)`` (the JAX layout; the model
transposes), the same arrays the JAX workload gets. 77,754 parameters.

Targets and budget: see :mod:`sfadamw.workloads.digits_resnet.settings`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from sfadamw import spec
from sfadamw.workloads.digits_resnet import data, settings
from sfadamw.workloads.torch_base import TorchWorkload, masked_sum, softmax_cross_entropy


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self, widths=settings.WIDTHS, num_classes: int = data.NUM_CLASSES) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(1, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU()
        )
        blocks, cin = [], widths[0]
        for i, width in enumerate(widths):
            blocks.append(BasicBlock(cin, width, 1 if i == 0 else 2))
            cin = width
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(cin, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.stem(x.permute(0, 3, 1, 2)))
        return self.head(x.mean(dim=(2, 3)))


class DigitsImageWorkload(TorchWorkload):
    """Data, loss and metrics of the digits classification workloads (PyTorch)."""

    target_metric_name = "accuracy"
    loss_type = spec.LossType.SOFTMAX_CROSS_ENTROPY
    num_train_examples = data._SPLIT_SIZES["train"]
    num_eval_train_examples = data.NUM_EVAL_TRAIN
    num_validation_examples = data._SPLIT_SIZES["validation"]
    num_test_examples = data._SPLIT_SIZES["test"]
    eval_batch_size = 300

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


class DigitsResNetWorkload(DigitsImageWorkload):
    name = "digits_resnet"
    algoperf_analog = "imagenet_resnet"
    validation_target_value = settings.VALIDATION_TARGET
    test_target_value = settings.TEST_TARGET
    max_allowed_runtime_sec = settings.BUDGET_SEC
    eval_period_time_sec = settings.EVAL_PERIOD_SEC
    step_hint = settings.STEP_HINT

    def _build_model(self) -> nn.Module:
        return ResNet()
