"""Schedule-Free AdamW as an optax gradient transformation.

The method keeps three points per parameter: the base iterate z, its weighted
average x (where the model is evaluated) and the interpolation
``y = (1 - b1) z + b1 x`` (where gradients are taken). As in optax, the params
a training loop holds are y; the state holds z and the second moment v, so the
memory is that of AdamW. ``x = (y - (1 - b1) z) / b1`` is recovered on demand by
:func:`eval_params`, and :func:`train_params` is its inverse. With ``b1 == 0``,
y equals z and x cannot be recovered, so the state then also keeps x (as the
PyTorch core does).

The per-step scalars (warmup, lr_max, the averaging weight c_k, bias
correction) come from :func:`sfadamw.schedule.step_scalars` with
``xp=jax.numpy``, and the variant switches from
:class:`sfadamw.presets.ScheduleFreeConfig`: one math for PyTorch and JAX. The
elementwise part, for each leaf, computed in float32 (or the parameter dtype if
wider)::

    v  <- b2 v + (1 - b2) g^2                   (stored in the v dtype, then read back)
    d   = sqrt(v / denom_div) + eps
    u   = g / d + wd * p                        (p = y, or x = (y - (1 - b1) z) / b1)
    y  <- lerp(y, z, c_k) + y_coef * u
    z  <- z - alpha * u
    x  <- lerp(x, z, c_k)                       (only when x is stored, b1 == 0)

Sources: Defazio et al., "The Road Less Scheduled", NeurIPS 2024
(arXiv:2405.15682), Algorithm 1; schedulefree 1.4.1 ``AdamWScheduleFree``;
``optax.contrib.schedule_free`` (same params-hold-y convention and the same
eval-point formula; its warmup is one step late for z, see the README).

Precision. Every float32 implementation of this recursion carries its
rounding forward in y, z and v; against a float64 run the error grows like
``sqrt(N) u max|y|`` (measured 0.5-1.6 sqrt(N) u per tensor for N = 100-2000,
``u = 2^-24``), and the PyTorch core is within 0.3-0.94 sqrt(N) u of this one
after 500 steps (tests/jax_helpers.py, tests/test_jax_torch_parity.py). Not bit
for bit: inside ``jax.jit`` XLA fuses the update and contracts ``a * b + c``
into fused multiply-adds, and the step scalars are float32 (from
``1 - b2^(k+1)`` at small k they carry up to 2e-5 relative error, i.e. a step
off by 2e-5 of its size). The averaging weights are summed with compensation
(:func:`_two_sum`), since a plain float32 sum drifts by ~1e-3 over 2e5 steps.

The optax interface. optax returns *updates* that
``optax.apply_updates`` adds to the params, so the new params are
``fl(y + fl(y_new - y))`` rather than ``y_new``. When ``y_new / 2 <= y <= 2 y_new``
the difference is exact (Sterbenz) and so is the sum; otherwise the error is at
most ``u (|y_new| + |y_new - y|)`` with ``u = 2^-24`` in float32, which only
happens for entries smaller in magnitude than one step (tested in
tests/test_jax_transform.py). :func:`schedule_free_step` returns ``y_new`` itself
for callers who want to skip that rounding.

Only APIs present in optax 0.2.2 (the AlgoPerf pin) are used here.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from sfadamw.presets import ScheduleFreeConfig, schedule_free_config
from sfadamw.schedule import step_scalars


class ScheduleFreeState(NamedTuple):
    """State of :func:`schedule_free_adamw`; every leaf is an array (no host sync).

    ``count`` is the number of steps taken (int32); ``lr_max`` is the running
    max of lr_k; the sum of averaging weights W_k is ``weight_sum +
    weight_sum_error`` (a compensated float32 sum, see :func:`_two_sum`); ``b1``
    is beta1 (so that :func:`eval_params` needs only the state); ``z`` and ``v``
    mirror the params; ``x`` mirrors them only when ``b1 == 0`` and is ``None``
    otherwise; ``skipped`` counts the steps skipped for a non-finite gradient.
    """

    count: jax.Array
    lr_max: jax.Array
    weight_sum: jax.Array
    weight_sum_error: jax.Array
    b1: jax.Array
    z: optax.Params
    v: optax.Params
    x: optax.Params | None = None
    skipped: jax.Array | None = None


def _two_sum(a: jax.Array, b: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(s, e)`` with ``s = fl(a + b)`` and ``s + e = a + b`` exactly (Knuth's TwoSum).

    A float32 running sum of the averaging weights drifts: with a constant
    weight every addition rounds the same way, and after 2e5 steps c_k is off
    by ~1e-3 relative (measured, "paper" and "algoperf_v2" presets). Carrying
    the rounding errors in a second float32 keeps c_k within a few ulps, as
    the float64 sum of the PyTorch core does.
    """
    s = a + b
    b_virtual = s - a
    return s, (a - (s - b_virtual)) + (b - b_virtual)


def _compute_dtype(dtype: Any) -> Any:
    return jnp.promote_types(dtype, jnp.float32)


