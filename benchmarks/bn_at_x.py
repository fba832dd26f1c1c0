"""BatchNorm statistics at x: accuracy at eval and what it costs, on digits_resnet.

One training run of our self-tuning PyTorch submission on the embedded
BatchNorm workload. At each of ``--evals`` eval points the same parameters x
are evaluated twice on the validation split:

* ``bn_at_y``: with the running statistics the training forwards at y left
  (what the AlgoPerf v0.5 entry evaluated);
* ``bn_at_x``: after ``prepare_for_eval``, which recomputes them at x from the
  last ``bn_batches`` training batches (ours).

Costs, in CPU seconds of this process: a training step (``update_params``);
``prepare_for_eval`` (the recompute, paid once per eval); and one no-grad
forward, which the AlgoPerf v2 entry pays on one step in three
(``extra_forward_mod3``). Writes results/bn_at_x/digits_resnet.json.

    python benchmarks/bn_at_x.py [--steps 600] [--evals 6] [--seed 0]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import sys
from pathlib import Path

import numpy as np
import torch

from sfadamw import spec
from sfadamw.runner import submission as submission_loader
from sfadamw.workloads import get_workload

ROOT = Path(__file__).resolve().parents[1]
SUBMISSION = ROOT / "submissions/self_tuning/schedule_free_adamw/pytorch/submission.py"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def validation_accuracy(workload, model, model_state) -> float:
    metrics = workload._eval_model_on_split(
        "validation",
        workload.num_validation_examples,
        workload.eval_batch_size,
        model,
        model_state,
        None,
        None,
    )
    return float(metrics["accuracy"])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--evals", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(ROOT / "results/bn_at_x/digits_resnet.json"))
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    workload = get_workload("digits_resnet", "pytorch")
    module = submission_loader.load(str(SUBMISSION))
    model, model_state = workload.init_model_fn(np.array([0, args.seed], dtype=np.uint32))
    opt_state = module.init_optimizer_state(workload, model, model_state, None, None)
    queue = workload._build_input_queue(
        np.array([1, args.seed], dtype=np.uint32),
        "train",
        None,
        module.get_batch_size("digits_resnet"),
    )
    eval_steps = set(np.linspace(args.steps / args.evals, args.steps, args.evals).astype(int))
    rows, step_cpu, prepare_cpu, forward_cpu = [], [], [], []
    for step in range(1, args.steps + 1):
        batch = next(queue)
        t = cpu_seconds()
        opt_state, model, model_state = module.update_params(
            workload,
            model,
            None,
            model_state,
            None,
            batch,
            workload.loss_type,
            opt_state,
            [],
            step,
            None,
        )
        step_cpu.append(cpu_seconds() - t)
        if step not in eval_steps:
            continue
        t = cpu_seconds()
        with torch.no_grad():
            workload.model_fn(
                copy.deepcopy(model), batch, model_state, spec.ForwardPassMode.TRAIN, None, True
            )
        forward_cpu.append(cpu_seconds() - t)
        at_y_stats = copy.deepcopy(model)  # parameters y, statistics from the y forwards
        opt_state["optimizer"].eval()
        with torch.no_grad():  # the same x, statistics left from y
            for p, q in zip(at_y_stats.parameters(), model.parameters(), strict=True):
                p.copy_(q)
        acc_y = validation_accuracy(workload, at_y_stats, model_state)
        opt_state["optimizer"].train()
        t = cpu_seconds()
        opt_state, model, model_state = module.prepare_for_eval(
            workload, model, None, model_state, None, None, opt_state, [], step, None
        )
        prepare_cpu.append(cpu_seconds() - t)
        acc_x = validation_accuracy(workload, model, model_state)
        rows.append({"step": step, "bn_at_y": acc_y, "bn_at_x": acc_x})
        print(
            f"step {step:5d}  validation accuracy  BN at y {acc_y:.4f}  BN at x {acc_x:.4f}",
            flush=True,
        )
    step_s, prepare_s, forward_s = (
        float(np.median(v)) for v in (step_cpu, prepare_cpu, forward_cpu)
    )
    evals_per_step = args.evals / args.steps
    result = {
        "workload": "digits_resnet",
        "framework": "pytorch",
        "submission": str(SUBMISSION.relative_to(ROOT)),
        "steps": args.steps,
        "seed": args.seed,
        "evals": rows,
        "median_cpu_s": {
            "update_params": step_s,
            "prepare_for_eval": prepare_s,
            "no_grad_forward": forward_s,
        },
        "overhead_fraction_of_training": {
            "recompute_at_x_per_eval": prepare_s * evals_per_step / step_s,
            "v2_extra_forward_every_third_step": forward_s / 3 / step_s,
        },
        "command": "python benchmarks/bn_at_x.py " + " ".join(argv),
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    os.replace(tmp, args.out)
    o = result["overhead_fraction_of_training"]
    print(f"cpu s: step {step_s:.4f}, prepare_for_eval {prepare_s:.4f}, forward {forward_s:.4f}")
    print(
        f"overhead: recompute at x {o['recompute_at_x_per_eval']:.2%} of training time "
        f"(at {args.evals} evals / {args.steps} steps); v2 extra forward "
        f"{o['v2_extra_forward_every_third_step']:.2%}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
