"""Interleaved ResNet-50-shaped step timings: ours (compiled) vs torch fused AdamW vs schedulefree.

On a shared machine, ``sfadamw bench step`` times one optimizer after another, so
load changes between rows. Here the optimizers take turns step by step (and a
triad runs in each round), so every row sees the same load; wall min/median and
process CPU time per step are printed.

    PYTHONPATH=src python benchmarks/step_paired.py --threads 1 --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import time

import schedulefree
import torch

from sfadamw.bench import BYTES_PER_PARAM, TRIAD_BYTES_PER_ELEMENT, resnet50_shapes
from sfadamw.torch import ScheduleFreeAdamW

HP = dict(lr=1e-3, weight_decay=0.1)


def _ready(make, shapes):
    gen = torch.Generator().manual_seed(0)
    params = [torch.randn(s, generator=gen).requires_grad_() for s in shapes]
    for p in params:
        p.grad = torch.randn(p.shape, generator=gen).mul_(1e-2)
    opt = make(params)
    if hasattr(opt, "train"):
        opt.train()
    opt.step()  # state (and compile)
    return opt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    shapes = resnet50_shapes()
    n = sum(torch.Size(s).numel() for s in shapes)
    opts = {
        "ours_compiled": _ready(
            lambda ps: ScheduleFreeAdamW(ps, **HP, implementation="compiled"), shapes
        ),
        "torch_adamw_fused": _ready(lambda ps: torch.optim.AdamW(ps, **HP, fused=True), shapes),
        "schedulefree_foreach": _ready(
            lambda ps: schedulefree.AdamWScheduleFree(ps, **HP, foreach=True), shapes
        ),
    }
    elements = 1 << 27
    a, b, c = torch.empty(elements), torch.ones(elements), torch.ones(elements)
    wall: dict[str, list[float]] = {k: [] for k in [*opts, "triad"]}
    cpu: dict[str, list[float]] = {k: [] for k in opts}
    for _ in range(args.rounds):
        for name, opt in opts.items():
            t0, c0 = time.perf_counter(), time.process_time()
            opt.step()
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
        t0 = time.perf_counter()
        torch.add(b, c, alpha=3.0, out=a)
        wall["triad"].append(time.perf_counter() - t0)
    print(f"ResNet-50 shapes ({n} params), {args.threads} thread(s), {args.rounds} rounds")
    for name, times in wall.items():
        moved = TRIAD_BYTES_PER_ELEMENT * elements if name == "triad" else BYTES_PER_PARAM * n
        best, median = 1e3 * min(times), 1e3 * statistics.median(times)
        line = f"{name:<22} min {best:8.1f} ms  median {median:8.1f} ms"
        line += f"  {moved / min(times) / 1e9:6.2f} GB/s"
        if name in cpu:
            line += f"  cpu {1e3 * statistics.median(cpu[name]):8.1f} ms"
        print(line)


if __name__ == "__main__":
    main()
