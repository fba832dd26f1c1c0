"""The JAX submission: state tuple, eval at x and back, BatchNorm statistics at x."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sfadamw import spec
from sfadamw.algoperf import variants
from sfadamw.jax import eval_params
from sfadamw.runner import submission as submission_loader
from tests.runner_fixtures import TinyJaxWorkload

ROOT = Path(__file__).resolve().parents[1]
MODULE = submission_loader.load(
    str(ROOT / "submissions/self_tuning/schedule_free_adamw/jax/submission.py")
)


class TinyBatchNormJax(TinyJaxWorkload):
    """TinyJaxWorkload plus a BatchNorm-like running mean of the hidden activations.

    model_fn(update_batch_norm=True) returns ``0.9 * mean + 0.1 * batch_mean(x @ w)``.
    """

    MOMENTUM = 0.9

    def init_model_fn(self, rng):
        params, _ = super().init_model_fn(rng)
        return params, {"batch_stats": {"mean": jnp.zeros(2)}}

    def model_fn(
        self,
        params,
        augmented_and_preprocessed_input_batch,
        model_state,
        mode,
        rng,
        update_batch_norm,
        dropout_rate=None,
    ):
        h = augmented_and_preprocessed_input_batch["inputs"] @ params["w"]
        if update_batch_norm:
            mean = model_state["batch_stats"]["mean"]
            model_state = {
                "batch_stats": {"mean": self.MOMENTUM * mean + (1 - self.MOMENTUM) * h.mean(0)}
            }
        return h - model_state["batch_stats"]["mean"] + params["b"], model_state


def _train(workload, steps, hyperparameters=None):
    params, model_state = workload.init_model_fn(jax.random.PRNGKey(0))
    opt_state = MODULE.init_optimizer_state(
        workload, params, model_state, hyperparameters, jax.random.PRNGKey(1)
    )
    queue = workload._build_input_queue(np.array([0, 2], dtype=np.uint32), "train", None, 64)
    batches = []
    for step in range(steps):
        batch = next(queue)
        batches.append(batch)
        opt_state, params, model_state = MODULE.update_params(
            workload,
            params,
            None,
            model_state,
            hyperparameters,
            batch,
            None,
            opt_state,
            [],
            step,
            jax.random.PRNGKey(step),
            train_state={},
        )
    return opt_state, params, model_state, batches


def test_state_is_the_harness_tuple_and_eval_goes_to_x_and_back():
    workload = TinyJaxWorkload()
    opt_state, y, model_state, _ = _train(workload, 5)
    assert isinstance(opt_state, tuple) and len(opt_state) == 2
    state, _ = opt_state
    opt_state, x, model_state = MODULE.prepare_for_eval(
        workload, y, None, model_state, None, None, opt_state, [], 5, jax.random.PRNGKey(9)
    )
    expected_x = eval_params(state.sf, y)
    for a, b in zip(
        jax.tree_util.tree_leaves(x), jax.tree_util.tree_leaves(expected_x), strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)  # jit may fuse (FMA)
    assert bool(opt_state[0].params_at_x)
    # the next update starts again from y (up to the rounding of y -> x -> y)
    b1 = 1 - variants.ALGOPERF_SELF_TUNING["one_minus_beta1"]
    y_back = jax.tree_util.tree_map(lambda xx, z: (1 - b1) * z + b1 * xx, x, state.sf.z)
    for a, b in zip(jax.tree_util.tree_leaves(y_back), jax.tree_util.tree_leaves(y), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    queue = workload._build_input_queue(np.array([0, 3], dtype=np.uint32), "train", None, 64)
    opt_state, _, _ = MODULE.update_params(
        workload,
        x,
        None,
        model_state,
        None,
        next(queue),
        None,
        opt_state,
        [],
        5,
        jax.random.PRNGKey(5),
    )
    assert not bool(opt_state[0].params_at_x)


def test_batchnorm_statistics_are_the_average_at_x():
    workload = TinyBatchNormJax()
    opt_state, y, model_state, batches = _train(workload, 6)
    opt_state, x, model_state = MODULE.prepare_for_eval(
        workload, y, None, model_state, None, None, opt_state, [], 6, jax.random.PRNGKey(9)
    )
    recent = batches[-variants.VARIANTS[("schedule_free_adamw", "self")].bn_batches :]
    expected = np.mean([np.asarray(b["inputs"] @ x["w"]).mean(0) for b in recent], axis=0)
    np.testing.assert_allclose(model_state["batch_stats"]["mean"], expected, rtol=1e-5, atol=1e-6)


def test_hyperparameters_are_validated():
    from sfadamw.runner.search_space import as_hyperparameters

    with pytest.raises(ValueError, match="unknown hyperparameters"):
        _train(TinyJaxWorkload(), 1, as_hyperparameters({"learning_rate": 0.01, "lr": 1.0}))


def test_loss_type_is_used_for_label_smoothing():
    assert spec.LossType.SOFTMAX_CROSS_ENTROPY == TinyJaxWorkload.loss_type
