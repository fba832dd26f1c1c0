"""update_params at imagenet_resnet shapes: ours against the AlgoPerf v2 entry's per-step pattern.

Both train the same ResNet-50 (torchvision's v1.5 layout, 25,557,032 parameters,
BatchNorm) on fixed random ImageNet-shaped batches (NCHW float32, 1000
classes) with the same optimizer core (:class:`sfadamw.torch.ScheduleFreeAdamW`):

* ``ours``: ``update_params`` of submissions/self_tuning/schedule_free_adamw
  (params hold y; forward/backward, one fused step; BatchNorm statistics are
  recomputed at x in ``prepare_for_eval``, once per eval, timed separately);
* ``v2_style``: the structure of the published v2 entry (doc:
  ../shared/docs/schedule-free-adamw.md): params hold x between steps, and
  every step switches them to y and back (two passes over the parameters and
  z), copies y (the entry clones it to decay at y), trains with
  ``update_batch_norm=False``, and on two steps in three (external tuning) runs
  an extra no-grad forward at x to refresh the BatchNorm statistics; its
  optimizer preset is ``algoperf_v2``.

The variants take turns (``--rounds``), each round timing ``--steps`` steps of
each after one warm-up step, so a changing load hits both alike. Prints the
medians and writes results/benchmarks/update_params_<device>.json.

    python benchmarks/update_params_overhead.py                       # CPU: batch 16, 64 px
    python benchmarks/update_params_overhead.py --device cuda --batch 128 --image-size 224

On a GPU, ``--batch 128 --image-size 224`` is the per-device batch of the
AlgoPerf imagenet_resnet run (global batch 1024 on 8 GPUs). On a CPU the
default is smaller so that a round takes seconds, not minutes; the optimizer
work per step does not depend on the batch, so there the per-step overheads
are a larger fraction of the step than at the real batch.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sfadamw import spec
from sfadamw.algoperf import variants
from sfadamw.runner import submission as submission_loader
from sfadamw.torch import ScheduleFreeAdamW
from sfadamw.workloads.torch_base import TorchWorkload, masked_sum, softmax_cross_entropy

ROOT = Path(__file__).resolve().parents[1]
OURS = ROOT / "submissions/self_tuning/schedule_free_adamw/pytorch/submission.py"
IMAGENET_RESNET_STEP_HINT = 186_666  # the harness's imagenet_resnet step_hint


class Bottleneck(nn.Module):
    def __init__(self, cin: int, width: int, stride: int) -> None:
        super().__init__()
        cout = 4 * width
        self.body = nn.Sequential(
            nn.Conv2d(cin, width, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, stride, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        )
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class ResNet50(nn.Module):
    """ResNet-50 v1.5 (stride in the 3x3 convs), as torchvision and the AlgoPerf workload."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(3, 64, 7, 2, 3, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.MaxPool2d(3, 2, 1),
        ]
        cin = 64
        for i, (width, blocks) in enumerate(zip((64, 128, 256, 512), (3, 4, 6, 3), strict=True)):
            for j in range(blocks):
                layers.append(Bottleneck(cin, width, 2 if i > 0 and j == 0 else 1))
                cin = 4 * width
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))


class ImagenetShapedWorkload(TorchWorkload):
    """A ResNet-50 on ImageNet-shaped batches given directly (no input pipeline)."""

    name = "imagenet_resnet"
    algoperf_analog = "imagenet_resnet"
    target_metric_name = "accuracy"
    validation_target_value = test_target_value = 0.0
    max_allowed_runtime_sec = eval_period_time_sec = 0.0
    step_hint = IMAGENET_RESNET_STEP_HINT
    num_train_examples = num_eval_train_examples = 1_281_167
    num_validation_examples = num_test_examples = 50_000

    def _build_model(self) -> nn.Module:
        return ResNet50()

    def _split_arrays(self, split: str):
        raise NotImplementedError("batches are given directly")

    def _metric_sums(self, logits, batch):
        raise NotImplementedError("no evaluation here")

    def loss_fn(self, label_batch, logits_batch, mask_batch=None, label_smoothing: float = 0.0):
        return masked_sum(
            softmax_cross_entropy(label_batch, logits_batch, label_smoothing), mask_batch
        )


def ours(workload, model) -> tuple[Callable[[dict, int], None], Callable[[], None]]:
    """Our self-tuning submission's update_params and prepare_for_eval."""
    module = submission_loader.load(str(OURS))
    state = module.init_optimizer_state(workload, model, None, None, None)

    def update(batch: dict, step: int) -> None:
        module.update_params(
            workload, model, None, None, None, batch, workload.loss_type, state, [], step, None
        )

    def prepare() -> None:
        module.prepare_for_eval(
            workload, model, None, None, None, workload.loss_type, state, [], 0, None
        )

    return update, prepare


