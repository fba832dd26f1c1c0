"""synth_conformer in PyTorch: a small Conformer (Gulati et al. 2020) trained with CTC."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from sfadamw.workloads._shared_b_torch import FeedForward, MultiHeadAttention, TorchWorkloadB
from sfadamw.workloads.synth_conformer import data
from sfadamw.workloads.synth_conformer.workload import SynthConformerSettings


class _ConvModule(nn.Module):
    """Pointwise conv + GLU, depthwise conv (padded frames zeroed first), LayerNorm
    (the harness's "layernorm" variant in place of BatchNorm), SiLU, pointwise conv."""

    def __init__(self, dim: int, kernel: int):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.pointwise_in = nn.Linear(dim, 2 * dim)
        self.depthwise = nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=dim)
        self.conv_norm = nn.LayerNorm(dim)
        self.pointwise_out = nn.Linear(dim, dim)
        self.dropout = nn.Dropout()

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        h = F.glu(self.pointwise_in(self.norm(x)), dim=-1) * valid[..., None]
        h = self.depthwise(h.transpose(1, 2)).transpose(1, 2)
        return self.dropout(self.pointwise_out(F.silu(self.conv_norm(h))))


class _ConformerBlock(nn.Module):
    """``x + FF/2, + MHSA, + Conv, + FF/2``, then LayerNorm (macaron, Gulati et al. 2020)."""

    def __init__(self, dim: int, heads: int, kernel: int):
        super().__init__()
        self.ff1_norm, self.ff1 = nn.LayerNorm(dim), FeedForward(dim, 4 * dim, nn.SiLU)
        self.attn_norm, self.attn = nn.LayerNorm(dim), MultiHeadAttention(dim, heads)
        self.conv = _ConvModule(dim, kernel)
        self.ff2_norm, self.ff2 = nn.LayerNorm(dim), FeedForward(dim, 4 * dim, nn.SiLU)
        self.out_norm = nn.LayerNorm(dim)
        self.dropout = nn.Dropout()

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        x = x + 0.5 * self.dropout(self.ff1(self.ff1_norm(x)))
        h = self.attn_norm(x)
        x = x + self.dropout(self.attn(h, h, valid[:, None, None, :].bool()))
        x = x + self.conv(x, valid)
        x = x + 0.5 * self.dropout(self.ff2(self.ff2_norm(x)))
        return self.out_norm(x)


class Conformer(nn.Module):
    """Strided conv subsampling (x2 in time), learned positions, Conformer blocks, and a
    linear CTC head. Returns ``(logits, logit_paddings)`` as the harness's model does."""

    def __init__(self, in_dim: int, dim: int, heads: int, layers: int, kernel: int, vocab: int):
        super().__init__()
        self.subsample = nn.Conv1d(in_dim, dim, kernel_size=3, stride=2, padding=1)
        self.pos = nn.Embedding((data.MAX_FRAMES + 1) // 2, dim)
        self.dropout = nn.Dropout()
        self.blocks = nn.ModuleList(_ConformerBlock(dim, heads, kernel) for _ in range(layers))
        self.head = nn.Linear(dim, vocab)

    def forward(self, features: torch.Tensor, paddings: torch.Tensor):
        x = F.silu(self.subsample(features.transpose(1, 2)).transpose(1, 2))
        out_paddings = paddings[:, ::2]
        valid = 1.0 - out_paddings
        x = self.dropout(x + self.pos(torch.arange(x.shape[1])))
        for block in self.blocks:
            x = block(x, valid)
        return self.head(x), out_paddings


class SynthConformerWorkload(SynthConformerSettings, TorchWorkloadB):
    output_param_prefix = "head."

    def _dataset(self, split: str):
        return data.dataset(split)

    def _build_model(self) -> nn.Module:
        return Conformer(
            data.NUM_BINS,
            self.model_dim,
            self.num_heads,
            self.num_layers,
            self.conv_kernel,
            data.VOCAB_SIZE,
        )

    def _forward(self, model: nn.Module, batch: dict[str, Any]):
        features, paddings = batch["inputs"]
        return model(features, paddings)

    def loss_fn(self, label_batch, logits_batch, mask_batch=None, label_smoothing: float = 0.0):
        """CTC loss (Graves et al. 2006) per utterance.

        ``per_example[i] = -log p(labels_i | logits_i)`` summed over the utterance's
        alignments (``torch.nn.functional.ctc_loss``, blank 0, infinite losses zeroed)
        times ``mask``; ``summed`` is their sum and ``n_valid_examples`` the number of
        valid utterances. ``label_smoothing`` does not apply to CTC and is ignored, as
        in the harness's librispeech workloads.
        """
        del label_smoothing
        labels, label_paddings = label_batch
        logits, logit_paddings = logits_batch
        log_probs = F.log_softmax(logits.float(), dim=-1).transpose(0, 1)
        per_example = F.ctc_loss(
            log_probs,
            labels.long(),
            (1 - logit_paddings).sum(1).long(),
            (1 - label_paddings).sum(1).long(),
            blank=data.BLANK,
            reduction="none",
            zero_infinity=True,
        )
        mask = torch.ones_like(per_example) if mask_batch is None else mask_batch
        per_example = per_example * mask
        return {
            "summed": per_example.sum(),
            "n_valid_examples": mask.sum(),
            "per_example": per_example,
        }

    def _eval_batch(self, model, batch, logits) -> dict[str, Any]:
        frame_logits, paddings = logits
        labels, label_paddings = batch["targets"]
        pairs = zip(
            frame_logits.argmax(-1).numpy(),
            (1 - paddings).sum(1).long().tolist(),
            labels.numpy(),
            (1 - label_paddings).sum(1).long().tolist(),
            strict=True,
        )
        hypotheses, references = [], []
        for best, num_frames, label_row, num_labels in pairs:
            hypotheses.append(data.words(data.ctc_greedy(best, num_frames)))
            references.append(data.words(list(label_row[:num_labels])))
        return {"hypotheses": hypotheses, "references": references}

    def _eval_metrics(self, stats: dict[str, Any]) -> dict[str, float]:
        return {"wer": data.word_error_rate(stats["references"], stats["hypotheses"])}
