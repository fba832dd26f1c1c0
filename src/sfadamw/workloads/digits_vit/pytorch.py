"""digits_vit in PyTorch: a small Vision Transformer on 16x16 digits.

Model (Dosovitskiy et al. 2021, "An image is worth 16x16 words", with the
pre-LayerNorm blocks and global average pooling of AlgoPerf's ViT-S/16): 4x4
patches linearly embedded to width 64 plus learned position embeddings, four
pre-LN blocks (multi-head self-attention with 4 heads, then a GELU MLP of
width 128, each residual), a final LayerNorm, mean over tokens and a linear
head to 10 logits. Dropout modules (rate 0 unless ``dropout_rate`` is given)
follow the attention and the MLP. 136,778 parameters.

Data, loss and metrics are those of digits_resnet
(:mod:`sfadamw.workloads.digits_resnet.data`); targets and budget in
:mod:`sfadamw.workloads.digits_vit.settings`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sfadamw.workloads.digits_resnet import data
from sfadamw.workloads.digits_resnet.pytorch import DigitsImageWorkload
from sfadamw.workloads.digits_vit import settings


class SelfAttention(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, d = x.shape
        q, k, v = self.qkv(x).view(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v)
        return self.out(y.transpose(1, 2).reshape(n, t, d))


class Block(nn.Module):
    def __init__(self, width: int, heads: int, mlp_width: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attn = SelfAttention(width, heads)
        self.drop1 = nn.Dropout(0.0)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            nn.Linear(width, mlp_width), nn.GELU(), nn.Linear(mlp_width, width)
        )
        self.drop2 = nn.Dropout(0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop1(self.attn(self.norm1(x)))
        return x + self.drop2(self.mlp(self.norm2(x)))


class ViT(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        p, d = settings.PATCH, settings.WIDTH
        tokens = (data.IMAGE_SIZE // p) ** 2
        self.patch = nn.Linear(p * p, d)
        self.pos_embedding = nn.Parameter(torch.randn(1, tokens, d) * 0.02)
        self.blocks = nn.Sequential(
            *[Block(d, settings.HEADS, settings.MLP_WIDTH) for _ in range(settings.DEPTH)]
        )
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, data.NUM_CLASSES)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, h, w, _ = x.shape
        p = settings.PATCH
        patches = x.reshape(n, h // p, p, w // p, p).permute(0, 1, 3, 2, 4).reshape(n, -1, p * p)
        x = self.blocks(self.patch(patches) + self.pos_embedding)
        return self.head(self.norm(x).mean(dim=1))


class DigitsViTWorkload(DigitsImageWorkload):
    name = "digits_vit"
    algoperf_analog = "imagenet_vit"
    validation_target_value = settings.VALIDATION_TARGET
    test_target_value = settings.TEST_TARGET
    max_allowed_runtime_sec = settings.BUDGET_SEC
    eval_period_time_sec = settings.EVAL_PERIOD_SEC
    step_hint = settings.STEP_HINT

    def _build_model(self) -> nn.Module:
        return ViT()