def v2_style(workload, model) -> Callable[[dict, int], None]:
    """The published v2 entry's step structure (module docstring), on our optimizer core."""
    variant = variants.get_variant("schedule_free_adamw_v2", "external")
    hparams = variants.resolve_hyperparameters(variant, None)
    optimizer = ScheduleFreeAdamW(
        model.parameters(), **variants.optimizer_kwargs(variant, hparams, workload.step_hint)
    )
    optimizer.eval()  # params hold x between steps
    params = list(model.parameters())
    y_copy = [torch.empty_like(p) for p in params]

    def forward(batch: dict, update_batch_norm: bool):
        logits, _ = workload.model_fn(
            model, batch, None, spec.ForwardPassMode.TRAIN, None, update_batch_norm
        )
        return logits

    def update(batch: dict, step: int) -> None:
        if step % 3 != 0:  # external tuning: refresh the statistics at x
            with torch.no_grad():
                forward(batch, True)
        optimizer.train()  # x -> y
        optimizer.zero_grad(set_to_none=True)
        losses = workload.loss_fn(batch["targets"], forward(batch, False))
        (losses["summed"] / losses["n_valid_examples"]).backward()
        torch._foreach_copy_(y_copy, params)  # the entry's clone of y (decay at y)
        optimizer.step()
        optimizer.eval()  # y -> x

    return update


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def run(args: argparse.Namespace) -> dict:
    device = args.device
    torch.manual_seed(0)
    workload = ImagenetShapedWorkload()
    gen = torch.Generator().manual_seed(1)
    shape = (args.batch, 3, args.image_size, args.image_size)
    batches = [
        {
            "inputs": torch.randn(shape, generator=gen).to(device),
            "targets": torch.randint(0, 1000, (args.batch,), generator=gen).to(device),
        }
        for _ in range(3)
    ]
    contenders: dict[str, Callable[[dict, int], None]] = {}
    prepare = None
    for name in ("ours", "v2_style"):
        model, _ = workload.init_model_fn(np.array([0, 0], dtype=np.uint32))
        model.to(device)
        if name == "ours":
            contenders[name], prepare = ours(workload, model)
        else:
            contenders[name] = v2_style(workload, model)
    times: dict[str, list[float]] = {name: [] for name in contenders}
    step = 0
    for _ in range(args.rounds):
        for name, update in contenders.items():
            update(batches[0], step)  # warm-up (and the first compile of the fused step)
            _sync(device)
            for i in range(args.steps):
                step += 1
                start = time.perf_counter()
                update(batches[(i + 1) % len(batches)], step)
                _sync(device)
                times[name].append(time.perf_counter() - start)
            print(f"  {name}: {1e3 * statistics.median(times[name]):.1f} ms so far", flush=True)
    prepare_times = []
    for _ in range(3):
        start = time.perf_counter()
        prepare()
        _sync(device)
        prepare_times.append(time.perf_counter() - start)
        contenders["ours"](batches[0], step)  # back to training (switches to y again)
        _sync(device)
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    return {
        "schema": "sfadamw.bench.update_params/1",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "device": device,
        "device_name": torch.cuda.get_device_name(device)
        if device.startswith("cuda")
        else platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "batch": args.batch,
        "image_size": args.image_size,
        "rounds": args.rounds,
        "steps_per_round": args.steps,
        "parameters": sum(p.numel() for p in ResNet50().parameters()),
        "median_ms": {name: 1e3 * m for name, m in medians.items()},
        "times_ms": {name: [1e3 * t for t in ts] for name, ts in times.items()},
        "v2_style_over_ours": medians["v2_style"] / medians["ours"],
        "prepare_for_eval_ms": 1e3 * statistics.median(prepare_times),
        "command": " ".join(["python", "benchmarks/update_params_overhead.py", *sys.argv[1:]]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--batch", type=int, default=None, help="default: 16 on CPU, 128 on GPU")
    parser.add_argument("--image-size", type=int, default=None, help="default: 64 CPU, 224 GPU")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per variant and round")
    parser.add_argument("--out", default=str(ROOT / "results/benchmarks"))
    args = parser.parse_args(argv)
    gpu = args.device.startswith("cuda")
    if gpu and not torch.cuda.is_available():
        print("update_params_overhead.py: --device cuda but no CUDA device; use --device cpu",
              file=sys.stderr)
        return 2
    args.batch = args.batch or (128 if gpu else 16)
    args.image_size = args.image_size or (224 if gpu else 64)
    if min(args.batch, args.image_size, args.rounds, args.steps) < 1:
        print("update_params_overhead.py: --batch, --image-size, --rounds and --steps must be "
              ">= 1", file=sys.stderr)
        return 2
    result = run(args)
    print(
        f"ResNet-50, batch {args.batch} x {args.image_size}px on {args.device}: update_params "
        f"ours {result['median_ms']['ours']:.1f} ms, v2-style "
        f"{result['median_ms']['v2_style']:.1f} ms ({result['v2_style_over_ours']:.3f}x); "
        f"prepare_for_eval (ours, once per eval) {result['prepare_for_eval_ms']:.1f} ms"
    )
    out = Path(args.out) / f"update_params_{'cuda' if gpu else 'cpu'}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    os.replace(tmp, out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
