"""AlgoPerf baseline: NAdamW with linear warmup and cosine decay (JAX/optax).

The same update as the PyTorch baseline (see its docstring), as an optax chain:
:func:`scale_by_nadam` (our implementation of the equations below), then decoupled
weight decay (``optax.add_decayed_weights``), then ``-lr_t``
(``optax.scale_by_learning_rate``). At step t = 1, 2, ...:

    m     = b1 m + (1 - b1) g
    v     = b2 v + (1 - b2) g^2
    m_bar = b1 m + (1 - b1) g
    u     = m_bar / (1 - b1^t) / (sqrt(v / (1 - b2^t)) + eps)
    p     = p - lr_t (u + wd p)

optax.nadamw differs in the Nesterov bias correction (it divides the b1 m term by
1 - b1^(t+1)); the harness's baseline divides m_bar by 1 - b1^t, as here.
The optimizer state is ``(opt_state, update_fn)``, the harness's JAX convention.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from sfadamw import spec
from sfadamw.lr_schedules import warmup_cosine
from sfadamw.workload_settings import get_batch_size as _settings_batch_size

STEP_HINT_FACTOR = 0.75
LOG_EVERY_STEPS = 20
SELF_TUNING_HPARAMS = {
    "learning_rate": 0.0017486387539278373,
    "one_minus_beta1": 0.06733926164,
    "beta2": 0.9955159689799007,
    "weight_decay": 0.08121616522670176,
    "warmup_factor": 0.02,
    "dropout_rate": 0.1,
    "label_smoothing": 0.0,
}
DEFAULTS = {"dropout_rate": None, "label_smoothing": 0.0, "grad_clip": None}


def hparam(hyperparameters, name: str):
    """A hyperparameter: from the trial's point, else the self-tuning value, else default."""
    if hyperparameters is None:
        return SELF_TUNING_HPARAMS.get(name, DEFAULTS.get(name))
    return getattr(hyperparameters, name, DEFAULTS.get(name))


class ScaleByNadamState(NamedTuple):
    count: jax.Array
    mu: optax.Updates
    nu: optax.Updates


def scale_by_nadam(b1: float, b2: float, eps: float = 1e-8) -> optax.GradientTransformation:
    """The NAdam direction u (module docstring) with the harness's bias corrections."""

    def init(params):
        zeros = jax.tree.map(jnp.zeros_like, params)
        return ScaleByNadamState(jnp.zeros([], jnp.int32), zeros, zeros)

    def update(updates, state, params=None):
        del params
        mu = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state.mu, updates)
        nu = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, state.nu, updates)
        t = state.count + 1
        c1, c2 = 1 - b1 ** t.astype(jnp.float32), 1 - b2 ** t.astype(jnp.float32)
        direction = jax.tree.map(
            lambda m, v, g: (b1 * m + (1 - b1) * g) / c1 / (jnp.sqrt(v / c2) + eps),
            mu, nu, updates,
        )
        return direction, ScaleByNadamState(t, mu, nu)

    return optax.GradientTransformation(init, update)


def nadamw(schedule, b1: float, b2: float, eps: float, weight_decay: float):
    return optax.chain(
        scale_by_nadam(b1, b2, eps),
        optax.add_decayed_weights(weight_decay),
        optax.scale_by_learning_rate(schedule),
    )


def get_batch_size(workload_name: str) -> int:
    return _settings_batch_size(workload_name)


def init_optimizer_state(workload, model_params, model_state, hyperparameters, rng):
    del model_state, rng
    total = int(STEP_HINT_FACTOR * workload.step_hint)
    warmup = int(hparam(hyperparameters, "warmup_factor") * total)
    peak = hparam(hyperparameters, "learning_rate")
    opt = nadamw(
        lambda k: warmup_cosine(k, peak, warmup, total, xp=jnp),
        b1=1.0 - hparam(hyperparameters, "one_minus_beta1"),
        b2=hparam(hyperparameters, "beta2"),
        eps=1e-8,
        weight_decay=hparam(hyperparameters, "weight_decay"),
    )
    return opt.init(model_params), opt.update


@functools.partial(jax.jit, static_argnums=(0, 1))
def _train_step(workload, update_fn, opt_state, params, model_state, batch, rng,
                label_smoothing, dropout_rate, grad_clip):
    def loss_of(p):
        logits, new_model_state = workload.model_fn(
            p, batch, model_state, spec.ForwardPassMode.TRAIN, rng,
            update_batch_norm=True, dropout_rate=dropout_rate,
        )
        losses = workload.loss_fn(
            label_batch=batch["targets"], logits_batch=logits,
            mask_batch=batch.get("weights"), label_smoothing=label_smoothing,
        )
        return losses["summed"] / losses["n_valid_examples"], new_model_state

    (loss, new_model_state), grads = jax.value_and_grad(loss_of, has_aux=True)(params)
    if grad_clip is not None:
        norm = optax.global_norm(grads)
        grads = jax.tree.map(lambda g: g * jnp.minimum(1.0, grad_clip / (norm + 1e-6)), grads)
    updates, opt_state = update_fn(grads, opt_state, params)
    return opt_state, optax.apply_updates(params, updates), new_model_state, loss


def update_params(
    workload, current_param_container, current_params_types, model_state, hyperparameters,
    batch, loss_type, optimizer_state, eval_results, global_step, rng, train_state=None,
):
    del current_params_types, loss_type, eval_results, train_state
    opt_state, update_fn = optimizer_state
    opt_state, params, model_state, loss = _train_step(
        workload, update_fn, opt_state, current_param_container, model_state, batch, rng,
        hparam(hyperparameters, "label_smoothing"), hparam(hyperparameters, "dropout_rate"),
        hparam(hyperparameters, "grad_clip"),
    )
    if global_step % LOG_EVERY_STEPS == 0 and workload.metrics_logger is not None:
        workload.metrics_logger.append_scalar_metrics({"loss": float(loss)}, global_step)
    return (opt_state, update_fn), params, model_state


def prepare_for_eval(
    workload, current_param_container, current_params_types, model_state, hyperparameters,
    loss_type, optimizer_state, eval_results, global_step, rng,
):
    """NAdamW evaluates the parameters it trains: nothing to do."""
    del workload, current_params_types, hyperparameters, loss_type, eval_results
    del global_step, rng
    return optimizer_state, current_param_container, model_state


def data_selection(
    workload, input_queue, optimizer_state, current_param_container, model_state,
    hyperparameters, global_step, rng,
):
    del workload, optimizer_state, current_param_container, model_state
    del hyperparameters, global_step, rng
    return next(input_queue)
