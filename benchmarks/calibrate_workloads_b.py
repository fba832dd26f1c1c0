"""Calibrate targets, step_hint, budget and eval period of motif_gnn, numbers_transformer,
synth_conformer and pystdlib_gpt (PyTorch) with the AlgoPerf baseline, NAdamW.

The procedure (one for all four workloads):

1. Baseline: ``torch.optim.NAdam(decoupled_weight_decay=True)`` (NAdamW, the
   AlgoPerf baseline's update), betas (0.9, 0.98), eps 1e-8, weight decay 0.1,
   linear warmup over the first 5% of ``step_hint`` steps then cosine decay to 0
   at ``step_hint``, each workload's default dropout, no label smoothing, the
   global batch size in ``BATCH_SIZES``.
2. ``step_hint`` is fixed per workload beforehand (``STEP_HINTS``) from its
   measured training speed so that it is 30-120 s of training on 2 cores.
3. Grid: peak learning rate in ``LEARNING_RATES`` with seed 0, training for
   ``step_hint`` steps and evaluating validation and test every ``step_hint / 10``
   steps (eval time not counted). The tuned baseline is the learning rate with
   the best final validation metric; it is rerun with seed 1.
4. Targets: over the two seeds of the tuned baseline, the worse of their best
   validation (test) metrics, relaxed by ``MARGIN`` (2%) towards "easier" so the
   baseline reliably reaches it: ``target = worst * (1 - MARGIN)`` when higher is
   better, ``worst * (1 + MARGIN)`` when lower is better.
5. Time to target: the first eval step at which both seeds have reached the
   validation target, in seconds at the measured training speed (median
   seconds per step over all runs). Budget ``max_allowed_runtime_sec`` = 3x that
   time (rounded up to 10 s), eval period = budget / 20 (rounded to 1 s).

Run (writes a JSON record and prints a table; minutes per workload on 2 cores):

    PYTHONPATH=src python benchmarks/calibrate_workloads_b.py \
        --out results/benchmarks/calibrate_workloads_b.json [--workloads motif_gnn ...]

Thread count: ``--threads`` (default 1). On this 2-core machine shared by several
processes, torch's 2-thread OpenMP kernels ran a 2858x64 @ 64x64 matmul 40x
slower than one thread (16 ms vs 0.4 ms), so one thread is what we calibrate with.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time

import torch

from sfadamw import spec
from sfadamw.workloads import get_workload

WORKLOADS = ("motif_gnn", "numbers_transformer", "synth_conformer", "pystdlib_gpt")
BATCH_SIZES = {"motif_gnn": 128, "numbers_transformer": 64, "synth_conformer": 32,
               "pystdlib_gpt": 32}  # fmt: skip
STEP_HINTS = {"motif_gnn": 600, "numbers_transformer": 300, "synth_conformer": 250,
              "pystdlib_gpt": 500}  # fmt: skip
LEARNING_RATES = (2e-3, 5e-3)
BETAS, EPS, WEIGHT_DECAY, WARMUP_FRACTION = (0.9, 0.98), 1e-8, 0.1, 0.05
MARGIN = 0.02
NUM_EVALS = 10


def lr_factor(step: int, step_hint: int) -> float:
    """Linear warmup to 1 over WARMUP_FRACTION * step_hint, then cosine decay to 0."""
    warmup = max(1, int(WARMUP_FRACTION * step_hint))
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, step_hint - warmup))
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def train_run(name: str, lr: float, seed: int) -> dict:
    """One NAdamW run of ``STEP_HINTS[name]`` steps; evals validation and test."""
    workload = get_workload(name, "pytorch")
    step_hint, batch_size = STEP_HINTS[name], BATCH_SIZES[name]
    model, model_state = workload.init_model_fn(seed)
    optimizer = torch.optim.NAdam(
        model.parameters(), lr=lr, betas=BETAS, eps=EPS, weight_decay=WEIGHT_DECAY,
        decoupled_weight_decay=True,
    )  # fmt: skip
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, step_hint))
    queue = workload._build_input_queue(seed, "train", None, batch_size)
    eval_every = step_hint // NUM_EVALS
    evals, train_seconds = [], 0.0
    for step in range(1, step_hint + 1):
        start = time.perf_counter()
        batch = next(queue)
        logits, _ = workload.model_fn(
            model, batch, model_state, spec.ForwardPassMode.TRAIN, None, True
        )
        loss = workload.loss_fn(batch["targets"], logits, batch.get("weights"))
        optimizer.zero_grad(set_to_none=True)
        (loss["summed"] / loss["n_valid_examples"]).backward()
        optimizer.step()
        scheduler.step()
        train_seconds += time.perf_counter() - start
        if step % eval_every == 0:
            metric = workload.target_metric_name
            point = {"step": step, "train_seconds": round(train_seconds, 2)}
            for split, n in (("validation", workload.num_validation_examples),
                             ("test", workload.num_test_examples)):  # fmt: skip
                result = workload._eval_model_on_split(
                    split, n, workload.eval_batch_size, model, model_state, 0, None
                )
                point[split] = result[metric]
            evals.append(point)
            print(f"  {name} lr={lr:g} seed={seed} {point}", flush=True)
    return {"lr": lr, "seed": seed, "evals": evals,
            "seconds_per_step": train_seconds / step_hint}  # fmt: skip


def calibrate(name: str) -> dict:
    workload = get_workload(name, "pytorch")
    lower = workload.target_metric_lower_is_better
    best = min if lower else max
    grid = [train_run(name, lr, seed=0) for lr in LEARNING_RATES]
    tuned = best(grid, key=lambda r: r["evals"][-1]["validation"])
    seeds = [tuned, train_run(name, tuned["lr"], seed=1)]
    targets = {}
    for split in ("validation", "test"):
        per_seed = [best(e[split] for e in run["evals"]) for run in seeds]
        worst = max(per_seed) if lower else min(per_seed)
        targets[split] = worst * (1 + MARGIN) if lower else worst * (1 - MARGIN)

    def reached(value: float) -> bool:
        return value <= targets["validation"] if lower else value >= targets["validation"]

    step_to_target = max(
        next(e["step"] for e in run["evals"] if reached(e["validation"])) for run in seeds
    )
    seconds_per_step = statistics.median(r["seconds_per_step"] for r in grid + seeds[1:])
    time_to_target = step_to_target * seconds_per_step
    budget = 10 * math.ceil(3 * time_to_target / 10)
    return {
        "workload": name,
        "batch_size": BATCH_SIZES[name],
        "step_hint": STEP_HINTS[name],
        "tuned_lr": tuned["lr"],
        "validation_target_value": round(targets["validation"], 4),
        "test_target_value": round(targets["test"], 4),
        "step_to_target": step_to_target,
        "seconds_per_step": round(seconds_per_step, 4),
        "time_to_target_sec": round(time_to_target, 1),
        "max_allowed_runtime_sec": budget,
        "eval_period_time_sec": max(1, round(budget / 20)),
        "runs": grid + seeds[1:],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=list(WORKLOADS))
    parser.add_argument("--out", default="results/benchmarks/calibrate_workloads_b.json")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    record = {}
    if os.path.exists(args.out):
        with open(args.out) as f:
            record = json.load(f)
    for name in args.workloads:
        result = calibrate(name)
        result["torch_threads"] = args.threads
        result["command"] = "PYTHONPATH=src python " + " ".join(sys.argv)
        record[name] = result
        summary = {k: v for k, v in result.items() if k != "runs"}
        print(json.dumps(summary), flush=True)
        os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
        tmp = args.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(record, f, indent=1)
        os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
