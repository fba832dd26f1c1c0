"""Kernels for the Schedule-Free AdamW update: one math, several implementations.

Every kernel computes, for each tensor (see :mod:`sfadamw.schedule`)::

    v  <- b2 v + (1 - b2) g^2                   (in float32 when v is stored in bfloat16)
    d   = sqrt(v / denom_div) + eps
    u   = g / d + wd * p                         (p = y, or x_old = (y - (1 - b1) z) / b1)
    y  <- lerp(y, z, c) + y_coef * u
    z  <- z - alpha * u
    x  <- lerp(x, z, c)                          (only when x is stored, i.e. b1 = 0)

``single_tensor`` loops over tensors with in-place ops; ``foreach`` does the same
with ``torch._foreach_*`` multi-tensor ops, in the order of schedulefree 1.4.1's
foreach step. Neither writes to the gradients. Agreement between them is tested.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch

from sfadamw.presets import ScheduleFreeConfig
from sfadamw.schedule import StepScalars

IMPLEMENTATIONS = ("auto", "single_tensor", "foreach")


class Scalars(NamedTuple):
    """The per-step scalars as Python floats (what the kernels take)."""

    alpha: float
    denom_div: float
    ckp1: float
    y_coef: float

    @classmethod
    def from_step(cls, s: StepScalars) -> Scalars:
        return cls(float(s.alpha), float(s.denom_div), float(s.ckp1), float(s.y_coef))


def _single_tensor(ys, zs, vs, grads, xs, s: Scalars, config: ScheduleFreeConfig) -> None:
    beta1, beta2 = config.betas
    wd = config.weight_decay
    for i, (y, z, v, g) in enumerate(zip(ys, zs, vs, grads, strict=True)):
        if v.dtype == g.dtype:
            v.mul_(beta2).addcmul_(g, g, value=1.0 - beta2)
            v32 = v
        else:
            v32 = v.to(g.dtype).mul_(beta2).addcmul_(g, g, value=1.0 - beta2)
            v.copy_(v32)
            v32 = v.to(g.dtype)
        u = g / v32.div(s.denom_div).sqrt_().add_(config.eps)
        if wd != 0.0:
            if config.decay_at == "x":
                u.add_(torch.lerp(y, z, 1.0 - 1.0 / beta1), alpha=wd)
            else:
                u.add_(y, alpha=wd)
        y.lerp_(z, s.ckp1).add_(u, alpha=s.y_coef)
        z.sub_(u, alpha=s.alpha)
        if xs is not None:
            xs[i].lerp_(z, s.ckp1)


def _foreach(ys, zs, vs, grads, xs, s: Scalars, config: ScheduleFreeConfig) -> None:
    beta1, beta2 = config.betas
    wd = config.weight_decay
    if vs[0].dtype == grads[0].dtype:
        torch._foreach_mul_(vs, beta2)
        torch._foreach_addcmul_(vs, grads, grads, value=1.0 - beta2)
        v32 = vs
    else:
        v32 = [v.to(g.dtype) for v, g in zip(vs, grads, strict=True)]
        torch._foreach_mul_(v32, beta2)
        torch._foreach_addcmul_(v32, grads, grads, value=1.0 - beta2)
        torch._foreach_copy_(vs, v32)
        v32 = [v.to(g.dtype) for v, g in zip(vs, grads, strict=True)]
    denom = torch._foreach_div(v32, s.denom_div)
    torch._foreach_sqrt_(denom)
    torch._foreach_add_(denom, config.eps)
    u = torch._foreach_div(grads, denom)
    if wd != 0.0:
        if config.decay_at == "x":
            x_old = [torch.lerp(y, z, 1.0 - 1.0 / beta1) for y, z in zip(ys, zs, strict=True)]
            torch._foreach_add_(u, x_old, alpha=wd)
        else:
            torch._foreach_add_(u, ys, alpha=wd)
    torch._foreach_lerp_(ys, zs, s.ckp1)
    torch._foreach_add_(ys, u, alpha=s.y_coef)
    torch._foreach_sub_(zs, u, alpha=s.alpha)
    if xs is not None:
        torch._foreach_lerp_(xs, zs, s.ckp1)


_KERNELS = {"single_tensor": _single_tensor, "foreach": _foreach}


def default_implementation(tensors: Sequence[torch.Tensor]) -> str:
    """The kernel ``implementation="auto"`` picks for these tensors."""
    return "foreach" if len(tensors) > 1 else "single_tensor"


def update(
    *,
    ys: list[torch.Tensor],
    zs: list[torch.Tensor],
    vs: list[torch.Tensor],
    grads: list[torch.Tensor],
    xs: list[torch.Tensor] | None,
    scalars: Scalars,
    config: ScheduleFreeConfig,
    implementation: str = "auto",
) -> None:
    """Apply one Schedule-Free AdamW update in place to ``ys``, ``zs``, ``vs`` (and ``xs``)."""
    if implementation == "auto":
        implementation = default_implementation(ys)
    _KERNELS[implementation](ys, zs, vs, grads, xs, scalars, config)
