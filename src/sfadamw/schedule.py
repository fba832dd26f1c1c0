"""The per-step scalars of Schedule-Free AdamW, shared by every framework.

For step k (counting from 0), with peak learning rate ``lr`` and warmup ``T_w``::

    sched_k = min(1, (k + 1) / T_w)                (1 when T_w = 0)
    lr_k    = max(lr * sched_k, lr_floor)
    lr_max  = max(lr_max, lr_k)
    w_k     = (k + 1)^r * L^weight_lr_power        (L = lr_max, or lr_k for weight_lr="lr")
    W_k     = W_{k-1} + w_k,    c_k = w_k / W_k    (0 when W_k = 0)
    bc_k    = 1 - b2^(k + 1)

and the elementwise update, written once per framework, is::

    v  <- b2 v + (1 - b2) g^2
    d   = sqrt(v / denom_div) + eps                (denom_div = bc_k or 1)
    u   = g / d + wd * p                           (p = y, or x = (y - (1 - b1) z) / b1)
    y  <- lerp(y, z, c_k) + y_coef * u             (y_coef = alpha (b1 (1 - c_k) - 1))
    z  <- z - alpha * u                            (alpha = lr_k, or lr_k sqrt(bc_k))

which is x <- (1 - c_k) x + c_k z, y = (1 - b1) z + b1 x, written on (y, z) so
that x is never stored (schedulefree 1.4.1 ``AdamWScheduleFree.step``;
Defazio et al. 2024, Algorithm 1).

:func:`step_scalars` takes an array namespace ``xp`` (numpy by default, or
``jax.numpy``) so the same code runs on Python numbers and inside ``jax.jit``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from sfadamw.presets import ScheduleFreeConfig


class StepScalars(NamedTuple):
    """What one step needs besides the tensors, plus the updated counters."""

    lr: Any  # lr_k, the scheduled (and floored) learning rate
    alpha: Any  # step size applied to u in the z update
    denom_div: Any  # v is divided by this inside the square root
    ckp1: Any  # c_k, the averaging weight of the new z
    y_coef: Any  # alpha * (b1 * (1 - c_k) - 1)
    lr_max: Any  # updated lr_max
    weight_sum: Any  # updated W_k


def step_scalars(
    config: ScheduleFreeConfig,
    k: Any,
    lr_max: Any,
    weight_sum: Any,
    *,
    lr: Any = None,
    xp: Any = np,
) -> StepScalars:
    """Scalars of step ``k`` given the counters after step ``k - 1``.

    ``lr`` overrides ``config.lr`` (param groups, or an lr kept in optimizer
    state). ``lr_max`` starts at 0 and ``weight_sum`` at 0.
    """
    b1, b2 = config.betas
    peak = config.lr if lr is None else lr
    if config.warmup_steps > 0:
        sched = xp.minimum(1.0, (k + 1) / config.warmup_steps)
    else:
        sched = 1.0
    lr_k = xp.maximum(peak * sched, config.lr_floor)
    new_lr_max = xp.maximum(lr_max, lr_k)
    base = new_lr_max if config.weight_lr == "lr_max" else lr_k
    weight = xp.power(k + 1.0, config.r) * xp.power(base, config.weight_lr_power)
    new_weight_sum = weight_sum + weight
    safe_sum = xp.where(new_weight_sum > 0, new_weight_sum, 1.0)
    ckp1 = xp.where(new_weight_sum > 0, weight / safe_sum, 0.0)
    bias_correction2 = 1.0 - xp.power(b2, k + 1.0)
    if config.bias_correction == "denominator":
        alpha, denom_div = lr_k, bias_correction2
    else:
        alpha, denom_div = lr_k * xp.sqrt(bias_correction2), 1.0
    y_coef = alpha * (b1 * (1.0 - ckp1) - 1.0)
    return StepScalars(lr_k, alpha, denom_div, ckp1, y_coef, new_lr_max, new_weight_sum)
