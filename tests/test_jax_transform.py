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
from tests.jax_helpers import U32, assert_tree_close, run_sfadamw
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
    # Some entries of y smaller than one step (lr = 0.0025).
    params = {"w": params["w"].at[:1000].multiply(1e-4)}
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
    ``M = |x| + |y| / b1 + (1 - b1) |z| / b1``; we check ``8 u M``.
    """
    state = sfj.init_state({"w": jnp.asarray(z)}, get_preset("paper", betas=(b1, 0.999)))
    y = np.asarray(sfj.train_params(state, {"w": jnp.asarray(x)})["w"], np.float64)
    x_back = np.asarray(sfj.eval_params(state, {"w": jnp.asarray(y, jnp.float32)})["w"])
    y_back = np.asarray(sfj.train_params(state, {"w": jnp.asarray(x_back)})["w"])
    b1 = float(state.b1)
    magnitude = np.abs(x) + np.abs(y) / b1 + (1 - b1) * np.abs(z) / b1
    assert np.all(np.abs(x_back - x) <= 8 * U32 * magnitude)
    assert np.all(np.abs(y_back - y) <= 8 * U32 * magnitude)


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
