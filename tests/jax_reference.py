"""An independent numpy Schedule-Free AdamW, written from the published equations.

It follows /work/shared/docs/schedule-free-adamw.md ("One step") and the
variant switches of :class:`sfadamw.presets.ScheduleFreeConfig`, but in the
x-form of Defazio et al. 2024, Algorithm 1: it stores x and z, forms
``y = (1 - b1) z + b1 x`` when needed, and updates ``x <- (1 - c_k) x + c_k z``.
The scalars are Python floats (float64), the tensors float32 numpy arrays and
v optionally bfloat16 (ml_dtypes). It shares no code with :mod:`sfadamw`, so
agreement with the y-form implementation in :mod:`sfadamw.jax` is evidence.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import ml_dtypes
import numpy as np

from sfadamw.presets import ScheduleFreeConfig

Tree = dict[str, np.ndarray]


def make_problem(seed: int, steps: int) -> tuple[Tree, list[Tree]]:
    """Initial params and a fixed gradient sequence (float32) for a few tensors.

    Gradient scales differ per tensor (1, 1e-6 so that eps matters, 1e2), and
    some entries are exactly zero.
    """
    rng = np.random.default_rng(seed)
    shapes = {"kernel": (13, 7), "bias": (7,), "scale": (5,)}
    grad_scale = {"kernel": 1.0, "bias": 1e-6, "scale": 1e2}
    params = {k: rng.normal(size=s).astype(np.float32) for k, s in shapes.items()}
    grads = []
    for _ in range(steps):
        g = {}
        for k, s in shapes.items():
            gk = (rng.normal(size=s) * grad_scale[k]).astype(np.float32)
            gk[rng.random(size=s) < 0.1] = 0.0
            g[k] = gk
        grads.append(g)
    return params, grads


def reference_run(
    config: ScheduleFreeConfig,
    params: Tree,
    grads: Sequence[Tree],
    z_schedule: Callable[[int], float] | None = None,
    dtype: type = np.float32,
) -> dict[str, Tree]:
    """Run ``len(grads)`` steps from y = x = z = params; return y, x, z, v.

    ``z_schedule(k)`` replaces the warmup factor of the z step only (the
    averaging weights keep ``min(1, (k + 1) / T_w)``); used to describe
    optax.contrib's warmup. ``dtype`` is the tensor dtype (float64 gives a
    near-exact run to measure float32 rounding against).
    """
    f = np.dtype(dtype).type
    b1, b2 = config.betas
    x = {k: p.astype(f) for k, p in params.items()}
    z = {k: p.astype(f) for k, p in params.items()}
    v_dtype = ml_dtypes.bfloat16 if config.second_moment_dtype == "bfloat16" else f
    v = {k: np.zeros(p.shape, v_dtype) for k, p in params.items()}
    lr_max = 0.0
    weight_sum = 0.0
    for k, g in enumerate(grads):
        sched = min(1.0, (k + 1) / config.warmup_steps) if config.warmup_steps else 1.0
        lr_k = max(config.lr * sched, config.lr_floor)
        lr_max = max(lr_max, lr_k)
        weight = (k + 1) ** config.r * (lr_max if config.weight_lr == "lr_max" else lr_k) ** (
            config.weight_lr_power
        )
        weight_sum += weight
        c = weight / weight_sum if weight_sum > 0 else 0.0
        z_lr = lr_k if z_schedule is None else config.lr * z_schedule(k)
        bc = 1.0 - b2 ** (k + 1)
        for name in params:
            y = f(1.0 - b1) * z[name] + f(b1) * x[name]
            v_new = f(b2) * v[name].astype(f) + f(1.0 - b2) * g[name] * g[name]
            v[name] = v_new.astype(v_dtype)
            v_read = v[name].astype(f)
            if config.bias_correction == "denominator":
                denom = np.sqrt(v_read / f(bc)) + f(config.eps)
                step = z_lr
            else:
                denom = np.sqrt(v_read) + f(config.eps)
                step = z_lr * math.sqrt(bc)
            decay_point = y if config.decay_at == "y" else x[name]
            z_new = z[name] - f(step) * (
                g[name] / denom + f(config.weight_decay) * decay_point
            )
            x[name] = f(1.0 - c) * x[name] + f(c) * z_new
            z[name] = z_new
    y = {n: f(1.0 - b1) * z[n] + f(b1) * x[n] for n in params}
    return {"y": y, "x": x, "z": z, "v": v}
