"""numbers_transformer in PyTorch: a small pre-LN encoder-decoder Transformer."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from sfadamw.workloads._shared_b_torch import (
    FeedForward,
    MultiHeadAttention,
    TorchWorkloadB,
    softmax_cross_entropy,
)
from sfadamw.workloads.numbers_transformer import data
from sfadamw.workloads.numbers_transformer.workload import NumbersTransformerSettings


class _Block(nn.Module):
    """Pre-LN block: self-attention, optional cross-attention, feed-forward; each residual
    branch ends in dropout."""

    def __init__(self, dim: int, heads: int, hidden: int, cross: bool):
        super().__init__()
        self.norm_self, self.self_attn = nn.LayerNorm(dim), MultiHeadAttention(dim, heads)
        self.cross = cross
        if cross:
            self.norm_cross, self.cross_attn = nn.LayerNorm(dim), MultiHeadAttention(dim, heads)
        self.norm_ff, self.ff = nn.LayerNorm(dim), FeedForward(dim, hidden, nn.ReLU)
        self.dropout = nn.Dropout()

    def forward(self, x, self_mask, causal=False, memory=None, memory_mask=None):
        h = self.norm_self(x)
        x = x + self.dropout(self.self_attn(h, h, self_mask, causal))
        if self.cross:
            x = x + self.dropout(self.cross_attn(self.norm_cross(x), memory, memory_mask))
        return x + self.dropout(self.ff(self.norm_ff(x)))

    def decode_step(self, x, cache, memory_kv, memory_mask):
        """The decoder block on one new position ``x`` (B, 1, D), given the self-attention
        keys/values ``cache`` of the earlier positions (None at the first); returns the
        output and the extended cache. Evaluation only: no dropout."""
        h = self.norm_self(x)
        keys, values = self.self_attn.project_kv(h)
        if cache is not None:
            keys, values = torch.cat([cache[0], keys], 2), torch.cat([cache[1], values], 2)
        x = x + self.self_attn.attend(h, keys, values)
        x = x + self.cross_attn.attend(self.norm_cross(x), *memory_kv, memory_mask)
        return x + self.ff(self.norm_ff(x)), (keys, values)


class Seq2SeqTransformer(nn.Module):
    """Encoder-decoder Transformer (Vaswani et al. 2017) with pre-LN blocks, learned
    positions and a final LayerNorm on each side. The decoder reads the targets shifted
    right by one (a PAD first), as the harness's wmt model does."""

    def __init__(self, vocab: int, dim: int, heads: int, hidden: int, layers: int):
        super().__init__()
        self.src_embed, self.tgt_embed = nn.Embedding(vocab, dim), nn.Embedding(vocab, dim)
        self.src_pos = nn.Embedding(data.SOURCE_LENGTH, dim)
        self.tgt_pos = nn.Embedding(data.TARGET_LENGTH, dim)
        self.encoder = nn.ModuleList(_Block(dim, heads, hidden, False) for _ in range(layers))
        self.decoder = nn.ModuleList(_Block(dim, heads, hidden, True) for _ in range(layers))
        self.enc_norm, self.dec_norm = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.dropout = nn.Dropout()
        self.head = nn.Linear(dim, vocab)

    def encode(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        positions = torch.arange(src.shape[1])
        x = self.dropout(self.src_embed(src) + self.src_pos(positions))
        mask = (src != data.PAD)[:, None, None, :]
        for block in self.encoder:
            x = block(x, mask)
        return self.enc_norm(x), mask

    def decode(self, decoder_input, memory, memory_mask) -> torch.Tensor:
        positions = torch.arange(decoder_input.shape[1])
        y = self.dropout(self.tgt_embed(decoder_input) + self.tgt_pos(positions))
        for block in self.decoder:
            y = block(y, None, True, memory, memory_mask)
        return self.head(self.dec_norm(y))

    def forward(self, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        decoder_input = nn.functional.pad(tgt[:, :-1], (1, 0), value=data.PAD)
        return self.decode(decoder_input, *self.encode(src))

    @torch.no_grad()
    def greedy_decode(self, src: torch.Tensor, max_length: int) -> torch.Tensor:
        """Argmax decoding until every row has emitted EOS (at most ``max_length`` tokens).

        Incremental: each step runs the decoder on the newest position only, with the
        earlier positions' self-attention keys/values cached, which gives the same
        logits as re-running ``decode`` on the whole prefix (causal attention).
        """
        memory, memory_mask = self.encode(src)
        memory_kv = [block.cross_attn.project_kv(memory) for block in self.decoder]
        caches: list = [None] * len(self.decoder)
        token = torch.full((src.shape[0],), data.PAD, dtype=torch.long)
        done = torch.zeros(src.shape[0], dtype=torch.bool)
        out = []
        for position in range(max_length):
            y = self.tgt_embed(token[:, None]) + self.tgt_pos.weight[position]
            for i, block in enumerate(self.decoder):
                y, caches[i] = block.decode_step(y, caches[i], memory_kv[i], memory_mask)
            token = self.head(self.dec_norm(y))[:, 0].argmax(-1)
            token = torch.where(done, data.PAD, token)
            out.append(token)
            done |= token == data.EOS
            if bool(done.all()):
                break
        return torch.stack(out, dim=1)


class NumbersTransformerWorkload(NumbersTransformerSettings, TorchWorkloadB):
    output_param_prefix = "head."

    def _dataset(self, split: str):
        return data.dataset(split)

    def _build_model(self) -> nn.Module:
        return Seq2SeqTransformer(
            len(data.VOCAB), self.model_dim, self.num_heads, self.ff_dim, self.num_layers
        )

    def _forward(self, model: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
        return model(batch["inputs"].long(), batch["targets"].long())

    def loss_fn(self, label_batch, logits_batch, mask_batch=None, label_smoothing: float = 0.0):
        """Token-level softmax cross-entropy (see ``softmax_cross_entropy``)."""
        return softmax_cross_entropy(label_batch, logits_batch, mask_batch, label_smoothing)

    def _eval_batch(self, model, batch, logits) -> dict[str, Any]:
        decoded = model.greedy_decode(batch["inputs"].long(), data.TARGET_LENGTH)
        return {
            "hypotheses": [data.decode(row) for row in decoded.tolist()],
            "references": [data.decode(row) for row in batch["targets"].tolist()],
        }

    def _eval_metrics(self, stats: dict[str, Any]) -> dict[str, float]:
        return {"bleu": data.bleu(stats["hypotheses"], stats["references"])}
