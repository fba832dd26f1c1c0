"""phantom_unet in PyTorch: a small U-Net reconstructing phantoms from k-space.

Model (Ronneberger et al. 2015, "U-Net", in the form of the fastMRI baseline
that AlgoPerf's fastmri workload uses): convolution blocks of two
(3x3 conv, InstanceNorm without affine, LeakyReLU 0.2, Dropout) layers; an
encoder of ``POOL_LAYERS`` levels (8, 16 channels) with 2x2 average pooling,
a bottleneck block (32), a decoder of 2x2 transposed convs (+ InstanceNorm,
LeakyReLU) whose outputs are concatenated with the encoder's and fed to a
block, and a final 1x1 conv to one channel. Inputs and outputs are ``(N, 32,
32)`` images. Dropout is 0 unless ``dropout_rate`` is given.

Loss: mean absolute error per image (``loss_type`` MEAN_ABSOLUTE_ERROR);
metric ``ssim``. Data: :mod:`sfadamw.workloads.phantom_unet.data`; targets
and budget: :mod:`sfadamw.workloads.phantom_unet.settings`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sfadamw import spec
from sfadamw.workloads.phantom_unet import data, settings
from sfadamw.workloads.torch_base import TorchWorkload, masked_sum


def _conv_block(cin: int, cout: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for c in (cin, cout):
        layers += [
            nn.Conv2d(c, cout, 3, padding=1, bias=False),
            nn.InstanceNorm2d(cout),
            nn.LeakyReLU(0.2),
            nn.Dropout2d(0.0),
        ]
    return nn.Sequential(*layers)


def _up_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(cin, cout, 2, stride=2, bias=False),
        nn.InstanceNorm2d(cout),
        nn.LeakyReLU(0.2),
    )


class UNet(nn.Module):
    def __init__(
        self, channels: int = settings.CHANNELS, pool_layers: int = settings.POOL_LAYERS
    ) -> None:
        super().__init__()
        widths = [channels * 2**i for i in range(pool_layers + 1)]
        self.down = nn.ModuleList(
            _conv_block(cin, cout) for cin, cout in zip([1] + widths[:-2], widths[:-1], strict=True)
        )
        self.bottleneck = _conv_block(widths[-2], widths[-1])
        self.up = nn.ModuleList(_up_block(w, w // 2) for w in reversed(widths[1:]))
        self.up_conv = nn.ModuleList(_conv_block(w, w // 2) for w in reversed(widths[1:]))
        self.head = nn.Conv2d(channels, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, None]
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = F.avg_pool2d(x, 2)
        x = self.bottleneck(x)
        for up, conv in zip(self.up, self.up_conv, strict=True):
            x = conv(torch.cat([up(x), skips.pop()], dim=1))
        return self.head(x)[:, 0]


class PhantomUNetWorkload(TorchWorkload):
    name = "phantom_unet"
    algoperf_analog = "fastmri"
    target_metric_name = "ssim"
    loss_type = spec.LossType.MEAN_ABSOLUTE_ERROR
    validation_target_value = settings.VALIDATION_TARGET
    test_target_value = settings.TEST_TARGET
    max_allowed_runtime_sec = settings.BUDGET_SEC
    eval_period_time_sec = settings.EVAL_PERIOD_SEC
    step_hint = settings.STEP_HINT
    num_train_examples = data.SPLIT_SIZES["train"]
    num_eval_train_examples = data.NUM_EVAL_TRAIN
    num_validation_examples = data.SPLIT_SIZES["validation"]
    num_test_examples = data.SPLIT_SIZES["test"]
    eval_batch_size = 256

    def _build_model(self) -> nn.Module:
        return UNet()

    def _split_arrays(self, split: str):
        return data.split_arrays(split)

    def _metric_sums(self, logits, batch):
        return data.metric_sums(logits, batch)

    def loss_fn(self, label_batch, logits_batch, mask_batch=None, label_smoothing: float = 0.0):
        """Per-image mean ``|output - target|`` (label smoothing does not apply)."""
        del label_smoothing
        per_example = (logits_batch - label_batch).abs().mean(dim=(1, 2))
        return masked_sum(per_example, mask_batch)
