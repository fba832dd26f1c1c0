"""Schedule-Free AdamW for JAX: an optax transformation and the eval-point functions.

Usage (params hold y, the point where gradients are taken)::

    tx = sfadamw.jax.schedule_free_adamw(preset="algoperf_v2", warmup_steps=1000)
    state = tx.init(params)
    updates, state = tx.update(grads, state, params)
    params = optax.apply_updates(params, updates)
    x = sfadamw.jax.eval_params(state, params)   # evaluate here

See :mod:`sfadamw.jax.optimizer` for the math and the precision notes.
"""

from sfadamw.jax.optimizer import (
    ScheduleFreeState,
    eval_params,
    init_state,
    schedule_free_adamw,
    schedule_free_config,
    schedule_free_step,
    train_params,
)

__all__ = [
    "ScheduleFreeState",
    "eval_params",
    "init_state",
    "schedule_free_adamw",
    "schedule_free_config",
    "schedule_free_step",
    "train_params",
]
