"""Shared helpers of the JAX optimizer tests: running a transformation, comparing trees.

Float32 tolerance. Two float32 implementations of the same recursion differ by
their rounding, which Schedule-Free carries forward in y, x and z (and v) from
step to step: a few roundings of size ``u |y|`` per step (``u = 2^-24``), adding
up like a random walk. Measured against a float64 run of the same equations
(tests/jax_reference.py), our JAX core and the numpy float32 reference both
stay within ``1.6 sqrt(N) u`` of the float64 result for N = 100, 500 and 2000
steps, in every preset, as ``max|a - b| / max|b|`` per tensor. Entry-wise
relative error is meaningless for entries that pass near zero, so the bound is
stated per tensor: :func:`assert_tree_close` checks
``max|a - b| <= 3 sqrt(N) u max|b|``, i.e. 4.0e-6 at N = 500, not 1e-6.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax

import sfadamw.jax as sfj

U32 = 2.0**-24


def float32_tolerance(steps: int, factor: float = 3.0) -> float:
    """Relative (to the tensor's max) tolerance after ``steps`` float32 steps."""
    return factor * math.sqrt(steps) * U32


def relative_error(actual, expected) -> float:
    """Worst ``max|a - b| / max|b|`` over the leaves of two trees."""
    errors = jax.tree_util.tree_map(
        lambda a, b: float(
            np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max()
            / np.abs(np.asarray(b, np.float64)).max()
        ),
        actual,
        expected,
    )
    return max(jax.tree_util.tree_leaves(errors))


def assert_tree_close(
    actual, expected, steps: int, what: str, factor: float = 3.0
) -> None:
    error = relative_error(actual, expected)
    bound = float32_tolerance(steps, factor)
    assert error <= bound, f"{what}: relative error {error:.3g} > {bound:.3g} ({steps} steps)"


def run_transformation(tx: optax.GradientTransformation, params, grads, jit: bool = True):
    """Apply ``tx`` to the gradient sequence; return (final y, final state)."""

    def step(g, state, y):
        updates, state = tx.update(g, state, y)
        return optax.apply_updates(y, updates), state

    if jit:
        step = jax.jit(step)
    y = jax.tree_util.tree_map(jnp.asarray, params)
    state = tx.init(y)
    for g in grads:
        y, state = step(g, state, y)
    return y, state


def run_sfadamw(config, params, grads, jit: bool = True, **kwargs) -> dict:
    """Our transformation on the gradient sequence: final y, x (eval point), z, v."""
    y, state = run_transformation(
        sfj.schedule_free_adamw(config=config, **kwargs), params, grads, jit
    )
    return {"y": y, "x": sfj.eval_params(state, y), "z": state.z, "v": state.v}
