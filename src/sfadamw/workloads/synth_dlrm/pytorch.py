"""synth_dlrm in PyTorch: a small DLRM on planted synthetic click data.

Model (Naumov et al. 2019, "Deep learning recommendation model", as in
AlgoPerf's DLRM-small): one embedding table holding every categorical
feature's rows (offset per feature) of width 16; a bottom MLP 13 -> 64 -> 16
(ReLU) on the dense features; dot-product interactions between the 9 vectors
(bottom output and 8 embeddings; the 36 pairs above the diagonal)
concatenated with the bottom output; a top MLP 52 -> 64 -> 32 -> 1 (ReLU
between) giving one click logit per example, shape ``(N,)``. 36,001 parameters
(28,560 of them in the embedding table).

Loss: sigmoid cross-entropy (``loss_type`` SIGMOID_CROSS_ENTROPY) with label
smoothing ``y' = y (1 - ls) + ls / 2``; metric ``loss``: mean log-loss.
Data: :mod:`sfadamw.workloads.synth_dlrm.data`; targets and budget:
:mod:`sfadamw.workloads.synth_dlrm.settings`.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sfadamw import spec
from sfadamw.workloads.synth_dlrm import data, settings
from sfadamw.workloads.torch_base import TorchWorkload, masked_sum


def _mlp(sizes: tuple[int, ...], final_relu: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (cin, cout) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(cin, cout))
        if final_relu or i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class DLRM(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        d = settings.EMBED_DIM
        self.register_buffer(
            "offsets", torch.tensor(np.cumsum((0,) + data.VOCAB_SIZES[:-1])), persistent=False
        )
        self.embedding = nn.Embedding(sum(data.VOCAB_SIZES), d)
        nn.init.normal_(self.embedding.weight, 0.0, d**-0.5)
        self.bottom = _mlp((data.NUM_DENSE,) + settings.BOTTOM_MLP, final_relu=True)
        vectors = len(data.VOCAB_SIZES) + 1
        self.register_buffer("pairs", torch.triu_indices(vectors, vectors, 1), persistent=False)
        top_in = d + self.pairs.shape[1]
        self.top = _mlp((top_in,) + settings.TOP_MLP[:-1], final_relu=True)
        self.head = nn.Linear(settings.TOP_MLP[-2], settings.TOP_MLP[-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dense, categorical = x[:, : data.NUM_DENSE], x[:, data.NUM_DENSE :].long()
        bottom = self.bottom(dense)
        vectors = torch.cat([bottom[:, None], self.embedding(categorical + self.offsets)], 1)
        gram = vectors @ vectors.transpose(1, 2)
        interactions = gram[:, self.pairs[0], self.pairs[1]]
        return self.head(self.top(torch.cat([bottom, interactions], 1)))[:, 0]


def sigmoid_cross_entropy(targets, logits, label_smoothing: float = 0.0) -> torch.Tensor:
    """Per-example ``-[y' log s(z) + (1-y') log(1-s(z))]``, ``y' = y(1-ls) + ls/2``."""
    targets = targets.to(logits.dtype) * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return F.binary_cross_entropy_with_logits(logits, targets, reduction="none")


class SynthDLRMWorkload(TorchWorkload):
    name = "synth_dlrm"
    algoperf_analog = "criteo1tb"
    target_metric_name = "loss"
    loss_type = spec.LossType.SIGMOID_CROSS_ENTROPY
    validation_target_value = settings.VALIDATION_TARGET
    test_target_value = settings.TEST_TARGET
    max_allowed_runtime_sec = settings.BUDGET_SEC
    eval_period_time_sec = settings.EVAL_PERIOD_SEC
    step_hint = settings.STEP_HINT
    num_train_examples = data.SPLIT_SIZES["train"]
    num_eval_train_examples = data.NUM_EVAL_TRAIN
    num_validation_examples = data.SPLIT_SIZES["validation"]
    num_test_examples = data.SPLIT_SIZES["test"]
    eval_batch_size = 8192

    def _build_model(self) -> nn.Module:
        return DLRM()

    def _split_arrays(self, split: str):
        return data.split_arrays(split)

    def _metric_sums(self, logits, batch):
        return data.log_loss_sums(logits, batch)

    def loss_fn(self, label_batch, logits_batch, mask_batch=None, label_smoothing: float = 0.0):
        return masked_sum(
            sigmoid_cross_entropy(label_batch, logits_batch, label_smoothing), mask_batch
        )
