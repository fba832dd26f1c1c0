"""Check digits_resnet's calibrated target in JAX with the same NAdamW baseline.

``optax.nadamw`` with the settings the PyTorch calibration tuned
(``benchmarks/calibrate_workloads.py``): learning rate 3e-3 warmed up linearly
over 20 steps, cosine decay to 0 at step 400, betas (0.9, 0.999), eps 1e-8,
weight decay 0.05, batch 128. Prints validation accuracy every 100 steps and
the first step (and CPU seconds) at which the validation target is reached,
evaluating every 20 steps.

    PYTHONPATH=src python benchmarks/check_digits_resnet_jax.py [seeds...]
"""

from __future__ import annotations

import sys
import time

import jax
import optax

from sfadamw import spec
from sfadamw.workloads import get_workload

LR, WARMUP, STEPS, BATCH = 3e-3, 20, 400, 128


def run(seed: int) -> tuple[int, float] | None:
    workload = get_workload("digits_resnet", "jax")
    params, state = workload.init_model_fn(jax.random.PRNGKey(seed))
    schedule = optax.join_schedules(
        [
            optax.linear_schedule(LR / WARMUP, LR, WARMUP),
            optax.cosine_decay_schedule(LR, STEPS - WARMUP),
        ],
        [WARMUP],
    )
    opt = optax.nadamw(schedule, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.05)
    opt_state = opt.init(params)

    @jax.jit
    def step(params, state, opt_state, batch):
        def loss(p):
            logits, new_state = workload.model_fn(
                p, batch, state, spec.ForwardPassMode.TRAIN, None, True
            )
            out = workload.loss_fn(batch["targets"], logits)
            return out["summed"] / out["n_valid_examples"], new_state

        (_, new_state), grads = jax.value_and_grad(loss, has_aux=True)(params)
        updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), new_state, opt_state

    queue = workload._build_input_queue(seed, "train", None, BATCH)
    cpu, first = 0.0, None
    for i in range(1, STEPS + 1):
        start = time.process_time()
        params, state, opt_state = step(params, state, opt_state, next(queue))
        jax.block_until_ready(params)
        cpu += time.process_time() - start
        if i % 20 == 0:
            n = workload.num_validation_examples
            acc = workload._eval_model_on_split("validation", n, n, params, state, None, None)
            if first is None and acc["accuracy"] >= workload.validation_target_value:
                first = (i, round(cpu, 1))
            if i % 100 == 0:
                print(f"seed {seed} step {i} cpu {cpu:.1f}s accuracy {acc['accuracy']:.4f}")
    print(
        f"seed {seed}: target {workload.validation_target_value} first reached at "
        f"(step, cpu s) = {first}",
        flush=True,
    )
    return first


if __name__ == "__main__":
    for seed in [int(s) for s in sys.argv[1:]] or [0, 1]:
        run(seed)
