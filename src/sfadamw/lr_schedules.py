"""Learning-rate schedules shared by the PyTorch and JAX submissions."""

from __future__ import annotations

import math


def warmup_cosine(step, peak: float, warmup_steps: int, total_steps: int, xp=math):
    """Linear warmup from 0 to ``peak`` over ``warmup_steps``, then cosine decay to 0.

    lr(k) = peak * k / W                                  for k < W
    lr(k) = peak * (1 + cos(pi * min(k - W, D) / D)) / 2    for k >= W, D = total - W

    As the AlgoPerf NAdamW baseline's schedule (linear warmup joined to a cosine
    decay over the rest of the step hint); past ``total_steps`` it stays at 0.
    ``xp`` is ``math`` for Python numbers or ``jax.numpy`` for traced steps.
    """
    warmup = max(int(warmup_steps), 0)
    decay = max(int(total_steps) - warmup, 1)
    if xp is math:
        if step < warmup:
            return peak * step / warmup
        return peak * 0.5 * (1.0 + math.cos(math.pi * min(step - warmup, decay) / decay))
    progress = xp.clip((step - warmup) / decay, 0.0, 1.0)
    cosine = peak * 0.5 * (1.0 + xp.cos(xp.pi * progress))
    if warmup == 0:
        return cosine
    return xp.where(step < warmup, peak * step / warmup, cosine)
