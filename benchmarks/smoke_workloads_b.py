"""Time a few training steps and one full eval of each workloads-b workload (as CI runs them).

For each workload and framework: build the input queue and model (untimed), run
``--steps`` Adam steps at the calibration batch size, then one ``eval_model``
over eval_train, validation and test. Prints one JSON line per workload with the
seconds of each phase.

    PYTHONPATH=src python benchmarks/smoke_workloads_b.py [--steps 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from sfadamw import spec
from sfadamw.workloads import available, get_workload

WORKLOADS = ("motif_gnn", "numbers_transformer", "synth_conformer", "pystdlib_gpt")
BATCH_SIZES = {"motif_gnn": 128, "numbers_transformer": 64, "synth_conformer": 32,
               "pystdlib_gpt": 32}  # fmt: skip


def _steps_torch(workload, batch_size: int, steps: int) -> torch.nn.Module:
    model, state = workload.init_model_fn(0)
    queue = workload._build_input_queue(0, "train", None, batch_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(steps):
        batch = next(queue)
        logits, _ = workload.model_fn(model, batch, state, spec.ForwardPassMode.TRAIN, 0, True)
        loss = workload.loss_fn(batch["targets"], logits, batch.get("weights"))
        optimizer.zero_grad()
        (loss["summed"] / loss["n_valid_examples"]).backward()
        optimizer.step()
    return model


def _steps_jax(workload, batch_size: int, steps: int):
    import jax
    import optax

    params, state = workload.init_model_fn(jax.random.PRNGKey(0))
    queue = workload._build_input_queue(0, "train", None, batch_size)
    optimizer = optax.adam(1e-3)
    opt_state = optimizer.init(params)

    @jax.jit
    def step(params, opt_state, batch, rng):
        def loss_of(p):
            logits, _ = workload.model_fn(p, batch, state, spec.ForwardPassMode.TRAIN, rng, True)
            loss = workload.loss_fn(batch["targets"], logits)
            return loss["summed"] / loss["n_valid_examples"]

        grads = jax.grad(loss_of)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    for i in range(steps):
        params, opt_state = step(params, opt_state, next(queue), jax.random.PRNGKey(i))
    jax.block_until_ready(params)
    return params


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    found = available()
    for name in WORKLOADS:
        for framework in found[name]:
            workload = get_workload(name, framework)
            start = time.perf_counter()
            run = _steps_jax if framework == "jax" else _steps_torch
            params = run(workload, BATCH_SIZES[name], args.steps)
            trained = time.perf_counter()
            metrics = workload.eval_model(workload.eval_batch_size, params, None, 0, None)
            done = time.perf_counter()
            print(json.dumps({
                "workload": name, "framework": framework, "steps": args.steps,
                "train_sec": round(trained - start, 2), "eval_sec": round(done - trained, 2),
                f"validation/{workload.target_metric_name}":
                    round(metrics[f"validation/{workload.target_metric_name}"], 4),
            }), flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
