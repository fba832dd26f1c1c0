"""``sfadamw bench step``: time one optimizer step against memory bandwidth.

One run times, for parameter sets shaped like ResNet-50 (25.6M parameters in 161
tensors), a WMT Transformer-base (60.5M) and a small MLP (1.07M), the median
wall time of one step of each optimizer (fixed random gradients, float32):

- ours: :class:`sfadamw.torch.ScheduleFreeAdamW` with each kernel (default
  ``nonfinite="skip"``: one extra read of the gradients to check them), and the
  compiled kernel with ``nonfinite="ignore"`` (no check: the same work as the
  AdamW rows, which check nothing);
- schedulefree 1.4.1 ``AdamWScheduleFree`` (foreach and per-tensor);
- ``torch.optim.AdamW`` (foreach and fused);
- ``optax.adamw``, ``optax.contrib.schedule_free_adamw`` and ours in JAX (also
  with ``nonfinite="ignore"``), jitted with params and state donated
  (``params = apply_updates(params, updates)`` in the jitted function).

On a shared machine the load changes while the rows run one after another, so
the optimizers take turns: ``rounds`` passes over all of them per shape, each
timing ``repeats`` steps (within ``budget`` seconds); a row's median is over the
steps of every round, so each row sees the same mix of load.

A step reads params, grads and two state buffers and writes params and the two
buffers: at least 28 bytes per float32 parameter for all of them, so the
"effective bandwidth" is 28 * n_params / time. The machine's bandwidth is a
STREAM-triad-like ``a = b + s * c`` (``torch.add(b, c, alpha=s, out=a)``, all
threads) over float32 arrays much larger than the caches, counted as 12 bytes per
element, best of several repeats (as STREAM reports).

Memory above params + grads = optimizer state (bytes of the state tensors or
arrays, counted) + the transient peak of a step (measured: the process's peak
resident set (VmHWM) during the timed steps, reset before them through
/proc/self/clear_refs, minus the resident set before them; Linux only, else
``null``). Results go to ``results/benchmarks/step_<device>.json`` and a PNG
chart; a table with ratios to torch fused AdamW is printed.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import math
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sfadamw.errors import UserError

SCHEMA = "sfadamw.bench.step/1"
BYTES_PER_PARAM = 28
TRIAD_BYTES_PER_ELEMENT = 12
HYPERPARAMETERS = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)
REFERENCE = "torch_adamw_fused"


# --- parameter shapes ----------------------------------------------------------------
def resnet50_shapes() -> list[tuple[int, ...]]:
    """torchvision's ResNet-50 (v1.5) parameters: convs, BatchNorm weight and bias, fc."""
    shapes: list[tuple[int, ...]] = [(64, 3, 7, 7), (64,), (64,)]
    inplanes = 64
    for width, blocks in ((64, 3), (128, 4), (256, 6), (512, 3)):
        for block in range(blocks):
            out = 4 * width
            shapes += [(width, inplanes, 1, 1), (width,), (width,)]
            shapes += [(width, width, 3, 3), (width,), (width,)]
            shapes += [(out, width, 1, 1), (out,), (out,)]
            if block == 0:
                shapes += [(out, inplanes, 1, 1), (out,), (out,)]
            inplanes = out
    return shapes + [(1000, 2048), (1000,)]


def transformer_base_shapes(vocab: int = 32000, d: int = 512, ff: int = 2048) -> list:
    """WMT Transformer-base: shared 32k embedding, 6 encoder and 6 decoder layers."""

    def attention() -> list[tuple[int, ...]]:
        return [(d, d), (d,)] * 4  # q, k, v, out projections with biases

    def feed_forward() -> list[tuple[int, ...]]:
        return [(ff, d), (ff,), (d, ff), (d,)]

    norm = [(d,), (d,)]
    encoder = attention() + norm + feed_forward() + norm
    decoder = attention() + norm + attention() + norm + feed_forward() + norm
    return [(vocab, d)] + encoder * 6 + norm + decoder * 6 + norm


