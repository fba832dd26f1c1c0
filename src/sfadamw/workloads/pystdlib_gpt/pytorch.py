"""pystdlib_gpt in PyTorch: a small GPT-style decoder."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from sfadamw.workloads._shared_b_torch import (
    FeedForward,
    MultiHeadAttention,
    TorchWorkloadB,
    softmax_cross_entropy,
)
from sfadamw.workloads.pystdlib_gpt import data
from sfadamw.workloads.pystdlib_gpt.workload import PyStdlibGPTSettings


class _Block(nn.Module):
    """``x + Dropout(CausalAttn(LN(x)))``, then ``x + Dropout(MLP(LN(x)))`` (GPT-2)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.ln_attn, self.attn = nn.LayerNorm(dim), MultiHeadAttention(dim, heads)
        self.ln_mlp, self.mlp = nn.LayerNorm(dim), FeedForward(dim, 4 * dim)
        self.dropout = nn.Dropout()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.ln_attn(x)
        x = x + self.dropout(self.attn(h, h, causal=True))
        return x + self.dropout(self.mlp(self.ln_mlp(x)))


class GPT(nn.Module):
    def __init__(self, dim: int, heads: int, layers: int, init_std: float):
        super().__init__()
        self.tok_embed = nn.Embedding(data.VOCAB_SIZE, dim)
        self.pos_embed = nn.Embedding(data.CONTEXT, dim)
        self.dropout = nn.Dropout()
        self.blocks = nn.ModuleList(_Block(dim, heads) for _ in range(layers))
        self.ln_final = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, data.VOCAB_SIZE)
        for module in self.modules():
            if isinstance(module, nn.Linear | nn.Embedding):
                nn.init.normal_(module.weight, std=init_std)
            if isinstance(module, nn.Linear):
                nn.init.zeros_(module.bias)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.tok_embed(tokens) + self.pos_embed(torch.arange(tokens.shape[1]))
        x = self.dropout(x)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_final(x))


class PyStdlibGPTWorkload(PyStdlibGPTSettings, TorchWorkloadB):
    output_param_prefix = "head."

    def _dataset(self, split: str):
        return data.dataset(split)

    def _build_model(self) -> nn.Module:
        return GPT(self.model_dim, self.num_heads, self.num_layers, self.init_std)

    def _forward(self, model: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
        return model(batch["inputs"].long())

    def loss_fn(self, label_batch, logits_batch, mask_batch=None, label_smoothing: float = 0.0):
        """Next-byte softmax cross-entropy per token (see ``softmax_cross_entropy``)."""
        return softmax_cross_entropy(label_batch, logits_batch, mask_batch, label_smoothing)

    def _eval_batch(self, model, batch, logits) -> dict[str, Any]:
        return {}

    def _eval_metrics(self, stats: dict[str, Any]) -> dict[str, float]:
        return {}

    def _eval_model_on_split(self, *args, **kwargs) -> dict[str, float]:
        """The loss (mean next-byte NLL; eval uses no label smoothing) and ppl = exp(loss)."""
        metrics = super()._eval_model_on_split(*args, **kwargs)
        metrics["ppl"] = math.exp(metrics["loss"])
        return metrics
