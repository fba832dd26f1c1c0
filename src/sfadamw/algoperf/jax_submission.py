"""The AlgoPerf v0.6 submission API for Schedule-Free AdamW in JAX, for any variant.

The optimizer state is the tuple ``(opt_state, train_step)`` the harness
checkpoints (``opt_state`` is a :class:`JaxSubmissionState`). Parameters hold y
during training; ``prepare_for_eval`` returns x (:func:`sfadamw.jax.eval_params`)
and the next ``update_params`` goes back to y (:func:`sfadamw.jax.train_params`);
which one the params hold is recorded in the state, so a checkpoint taken after
an eval resumes correctly. The step is one ``jax.jit`` over a 1-D mesh of all
devices (axis ``"batch"``): params and optimizer state replicated, the batch
sharded, as in the v0.6 harness.

BatchNorm at x (variant ``"recompute_at_x"``): ``model_fn(update_batch_norm=True)``
returns statistics ``s' = m s + (1 - m) b`` for batch statistics b and an
unknown momentum m. Running it from s = 0 and s = 1 on one batch gives m and b;
from s = 0 on the other cached batches gives their b; the new statistics are
the exact average of the b's, computed at x.
"""

from __future__ import annotations

import collections
import types
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from sfadamw import spec
from sfadamw.algoperf import api, variants
from sfadamw.jax import eval_params, init_state, schedule_free_config, schedule_free_step
from sfadamw.jax import train_params as y_from_x


class JaxSubmissionState(NamedTuple):
    """The checkpointed part of the submission's state."""

    sf: Any  # sfadamw.jax.ScheduleFreeState
    params_at_x: Any  # True after prepare_for_eval (a host bool, never a traced value)


def _mesh_shardings() -> tuple[NamedSharding, NamedSharding]:
    mesh = Mesh(jax.devices(), ("batch",))
    return NamedSharding(mesh, PartitionSpec()), NamedSharding(mesh, PartitionSpec("batch"))


def _has_batch_stats(model_state) -> bool:
    return bool(jax.tree_util.tree_leaves(model_state))


class TrainStep:
    """The jitted step and what must not be checkpointed (recent batches)."""

    def __init__(self, workload, variant, hparams: dict, config) -> None:
        self.variant = variant
        self.recent_batches: collections.deque = collections.deque(maxlen=variant.bn_batches)
        replicated, sharded = _mesh_shardings()
        smoothing = (
            float(hparams.get("label_smoothing", 0.0))
            if not variant.label_smoothing_softmax_only
            or workload.loss_type == spec.LossType.SOFTMAX_CROSS_ENTROPY
            else 0.0
        )
        model_kwargs = (
            {"dropout_rate": hparams["dropout_rate"]}
            if variant.pass_dropout and hparams.get("dropout_rate") is not None
            else {}
        )
        self.model_kwargs = model_kwargs

        def step(sf, params, model_state, batch, rng):
            def loss_fn(p):
                logits, new_model_state = workload.model_fn(
                    p,
                    batch,
                    model_state,
                    spec.ForwardPassMode.TRAIN,
                    rng,
                    update_batch_norm=True,
                    **model_kwargs,
                )
                losses = workload.loss_fn(
                    batch["targets"], logits, batch.get("weights"), label_smoothing=smoothing
                )
                return losses["summed"] / losses["n_valid_examples"], new_model_state

            (loss, new_model_state), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
            new_params, new_sf = schedule_free_step(config, grads, sf, params)
            return new_sf, new_params, new_model_state, loss

        self.step = jax.jit(
            step,
            in_shardings=(replicated, replicated, replicated, sharded, replicated),
            out_shardings=(replicated, replicated, replicated, replicated),
        )
        self.to_x = jax.jit(eval_params)
        self.to_y = jax.jit(y_from_x)

        def stats(params, model_state, batch, rng):
            _, new_state = workload.model_fn(
                params,
                batch,
                model_state,
                spec.ForwardPassMode.TRAIN,
                rng,
                update_batch_norm=True,
                **model_kwargs,
            )
            return new_state

        self.stats = jax.jit(stats)

    def __call__(self, *args):
        return self.step(*args)

    def batchnorm_at_x(self, x_params, model_state, rng):
        """Exact average of the cached batches' statistics at x (module docstring)."""
        zeros = jax.tree_util.tree_map(jnp.zeros_like, model_state)
        ones = jax.tree_util.tree_map(jnp.ones_like, model_state)
        batches = list(self.recent_batches)
        from_zero = [self.stats(x_params, zeros, b, rng) for b in batches]
        from_one = self.stats(x_params, ones, batches[0], rng)
        momentum = jax.tree_util.tree_map(lambda a, b: a - b, from_one, from_zero[0])

        def average(m, *values):
            keep = 1.0 - m
            safe = jnp.where(keep == 0, 1.0, keep)
            return sum(v / safe for v in values) / len(values)

        return jax.tree_util.tree_map(average, momentum, *from_zero)


def make_submission(variant: variants.Variant) -> types.SimpleNamespace:
    """The functions of a JAX submission module for ``variant``."""

    def init_optimizer_state(workload, model_params, model_state, hyperparameters, rng):
        del rng
        hparams = variants.resolve_hyperparameters(variant, hyperparameters)
        kwargs = variants.optimizer_kwargs(variant, hparams, workload.step_hint)
        config = schedule_free_config(**kwargs)
        replicated, _ = _mesh_shardings()
        sf = jax.device_put(init_state(model_params, config), replicated)
        del model_state
        return JaxSubmissionState(sf, False), TrainStep(workload, variant, hparams, config)

    def update_params(
        workload,
        current_param_container,
        current_params_types,
        model_state,
        hyperparameters,
        batch,
        loss_type,
        optimizer_state,
        eval_results,
        global_step,
        rng,
        train_state=None,
    ):
        del workload, current_params_types, hyperparameters, loss_type, eval_results
        del global_step, train_state
        state, train_step = optimizer_state
        params = current_param_container
        if bool(state.params_at_x):
            params = train_step.to_y(state.sf, params)
        sf, params, new_model_state, _ = train_step(state.sf, params, model_state, batch, rng)
        if variant.batchnorm == "recompute_at_x" and _has_batch_stats(new_model_state):
            train_step.recent_batches.append(batch)
        return (JaxSubmissionState(sf, False), train_step), params, new_model_state

    def prepare_for_eval(
        workload,
        current_param_container,
        current_params_types,
        model_state,
        hyperparameters,
        loss_type,
        optimizer_state,
        eval_results,
        global_step,
        rng,
    ):
        del workload, current_params_types, hyperparameters, loss_type, eval_results
        del global_step
        state, train_step = optimizer_state
        params = current_param_container
        if not bool(state.params_at_x):
            params = train_step.to_x(state.sf, params)
        if train_step.recent_batches and _has_batch_stats(model_state):
            model_state = train_step.batchnorm_at_x(params, model_state, rng)
        return (JaxSubmissionState(state.sf, True), train_step), params, model_state

    return api.submission(variant, init_optimizer_state, update_params, prepare_for_eval)