def mlp_shapes(dims: tuple[int, ...] = (784, 1024, 256, 10)) -> list[tuple[int, ...]]:
    """A small MLP: Linear weights and biases."""
    shapes: list[tuple[int, ...]] = []
    for fan_in, fan_out in zip(dims[:-1], dims[1:], strict=True):
        shapes += [(fan_out, fan_in), (fan_out,)]
    return shapes


SHAPES: dict[str, Callable[[], list[tuple[int, ...]]]] = {
    "resnet50": resnet50_shapes,
    "transformer_base": transformer_base_shapes,
    "mlp": mlp_shapes,
    "tiny": lambda: mlp_shapes((32, 64, 10)),  # for smoke tests
}
DEFAULT_SHAPES = "resnet50,transformer_base,mlp"


# --- measurement helpers --------------------------------------------------------------
def _status_kib(key: str) -> int | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    match = re.search(rf"^{key}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else None


class PeakRss:
    """Peak resident memory above the current level during a block (Linux)."""

    def __enter__(self) -> PeakRss:
        gc.collect()
        self.peak_bytes: int | None = None
        try:
            Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to VmRSS
            self.base = _status_kib("VmRSS")
        except OSError:
            self.base = None
        return self

    def __exit__(self, *exc: object) -> None:
        hwm = _status_kib("VmHWM")
        if self.base is not None and hwm is not None:
            self.peak_bytes = max(0, hwm - self.base) * 1024


def _time_steps(step: Callable[[], None], sync: Callable[[], None], repeats: int, budget_s: float):
    """Per-step times (s): at least 2 and at most ``repeats`` steps, within ~budget_s."""
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < repeats and (len(times) < 2 or time.perf_counter() - start < budget_s):
        t0 = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t0)
    return times


def triad(device: str, elements: int, repeats: int = 5) -> dict[str, Any]:
    """STREAM-triad-like a = b + s * c in float32 with torch (all threads)."""
    import torch

    b = torch.ones(elements, device=device)
    c = torch.full((elements,), 2.0, device=device)
    a = torch.empty(elements, device=device)
    sync = _sync(device)
    times = []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        torch.add(b, c, alpha=3.0, out=a)
        sync()
        times.append(time.perf_counter() - t0)
    times = times[1:]
    moved = TRIAD_BYTES_PER_ELEMENT * elements
    del a, b, c
    return dict(
        method="torch.add(b, c, alpha=s, out=a), float32, best of repeats",
        elements=elements,
        bytes_per_element=TRIAD_BYTES_PER_ELEMENT,
        threads=torch.get_num_threads(),
        gb_per_s=moved / min(times) / 1e9,
        gb_per_s_median=moved / statistics.median(times) / 1e9,
    )


def _sync(device: str) -> Callable[[], None]:
    import torch

    if device.startswith("cuda"):
        return torch.cuda.synchronize
    return lambda: None


# --- torch optimizers -----------------------------------------------------------------
def _torch_optimizers() -> dict[str, Callable[[list], Any]]:
    import schedulefree
    import torch

    from sfadamw.torch import ScheduleFreeAdamW

    hp = HYPERPARAMETERS

    def ours(implementation: str, nonfinite: str = "skip") -> Callable[[list], Any]:
        return lambda ps: ScheduleFreeAdamW(
            ps, **hp, implementation=implementation, nonfinite=nonfinite
        )

    def reference(foreach: bool) -> Callable[[list], Any]:
        def make(ps: list) -> Any:
            opt = schedulefree.AdamWScheduleFree(ps, **hp, foreach=foreach)
            opt.train()
            return opt

        return make

    return {
        "ours_compiled": ours("compiled"),
        "ours_compiled_nocheck": ours("compiled", "ignore"),
        "ours_foreach": ours("foreach"),
        "ours_single_tensor": ours("single_tensor"),
        "schedulefree_foreach": reference(True),
        "schedulefree_per_tensor": reference(False),
        "torch_adamw_foreach": lambda ps: torch.optim.AdamW(ps, **hp, foreach=True),
        REFERENCE: lambda ps: torch.optim.AdamW(ps, **hp, fused=True),
    }