def _x_from_yz(y: jax.Array, z: jax.Array, b1: Any) -> jax.Array:
    """x = (y - (1 - b1) z) / b1, in the compute dtype."""
    dtype = _compute_dtype(jnp.result_type(y, z))
    return (y.astype(dtype) - (1.0 - b1) * z.astype(dtype)) / b1


def init_state(
    params: optax.Params, config: ScheduleFreeConfig, state_dtype: Any = None
) -> ScheduleFreeState:
    """Fresh state: k = 0, z = params (cast to ``state_dtype``), v = 0, x = params if b1 == 0.

    v is stored in ``config.second_moment_dtype`` if set, else ``state_dtype``
    if given, else the parameter dtype.
    """
    v_dtype = config.second_moment_dtype or state_dtype
    z = jax.tree_util.tree_map(
        lambda p: jnp.array(p, dtype=state_dtype or p.dtype, copy=True), params
    )
    v = jax.tree_util.tree_map(lambda p: jnp.zeros(p.shape, v_dtype or p.dtype), params)
    x = None
    if config.betas[0] == 0.0:
        x = jax.tree_util.tree_map(lambda p: jnp.array(p, copy=True), params)
    return ScheduleFreeState(
        count=jnp.zeros([], jnp.int32),
        lr_max=jnp.zeros([], jnp.float32),
        weight_sum=jnp.zeros([], jnp.float32),
        weight_sum_error=jnp.zeros([], jnp.float32),
        b1=jnp.asarray(config.betas[0], jnp.float32),
        z=z,
        v=v,
        x=x,
        skipped=jnp.zeros([], jnp.int32),
    )


def schedule_free_step(
    config: ScheduleFreeConfig,
    grads: optax.Updates,
    state: ScheduleFreeState,
    params: optax.Params,
    nonfinite: str = "skip",
) -> tuple[optax.Params, ScheduleFreeState]:
    """One step: ``(y, state) -> (y_new, new_state)``, with ``y_new`` exactly as computed.

    The same update as the transformation's, without the round trip through
    ``y_new - y`` (see the module docstring for that bound). Pure and jit-able.

    Non-finite gradients: if any gradient entry is NaN or infinite the step is
    skipped (y, z, v, x and the counters are kept, selected inside the same
    fused kernel, no host sync) and ``skipped`` is incremented; the PyTorch core
    does the same with ``nonfinite="skip"``. ``nonfinite="ignore"`` drops the check
    (one read of the gradients less per step).
    """
    if nonfinite not in ("skip", "ignore"):
        raise ValueError(f"nonfinite must be 'skip' or 'ignore', got {nonfinite!r}")
    b1, b2 = config.betas
    s = step_scalars(config, state.count, state.lr_max, state.weight_sum, xp=jnp)
    # w_k alone (the new sum when the old one is 0), for the compensated sum.
    weight = step_scalars(config, state.count, state.lr_max, 0.0, xp=jnp).weight_sum
    total, error = _two_sum(state.weight_sum, weight)
    weight_sum, weight_sum_error = _two_sum(total, state.weight_sum_error + error)
    if nonfinite == "skip":
        # The barrier keeps XLA from fusing the reduction of the per-leaf verdicts into
        # every consumer of ``finite`` (each select below), which made the first step
        # compile for 21 s instead of 6 s at ResNet-50 shapes (35 s / 4 s at
        # Transformer-base) on CPU; the step itself is as fast (results/benchmarks).
        leaf_finite = [jnp.all(jnp.isfinite(g)) for g in jax.tree_util.tree_leaves(grads)]
        finite = jnp.all(jax.lax.optimization_barrier(jnp.stack(leaf_finite)))
    else:
        finite = jnp.asarray(True)
    # A skipped step is the same arithmetic with u = 0 and c_k = 0, which leaves y, z and
    # x exactly as they are, and v selected back: no kernel needs the old values after
    # the new ones are written, so XLA keeps updating the buffers in place.
    ckp1 = jnp.where(finite, s.ckp1, 0.0)

    def leaf(g, y, z, v):
        dtype = _compute_dtype(y.dtype)
        g32, y32, z32 = g.astype(dtype), y.astype(dtype), z.astype(dtype)
        v_step = b2 * v.astype(dtype) + ((1.0 - b2) * g32) * g32
        v_new = jnp.where(finite, v_step, v.astype(dtype)).astype(v.dtype)
        denom = jnp.sqrt(v_new.astype(dtype) / s.denom_div) + config.eps
        u = g32 / denom
        if config.weight_decay:
            p = y32 if config.decay_at == "y" else _x_from_yz(y32, z32, b1)
            u = u + config.weight_decay * p
        u = jnp.where(finite, u, 0.0)
        z_new = z32 - s.alpha * u
        if b1 == 0.0:  # y is z
            return z_new.astype(y.dtype), z_new.astype(z.dtype), v_new
        # y from the new z (lerp(y, z, c) with z = z_new + alpha u): no fusion reads the
        # old z after the new one is written, so XLA updates z in place without a copy.
        y_new = y32 + ckp1 * (z_new - y32) + (s.y_coef + ckp1 * s.alpha) * u
        return y_new.astype(y.dtype), z_new.astype(z.dtype), v_new

    treedef = jax.tree_util.tree_structure(params)
    flat = [treedef.flatten_up_to(tree) for tree in (grads, params, state.z, state.v)]
    outs = [leaf(*args) for args in zip(*flat, strict=True)]
    y_new, z_new, v_new = (treedef.unflatten([out[i] for out in outs]) for i in range(3))
    x_new = None
    if state.x is not None:
        x_new = jax.tree_util.tree_map(
            lambda x, z: (x + ckp1 * (z.astype(x.dtype) - x)).astype(x.dtype), state.x, z_new
        )
    skipped = jnp.zeros([], jnp.int32) if state.skipped is None else state.skipped

    def counter(new, old):
        return jnp.where(finite, new, old).astype(old.dtype)

    new_state = ScheduleFreeState(
        count=counter(state.count + 1, state.count),
        lr_max=counter(s.lr_max, state.lr_max),
        weight_sum=counter(weight_sum, state.weight_sum),
        weight_sum_error=counter(weight_sum_error, state.weight_sum_error),
        b1=state.b1,
        z=z_new,
        v=v_new,
        x=x_new,
        skipped=skipped + (~finite).astype(jnp.int32),
    )
    return y_new, new_state


