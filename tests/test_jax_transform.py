"""sfadamw.jax as an optax transformation: jit, pytrees, flax, errors, eval/train points."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import sfadamw.jax as sfj
from sfadamw.presets import PRESETS, get_preset
from sfadamw.schedule import step_scalars
from tests.jax_helpers import (
    U32,
    assert_tree_close,
    relative_error,
    run_sfadamw,
    run_transformation,
)
from tests.jax_reference import make_problem


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_jit_matches_eager(preset):
    """jit and op-by-op execution agree within the float32 bound.

    Not bit for bit: inside a jit, XLA (CPU and GPU) fuses the elementwise
    update and contracts ``a * b + c`` into fused multiply-adds, which round
    once instead of twice; op-by-op execution rounds each product.
    """
    steps = 20
    config = get_preset(preset, warmup_steps=5, weight_decay=0.05)
    params, grads = make_problem(seed=3, steps=steps)
    jitted = run_sfadamw(config, params, grads, jit=True)
    eager = run_sfadamw(config, params, grads, jit=False)
    for key in ("y", "x", "z", "v"):
        assert_tree_close(jitted[key], eager[key], steps, f"{preset} {key} jit vs eager")


def test_apply_updates_rounding_bound():
    """optax.apply_updates(y, y_new - y) is y_new exactly unless the step exceeds |y|.

    Then the error is at most u (|y_new| + |y_new - y|) (one rounding in the
    difference, one in the sum), as the module docstring states.
    """
    rng = np.random.default_rng(4)
    y = rng.normal(size=4000).astype(np.float32)
    params = {"w": jnp.asarray(y)}
    grads = {"w": jnp.asarray(rng.normal(size=4000).astype(np.float32))}
    config = get_preset("paper")
    tx = sfj.schedule_free_adamw(config=config)
    state = tx.init(params)
    # A state some steps in, so that z differs from y.
    for _ in range(3):
        updates, state = tx.update(grads, state, params)
        params = optax.apply_updates(params, updates)
    # Some entries of y within a few steps of 0 (lr = 0.0025), where y_new - y is inexact.
    params = {"w": params["w"].at[:1000].multiply(1e-2)}
    updates, _ = tx.update(grads, state, params)
    via_updates = np.asarray(optax.apply_updates(params, updates)["w"], np.float64)
    exact, _ = sfj.schedule_free_step(config, grads, state, params)
    exact = np.asarray(exact["w"], np.float64)
    old = np.asarray(params["w"], np.float64)
    sterbenz = (exact / 2 <= old) & (old <= 2 * exact) | (exact / 2 >= old) & (old >= 2 * exact)
    np.testing.assert_array_equal(via_updates[sterbenz], exact[sterbenz])
    bound = U32 * (np.abs(exact) + np.abs(exact - old))
    assert np.all(np.abs(via_updates - exact) <= bound)
    assert (~sterbenz).sum() > 100 and np.any(via_updates != exact)


class _Block(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.relu(nn.Dense(16)(x))


class _Net(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.Dense(1)(_Block()(_Block()(x)))


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_trains_a_flax_linen_model(preset):
    """Nested flax params: state mirrors them, and the loss at x falls well below its start."""
    rng = np.random.default_rng(5)
    inputs = rng.normal(size=(64, 4)).astype(np.float32)
    targets = (inputs @ rng.normal(size=(4, 1)) + 0.5).astype(np.float32)
    model = _Net()
    params = model.init(jax.random.PRNGKey(0), inputs)
    tx = sfj.schedule_free_adamw(preset=preset, lr=0.01, warmup_steps=10)
    state = tx.init(params)

    def loss(p):
        return jnp.mean((model.apply(p, inputs) - targets) ** 2)

    @jax.jit
    def step(p, s):
        updates, s = tx.update(jax.grad(loss)(p), s, p)
        return optax.apply_updates(p, updates), s

    start = float(loss(params))
    for _ in range(150):
        params, state = step(params, state)
    structure = jax.tree_util.tree_structure(params)
    assert jax.tree_util.tree_structure(state.z) == structure
    assert jax.tree_util.tree_structure(state.v) == structure
    assert int(state.count) == 150
    assert float(loss(jax.jit(sfj.eval_params)(state, params))) < 0.05 * start


def test_update_without_params_is_an_error():
    params = {"w": jnp.ones(3)}
    tx = sfj.schedule_free_adamw()
    with pytest.raises(ValueError, match="needs the current params"):
        tx.update(params, tx.init(params))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(preset="nope"), "unknown preset 'nope'"),
        (dict(betas=(1.0, 0.999)), "beta1 must be in"),
        (dict(preset="paper", config=get_preset("paper")), "either preset or config"),
        (dict(decay_at="z"), "decay_at must be"),
    ],
)
def test_bad_hyperparameters_are_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sfj.schedule_free_adamw(**kwargs)


def test_arguments_override_the_preset():
    config = sfj.schedule_free_config(lr=0.1, warmup_steps=7, preset="algoperf_v05")
    assert config == get_preset("algoperf_v05", lr=0.1, warmup_steps=7)
    base = get_preset("algoperf_v2")
    assert sfj.schedule_free_config(config=base, r=0.5) == base.replace(r=0.5)
    assert sfj.schedule_free_config() == PRESETS["paper"]


_arrays = hnp.arrays(
    np.float32, (7,), elements=st.floats(-1e3, 1e3, width=32, allow_subnormal=False)
)


@settings(max_examples=25, deadline=None)
@given(x=_arrays, z=_arrays, b1=st.floats(0.05, 0.99))
def test_eval_train_round_trip(x, z, b1):
    """eval_params and train_params invert each other up to a few roundings.

    Bound: each direction is two products, a sum or difference and a division
    by b1, so the error is a few ulps of the magnitudes involved,
    ``M = |x| + |y| / b1 + (1 - b1) |z| / b1``; we check ``8 u M``, plus
    ``2 tiny / b1`` (tiny: the smallest normal float32) because XLA flushes
    subnormal results to zero.
    """
    state = sfj.init_state({"w": jnp.asarray(z)}, get_preset("paper", betas=(b1, 0.999)))
    y = np.asarray(sfj.train_params(state, {"w": jnp.asarray(x)})["w"], np.float64)
    x_back = np.asarray(sfj.eval_params(state, {"w": jnp.asarray(y, jnp.float32)})["w"])
    y_back = np.asarray(sfj.train_params(state, {"w": jnp.asarray(x_back)})["w"])
    b1 = float(state.b1)
    magnitude = np.abs(x) + np.abs(y) / b1 + (1 - b1) * np.abs(z) / b1
    bound = 8 * U32 * magnitude + 2 * float(np.finfo(np.float32).tiny) / b1
    assert np.all(np.abs(x_back - x) <= bound)
    assert np.all(np.abs(y_back - y) <= bound)


def test_beta1_zero_keeps_x():
    """With b1 = 0, y is z and x is kept in the state: eval_params returns it."""
    params, grads = make_problem(seed=6, steps=5)
    config = get_preset("paper", betas=(0.0, 0.999))
    tx = sfj.schedule_free_adamw(config=config)
    state = tx.init(jax.tree_util.tree_map(jnp.asarray, params))
    assert sfj.init_state(params, get_preset("paper")).x is None
    y = jax.tree_util.tree_map(jnp.asarray, params)
    for g in grads:
        updates, state = tx.update(g, state, y)
        y = optax.apply_updates(y, updates)
    for name in params:
        np.testing.assert_array_equal(np.asarray(y[name]), np.asarray(state.z[name]))
        np.testing.assert_array_equal(
            np.asarray(sfj.eval_params(state, y)[name]), np.asarray(state.x[name])
        )
        assert np.abs(np.asarray(state.x[name]) - np.asarray(state.z[name])).max() > 0
    np.testing.assert_array_equal(sfj.train_params(state, state.x)["kernel"], state.z["kernel"])


def test_bfloat16_params_are_computed_in_float32():
    """bf16 params, float32 state: the step is the float32 step, rounded once to bf16."""
    rng = np.random.default_rng(9)
    y16 = jnp.asarray(rng.normal(size=64), jnp.bfloat16)
    grads = [jnp.asarray(rng.normal(size=64), jnp.bfloat16) for _ in range(3)]
    config = get_preset("algoperf_v2", warmup_steps=2)
    step = jax.jit(lambda g, s, p: sfj.schedule_free_step(config, g, s, p))
    state16 = sfj.init_state({"w": y16}, config, state_dtype=jnp.float32)
    state32 = sfj.init_state({"w": y16.astype(jnp.float32)}, config)
    p16 = {"w": y16}
    for g in grads:
        new16, state16 = step({"w": g}, state16, p16)
        # The float32 run starts each step from the same (bf16-representable) y.
        p32 = {"w": p16["w"].astype(jnp.float32)}
        new32, state32 = step({"w": g.astype(jnp.float32)}, state32, p32)
        assert new16["w"].dtype == jnp.bfloat16 and state16.z["w"].dtype == jnp.float32
        np.testing.assert_array_equal(new16["w"], new32["w"].astype(jnp.bfloat16))
        np.testing.assert_array_equal(state16.z["w"], state32.z["w"])
        p16 = new16
    updates, _ = sfj.schedule_free_adamw(config=config).update({"w": grads[0]}, state16, p16)
    assert updates["w"].dtype == jnp.bfloat16


def test_weight_sum_is_compensated():
    """After 1e5 steps W_k is within a few float32 ulps of the float64 sum.

    A plain float32 running sum (optax.contrib's) is off by ~600 ulps there:
    with a constant weight every addition rounds the same way.
    """
    steps = 100_000
    config = get_preset("paper", warmup_steps=1000)
    params = {"w": jnp.zeros(1)}

    def body(state, _):
        return sfj.schedule_free_step(config, {"w": jnp.zeros(1)}, state, params)[1], None

    run = jax.jit(lambda s: jax.lax.scan(body, s, None, length=steps)[0])
    state = run(sfj.init_state(params, config))
    # The warmup is nondecreasing, so lr_max = lr_k and the weights vectorise.
    weights = np.asarray(step_scalars(config, np.arange(steps), 0.0, 0.0).weight_sum)
    exact = weights.sum()
    ours = float(state.weight_sum) + float(state.weight_sum_error)
    assert abs(ours - exact) <= 4 * U32 * exact
    assert abs(float(state.weight_sum) - exact) <= 2 * U32 * exact
    naive = np.add.accumulate(weights.astype(np.float32))[-1]
    assert abs(float(naive) - exact) > 100 * U32 * exact


def test_composes_after_gradient_transformations():
    """optax.chain(clip, schedule_free_adamw) is schedule_free_adamw on clipped gradients."""
    params, grads = make_problem(seed=10, steps=5)
    clip = optax.clip_by_global_norm(1.0)
    chained = optax.chain(clip, sfj.schedule_free_adamw(weight_decay=0.05))
    clipped = [clip.update(g, clip.init(params))[0] for g in grads]
    y_chained, state = run_transformation(chained, params, grads)
    y_direct, _ = run_transformation(sfj.schedule_free_adamw(weight_decay=0.05), params, clipped)
    # Clipping inside vs outside the jit rounds differently (fusion), hence a bound.
    assert_tree_close(y_chained, y_direct, len(grads), "chained vs clipped by hand")
    assert isinstance(state[1], sfj.ScheduleFreeState)
    # ... and the clipping mattered (Adam is not invariant to per-step rescaling).
    y_unclipped, _ = run_transformation(sfj.schedule_free_adamw(weight_decay=0.05), params, grads)
    assert relative_error(y_unclipped, y_chained) > 1e-3