def _state_bytes_torch(opt: Any) -> int:
    import torch

    return sum(
        v.numel() * v.element_size()
        for state in opt.state.values()
        for v in state.values()
        if isinstance(v, torch.Tensor) and v.dim() > 0
    )


def bench_torch(
    name: str, make: Callable, shapes: list, device: str, repeats: int, budget_s: float
) -> dict[str, Any]:
    import torch

    gen = torch.Generator().manual_seed(0)
    params = [torch.randn(s, generator=gen).to(device).requires_grad_() for s in shapes]
    for p in params:
        p.grad = torch.randn(p.shape, generator=gen).mul_(1e-2).to(device)
    opt = make(params)
    sync = _sync(device)
    compile_start = time.perf_counter()
    opt.step()  # allocates state (and compiles, for the compiled kernel)
    sync()
    first_step_s = time.perf_counter() - compile_start
    opt.step()  # a second warm-up step, as for JAX
    sync()
    with PeakRss() as peak:
        times = _time_steps(opt.step, sync, repeats, budget_s)
    result = dict(
        times_ms=[1e3 * t for t in times],
        first_step_s=first_step_s,
        state_bytes=_state_bytes_torch(opt),
        step_peak_bytes=peak.peak_bytes if device == "cpu" else None,  # RSS: host memory only
    )
    del opt, params
    gc.collect()
    return result


# --- JAX optimizers -------------------------------------------------------------------
def _jax_optimizers() -> dict[str, Callable[[], Any]]:
    import optax

    hp = HYPERPARAMETERS

    def ours(nonfinite: str) -> Callable[[], Any]:
        def make() -> Any:
            from sfadamw.jax import schedule_free_adamw

            return schedule_free_adamw(**hp, preset="paper", nonfinite=nonfinite)

        return make

    return {
        "jax_ours": ours("skip"),
        "jax_ours_nocheck": ours("ignore"),
        "optax_schedule_free_adamw": lambda: optax.contrib.schedule_free_adamw(
            learning_rate=hp["lr"],
            b1=hp["betas"][0],
            b2=hp["betas"][1],
            eps=hp["eps"],
            weight_decay=hp["weight_decay"],
        ),
        "optax_adamw": lambda: optax.adamw(
            hp["lr"],
            b1=hp["betas"][0],
            b2=hp["betas"][1],
            eps=hp["eps"],
            weight_decay=hp["weight_decay"],
        ),
    }


def bench_jax(
    name: str, make: Callable, shapes: list, device: str, repeats: int, budget_s: float
) -> dict[str, Any]:
    import jax
    import numpy as np
    import optax

    backend = "gpu" if device.startswith("cuda") else "cpu"
    dev = jax.devices(backend)[0]
    opt = make()
    rng = np.random.default_rng(0)
    params = [jax.device_put(rng.standard_normal(s, dtype=np.float32), dev) for s in shapes]
    grads = [jax.device_put(1e-2 * rng.standard_normal(s, dtype=np.float32), dev) for s in shapes]
    state = opt.init(params)

    def step(params, state, grads):
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    jstep = jax.jit(step, donate_argnums=(0, 1))
    box = [params, state]

    def run() -> None:
        box[0], box[1] = jstep(box[0], box[1], grads)

    compile_start = time.perf_counter()
    run()
    jax.block_until_ready(box)
    first_step_s = time.perf_counter() - compile_start
    # jit compiles again on the second call: the arguments change from freshly placed
    # arrays (the initial state is uncommitted) to the step's own committed outputs.
    run()
    jax.block_until_ready(box)
    with PeakRss() as peak:
        times = _time_steps(run, lambda: jax.block_until_ready(box), repeats, budget_s)
    state_bytes = sum(
        leaf.size * leaf.dtype.itemsize
        for leaf in jax.tree_util.tree_leaves(box[1])
        if getattr(leaf, "ndim", 0) > 0
    )
    return dict(
        times_ms=[1e3 * t for t in times],
        first_step_s=first_step_s,
        state_bytes=state_bytes,
        step_peak_bytes=peak.peak_bytes if backend == "cpu" else None,
    )


