"""Small deterministic training problems shared by the PyTorch optimizer tests."""

from __future__ import annotations

import torch
from torch import nn


def make_mlp(seed: int = 0, frozen: bool = True) -> nn.Module:
    """A small MLP; with ``frozen`` the first bias never gets a gradient."""
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1)
    )
    if frozen:
        model[0].bias.requires_grad_(False)
    return model


def two_groups(model: nn.Module, lr: float) -> list[dict]:
    """Two param groups with different learning rates (the output layer at lr / 3)."""
    head = list(model[-1].parameters())
    body = [p for p in model.parameters() if all(p is not h for h in head)]
    return [{"params": body}, {"params": head, "lr": lr / 3}]


def batches(n: int, seed: int = 1):
    """A fixed sequence of random regression batches."""
    g = torch.Generator().manual_seed(seed)
    for _ in range(n):
        x = torch.randn(32, 8, generator=g)
        yield x, torch.sin(x.sum(dim=1, keepdim=True)) + 0.1 * torch.randn(32, 1, generator=g)


def train(model: nn.Module, opt, data) -> None:
    """Run ``opt`` over ``data`` with an MSE loss (optimizer in train mode)."""
    model.train()
    opt.train()
    for x, y in data:
        opt.zero_grad(set_to_none=True)
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a - b| / max |b| (relative to the tensor's scale)."""
    scale = b.abs().max().clamp_min(1e-30)
    return float((a.double() - b.double()).abs().max() / scale)
