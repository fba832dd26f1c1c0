"""motif_gnn in PyTorch: a GIN-style message-passing network, pure torch (index_add_)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sfadamw.workloads._shared_b_torch import TorchWorkloadB
from sfadamw.workloads.motif_gnn import data
from sfadamw.workloads.motif_gnn.workload import MotifGNNSettings


class GIN(nn.Module):
    """Graph Isomorphism Network (Xu et al. 2019) with LayerNorm and sum+mean readout.

    Layer l: ``m_v = h_v + sum_{u in N(v)} h_u``, ``h_v <- h_v + Dropout(ReLU(LN(MLP(m_v))))``;
    graph embedding ``[sum_v h_v, mean_v h_v]`` -> ``Linear -> ReLU -> Dropout -> Linear``.
    """

    def __init__(self, in_dim: int, hidden: int, num_layers: int, num_labels: int):
        super().__init__()
        self.embed = nn.Linear(in_dim, hidden)
        self.mlps = nn.ModuleList(
            nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
            for _ in range(num_layers)
        )
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(num_layers))
        self.dropout = nn.Dropout()
        self.readout = nn.Linear(2 * hidden, hidden)
        self.head = nn.Linear(hidden, num_labels)

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        h = self.embed(inputs["node_features"])
        src, dst = inputs["edge_index"]
        graph = inputs["node_graph"]
        for mlp, norm in zip(self.mlps, self.norms, strict=True):
            message = h.index_add(0, dst, h[src])
            h = h + self.dropout(F.relu(norm(mlp(message))))
        num_graphs = int(graph[-1]) + 1
        summed = h.new_zeros(num_graphs, h.shape[1]).index_add_(0, graph, h)
        counts = torch.bincount(graph, minlength=num_graphs).clamp(min=1).unsqueeze(1)
        pooled = torch.cat([summed, summed / counts], dim=1)
        return self.head(self.dropout(F.relu(self.readout(pooled))))


class MotifGNNWorkload(MotifGNNSettings, TorchWorkloadB):
    output_param_prefix = "head."

    def _dataset(self, split: str):
        return data.dataset(split)

    def _build_model(self) -> nn.Module:
        return GIN(data.NUM_NODE_TYPES, self.hidden_dim, self.num_layers, data.NUM_LABELS)

    def _forward(self, model: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
        return model(batch["inputs"])

    def loss_fn(self, label_batch, logits_batch, mask_batch=None, label_smoothing: float = 0.0):
        """Sigmoid cross-entropy per (graph, label), as the harness's ogbg workload.

        Smoothed targets ``t' = t (1 - ls) + ls / 2``; ``per_example = mask *
        (softplus(z) - t' z)`` (= -t' log s(z) - (1 - t') log(1 - s(z))); ``summed`` is
        its sum, ``n_valid_examples`` the number of valid (graph, label) pairs.
        """
        targets = label_batch * (1.0 - label_smoothing) + 0.5 * label_smoothing
        mask = torch.ones_like(targets) if mask_batch is None else mask_batch
        per_example = (
            F.binary_cross_entropy_with_logits(logits_batch, targets, reduction="none") * mask
        )
        return {
            "summed": per_example.sum(),
            "n_valid_examples": mask.sum(),
            "per_example": per_example,
        }

    def _eval_batch(self, model, batch, logits) -> dict[str, Any]:
        return {
            "scores": list(torch.sigmoid(logits).numpy()),
            "labels": list(batch["targets"].numpy()),
            "mask": list(batch["weights"].numpy()),
        }

    def _eval_metrics(self, stats: dict[str, Any]) -> dict[str, float]:
        return {
            "mean_average_precision": data.mean_average_precision(
                np.stack(stats["labels"]), np.stack(stats["scores"]), np.stack(stats["mask"])
            )
        }
