"""Non-finite gradients never reach y, z or v (JAX): the step is skipped and counted."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sfadamw.jax import init_state, schedule_free_config, schedule_free_step


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("preset", ["paper", "algoperf_v05"])
def test_nonfinite_step_is_skipped_and_counted(bad, preset):
    config = schedule_free_config(preset=preset, lr=0.01, warmup_steps=3)
    rng = np.random.default_rng(0)
    params = {
        "w": jnp.asarray(rng.normal(size=(4, 3)), jnp.float32),
        "b": jnp.zeros(3, jnp.float32),
    }
    grads = [
        jax.tree_util.tree_map(lambda p: jnp.asarray(rng.normal(size=p.shape), jnp.float32), params)
        for _ in range(6)
    ]
    step = jax.jit(lambda g, s, p: schedule_free_step(config, g, s, p))

    clean_p, clean_s = params, init_state(params, config)
    for g in grads:
        clean_p, clean_s = step(g, clean_s, clean_p)

    p, s = params, init_state(params, config)
    for i, g in enumerate(grads):
        if i == 3:
            poisoned = {"w": g["w"].at[1, 2].set(bad), "b": g["b"]}
            before = (p, s)
            p, s = step(poisoned, s, p)
            for a, b in zip(
                jax.tree_util.tree_leaves((p, s._replace(skipped=None))),
                jax.tree_util.tree_leaves((before[0], before[1]._replace(skipped=None))),
                strict=True,
            ):
                np.testing.assert_array_equal(a, b)
        p, s = step(g, s, p)
    assert int(s.skipped) == 1 and int(s.count) == 6 == int(clean_s.count)
    for a, b in zip(
        jax.tree_util.tree_leaves((p, s.z, s.v)),
        jax.tree_util.tree_leaves((clean_p, clean_s.z, clean_s.v)),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)  # as if the bad batch never came
        assert np.isfinite(np.asarray(a, np.float32)).all()