def schedule_free_adamw(
    lr: float | None = None,
    betas: tuple[float, float] | None = None,
    eps: float | None = None,
    weight_decay: float | None = None,
    warmup_steps: int | None = None,
    r: float | None = None,
    weight_lr_power: float | None = None,
    *,
    preset: str | None = None,
    decay_at: str | None = None,
    bias_correction: str | None = None,
    second_moment_dtype: str | None = None,
    lr_floor: float | None = None,
    weight_lr: str | None = None,
    config: ScheduleFreeConfig | None = None,
    state_dtype: Any = None,
    nonfinite: str = "skip",
) -> optax.GradientTransformation:
    """Schedule-Free AdamW as ``optax.GradientTransformation(init, update)``.

    Hyperparameters as in :class:`sfadamw.presets.ScheduleFreeConfig`; ``None``
    takes the value of ``preset`` (``"paper"``, ``"algoperf_v05"``,
    ``"algoperf_v2"``; default ``"paper"``) or of ``config``. ``nonfinite``: a step
    with a NaN or infinite gradient is skipped and counted (``"skip"``, default) or
    not checked (``"ignore"``); see :func:`schedule_free_step`. ``state_dtype``
    sets the dtype of z (and of v unless the variant fixes
    ``second_moment_dtype``). Params hold y; ``update(grads, state, params)``
    needs ``params`` and returns ``y_new - y``; it must be the last
    transformation of a chain (gradient transformations such as clipping may
    precede it). Evaluate at :func:`eval_params` ``(state, params)``.
    """
    cfg = schedule_free_config(
        lr,
        betas,
        eps,
        weight_decay,
        warmup_steps,
        r,
        weight_lr_power,
        preset=preset,
        decay_at=decay_at,
        bias_correction=bias_correction,
        second_moment_dtype=second_moment_dtype,
        lr_floor=lr_floor,
        weight_lr=weight_lr,
        config=config,
    )

    def init_fn(params: optax.Params) -> ScheduleFreeState:
        return init_state(params, cfg, state_dtype)

    def update_fn(
        grads: optax.Updates, state: ScheduleFreeState, params: optax.Params | None = None
    ) -> tuple[optax.Updates, ScheduleFreeState]:
        if params is None:
            raise ValueError(
                "schedule_free_adamw needs the current params: call update(grads, state, params)"
            )
        new_params, new_state = schedule_free_step(cfg, grads, state, params, nonfinite)
        updates = jax.tree_util.tree_map(lambda n, p: n - p, new_params, params)
        return updates, new_state

    return optax.GradientTransformation(init_fn, update_fn)


def eval_params(state: ScheduleFreeState, params: optax.Params) -> optax.Params:
    """The evaluation point x from the training params y: ``x = (y - (1 - b1) z) / b1``.

    With ``b1 == 0`` the state's x buffer is returned. Leaves keep the params' dtypes.
    """
    if state.x is not None:
        return jax.tree_util.tree_map(lambda x, p: x.astype(p.dtype), state.x, params)
    return jax.tree_util.tree_map(
        lambda y, z: _x_from_yz(y, z, state.b1).astype(y.dtype), params, state.z
    )


def train_params(state: ScheduleFreeState, x_params: optax.Params) -> optax.Params:
    """The inverse of :func:`eval_params`: ``y = (1 - b1) z + b1 x``.

    With ``b1 == 0``, y is z. Leaves keep the dtypes of ``x_params``.
    """

    def leaf(x, z):
        dtype = _compute_dtype(jnp.result_type(x, z))
        y = (1.0 - state.b1) * z.astype(dtype) + state.b1 * x.astype(dtype)
        return y.astype(x.dtype)

    return jax.tree_util.tree_map(leaf, x_params, state.z)