# --- the run ----------------------------------------------------------------------------
def run_step_bench(
    *,
    device: str,
    shape_names: list[str],
    repeats: int,
    budget_s: float,
    triad_elements: int,
    rounds: int = 1,
    only: list[str] | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Time every optimizer on every shape; return the JSON-ready result."""
    import jax
    import torch

    torch.manual_seed(0)
    log(f"triad over {triad_elements} float32 elements ...")
    bandwidth = triad(device, triad_elements)
    shapes = {name: SHAPES[name]() for name in shape_names}
    suites = [("torch", _torch_optimizers(), bench_torch), ("jax", _jax_optimizers(), bench_jax)]
    rows = []
    for shape_name, shape_list in shapes.items():
        n_params = sum(math.prod(s) for s in shape_list)
        runs = [
            (framework, name, make, bench)
            for framework, makers, bench in suites
            for name, make in makers.items()
            if not only or name in only
        ]
        measured: dict[str, dict[str, Any]] = {}
        missing: dict[str, str] = {}
        for round_index in range(rounds):
            for _, name, make, bench in runs:
                if name in missing:
                    continue
                try:
                    m = bench(name, make, shape_list, device, repeats, budget_s)
                except (ImportError, AttributeError) as error:  # e.g. a package missing
                    missing[name] = str(error)
                    continue
                log(
                    f"  {shape_name:>16} {name:<26} round {round_index + 1}/{rounds}: "
                    f"{statistics.median(m['times_ms']):9.2f} ms"
                )
                if name not in measured:
                    measured[name] = m
                    continue
                acc = measured[name]
                acc["times_ms"] += m["times_ms"]
                if m["step_peak_bytes"] is not None:
                    acc["step_peak_bytes"] = max(acc["step_peak_bytes"] or 0, m["step_peak_bytes"])
        for framework, name, _, _ in runs:
            row: dict[str, Any] = dict(shape=shape_name, optimizer=name, framework=framework)
            if name in missing:
                row.update(available=False, note=f"not available: {missing[name]}")
                log(f"  {shape_name:>16} {name:<26} not available ({missing[name]})")
                rows.append(row)
                continue
            m = measured[name]
            median_s = statistics.median(m["times_ms"]) / 1e3
            gbps = BYTES_PER_PARAM * n_params / median_s / 1e9
            state = m["state_bytes"]
            transient = m["step_peak_bytes"]
            row.update(
                available=True,
                note=None,
                median_ms=1e3 * median_s,
                steps=len(m["times_ms"]),
                rounds=rounds,
                times_ms=m["times_ms"],
                first_step_s=m["first_step_s"],
                effective_gb_per_s=gbps,
                fraction_of_triad=gbps / bandwidth["gb_per_s"],
                state_bytes=state,
                step_peak_bytes=transient,
                extra_peak_bytes=None if transient is None else state + transient,
            )
            rows.append(row)
        reference = next(
            (r for r in rows if r["shape"] == shape_name and r["optimizer"] == REFERENCE), None
        )
        for r in rows:
            if r["shape"] == shape_name and r.get("available"):
                ok = reference is not None and reference.get("available")
                r["ratio_to_torch_fused_adamw"] = (
                    r["median_ms"] / reference["median_ms"] if ok else None
                )
    return dict(
        schema=SCHEMA,
        created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        device=device,
        host=dict(
            machine=platform.machine(),
            processor=_cpu_name(),
            cpus=os.cpu_count(),
            torch_threads=torch.get_num_threads(),
        ),
        versions=dict(
            python=platform.python_version(), torch=torch.__version__, jax=jax.__version__
        ),
        hyperparameters=dict(HYPERPARAMETERS, betas=list(HYPERPARAMETERS["betas"])),
        bytes_per_param=BYTES_PER_PARAM,
        triad=bandwidth,
        memory_method=(
            "extra_peak_bytes = state_bytes (bytes of the optimizer's state tensors/arrays, "
            "counted) + step_peak_bytes (measured: VmHWM during the timed steps, reset via "
            "/proc/self/clear_refs, minus VmRSS before them; CPU only)"
        ),
        shapes={
            name: dict(params=sum(math.prod(s) for s in sl), tensors=len(sl))
            for name, sl in shapes.items()
        },
        results=rows,
        targets=evaluate_targets(rows, bandwidth),
    )


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _row(rows: list, shape: str, optimizer: str) -> dict | None:
    for r in rows:
        if r["shape"] == shape and r["optimizer"] == optimizer and r.get("available"):
            return r
    return None


def evaluate_targets(rows: list, bandwidth: dict) -> dict[str, Any]:
    """The issue's targets at the ResNet-50 shape (``None`` where not measured)."""
    ours = _row(rows, "resnet50", "ours_compiled")
    ours_nocheck = _row(rows, "resnet50", "ours_compiled_nocheck")
    fused = _row(rows, "resnet50", REFERENCE)
    sf = _row(rows, "resnet50", "schedulefree_foreach")
    jax_ours = _row(rows, "resnet50", "jax_ours")
    jax_nocheck = _row(rows, "resnet50", "jax_ours_nocheck")
    optax_adamw = _row(rows, "resnet50", "optax_adamw")
    out: dict[str, Any] = {}
    if ours and fused:
        out["ours_over_torch_fused_le_1.25"] = ours["median_ms"] / fused["median_ms"]
    if ours_nocheck and fused:
        out["ours_nocheck_over_torch_fused_le_1.25"] = (
            ours_nocheck["median_ms"] / fused["median_ms"]
        )
    if ours and sf:
        out["schedulefree_foreach_over_ours_ge_10"] = sf["median_ms"] / ours["median_ms"]
    if ours:
        out["ours_fraction_of_triad_ge_0.6"] = ours["fraction_of_triad"]
        n = sum(math.prod(s) for s in SHAPES["resnet50"]())
        from sfadamw.torch.kernels import CHUNK_NUMEL

        # two float32 buffers (z, v) plus one foreach chunk's temporaries (~4 buffers)
        out["ours_extra_peak_bytes"] = ours["extra_peak_bytes"]
        out["budget_bytes_two_states_plus_chunk"] = 2 * 4 * n + 4 * 4 * CHUNK_NUMEL
    if jax_ours and optax_adamw:
        out["jax_ours_over_optax_adamw_le_1.2"] = jax_ours["median_ms"] / optax_adamw["median_ms"]
    if jax_nocheck and optax_adamw:
        out["jax_ours_nocheck_over_optax_adamw_le_1.2"] = (
            jax_nocheck["median_ms"] / optax_adamw["median_ms"]
        )
    return out


# --- output -----------------------------------------------------------------------------
def format_table(result: dict[str, Any]) -> str:
    lines = [
        f"device {result['device']}; triad {result['triad']['gb_per_s']:.1f} GB/s "
        f"({result['triad']['threads']} threads)",
        f"{'shape':<17}{'optimizer':<27}{'ms/step':>10}{'x fused':>9}{'GB/s':>8}"
        f"{'% triad':>9}{'extra MB':>10}",
    ]
    for r in result["results"]:
        if not r.get("available"):
            lines.append(f"{r['shape']:<17}{r['optimizer']:<27}{'not available':>10}")
            continue
        ratio = r.get("ratio_to_torch_fused_adamw")
        extra = r.get("extra_peak_bytes")
        lines.append(
            f"{r['shape']:<17}{r['optimizer']:<27}{r['median_ms']:>10.2f}"
            f"{'-' if ratio is None else f'{ratio:.2f}':>9}{r['effective_gb_per_s']:>8.1f}"
            f"{100 * r['fraction_of_triad']:>8.0f}%"
            f"{'-' if extra is None else f'{extra / 2**20:.0f}':>10}"
        )
    return "\n".join(lines)


def _write_atomic(path: Path, write: Callable[[str], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(result: dict[str, Any], path: Path) -> None:
    _write_atomic(path, lambda tmp: Path(tmp).write_text(json.dumps(result, indent=1) + "\n"))


def write_chart(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shapes = list(result["shapes"])
    optimizers = list(dict.fromkeys(r["optimizer"] for r in result["results"]))
    fig, axes = plt.subplots(1, len(shapes), figsize=(5 * len(shapes), 4.5), squeeze=False)
    for ax, shape in zip(axes[0], shapes, strict=True):
        names, values = [], []
        for name in optimizers:
            row = _row(result["results"], shape, name)
            names.append(name)
            values.append(row["median_ms"] if row else 0.0)
        colors = ["C0" if n.startswith(("ours", "jax_ours")) else "C7" for n in names]
        ax.barh(names, values, color=colors)
        ax.set_xscale("log")
        n = result["shapes"][shape]["params"]
        ideal = 1e3 * BYTES_PER_PARAM * n / (result["triad"]["gb_per_s"] * 1e9)
        ax.axvline(ideal, color="k", linestyle="--", linewidth=1, label="28 B/param at triad")
        ax.set_title(f"{shape} ({n / 1e6:.1f}M params)")
        ax.set_xlabel("median ms per step (log)")
        ax.invert_yaxis()
        ax.legend(loc="lower right", fontsize=8)
    fig.suptitle(f"One optimizer step, {result['device']} ({result['host']['processor']})")
    fig.tight_layout()
    _write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    plt.close(fig)


# --- CLI --------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sfadamw bench", description="Benchmarks. 'step': one optimizer step."
    )
    sub = parser.add_subparsers(dest="bench", required=True)
    step = sub.add_parser("step", help="time one optimizer step against memory bandwidth")
    step.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    step.add_argument(
        "--shapes",
        default=None,
        help=f"comma-separated, from {', '.join(SHAPES)} "
        f"(default: {DEFAULT_SHAPES}; with --quick: tiny)",
    )
    step.add_argument(
        "--repeats", type=int, default=20, help="timed steps per optimizer and round (max)"
    )
    step.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="passes over all optimizers per shape, taking turns (default 3; 1 with --quick)",
    )
    step.add_argument(
        "--budget", type=float, default=2.0, help="seconds of timed steps each (>= 2 steps)"
    )
    step.add_argument("--optimizers", default=None, help="comma-separated subset (default: all)")
    step.add_argument("--quick", action="store_true", help="smoke run: shapes=tiny, 3 repeats")
    step.add_argument("--out", type=Path, default=Path("results/benchmarks"), help="output dir")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    shapes = args.shapes or ("tiny" if args.quick else DEFAULT_SHAPES)
    shape_names = [s for s in shapes.split(",") if s]
    if args.quick:
        args.repeats, args.budget, args.rounds = 3, 0.5, 1
    unknown = [s for s in shape_names if s not in SHAPES]
    if unknown:
        raise UserError(f"unknown shape(s) {', '.join(unknown)}; choose from {', '.join(SHAPES)}")
    if args.repeats < 1:
        raise UserError(f"--repeats must be >= 1, got {args.repeats}")
    if args.rounds < 1:
        raise UserError(f"--rounds must be >= 1, got {args.rounds}")
    device = args.device
    if device not in ("cpu", "cuda"):
        raise UserError(f"--device must be cpu or cuda, got {device!r}")
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA device is available; use --device cpu")
    only = [s for s in args.optimizers.split(",") if s] if args.optimizers else None
    result = run_step_bench(
        device=device,
        shape_names=shape_names,
        repeats=args.repeats,
        budget_s=args.budget,
        triad_elements=(1 << 22) if args.quick else (1 << 27),
        rounds=args.rounds,
        only=only,
        log=lambda line: print(line, file=sys.stderr, flush=True),
    )
    result["command"] = "sfadamw bench " + " ".join(sys.argv[1:] if argv is None else argv)
    result["quick"] = bool(args.quick)
    json_path = args.out / f"step_{device}.json"
    write_json(result, json_path)
    write_chart(result, json_path.with_suffix(".png"))
    print(format_table(result))
    print(f"wrote {json_path} and {json_path.with_suffix('.png')}")
    return 0
