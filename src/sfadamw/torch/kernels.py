"""Kernels for the Schedule-Free AdamW update: one math, several implementations.

Every kernel computes, for each tensor (see :mod:`sfadamw.schedule`)::

    v  <- b2 v + (1 - b2) g^2                   (in float32 when v is stored in bfloat16)
    d   = sqrt(v / denom_div) + eps
    u   = g / d + wd * p                         (p = y, or x_old = (y - (1 - b1) z) / b1)
    y  <- lerp(y, z, c) + y_coef * u
    z  <- z - alpha * u
    x  <- lerp(x, z, c)                          (only when x is stored, i.e. b1 = 0)

``single_tensor`` loops over tensors with in-place ops; ``foreach`` does the same
with ``torch._foreach_*`` multi-tensor ops, in the order of schedulefree 1.4.1's
foreach step. ``compiled`` is one ``torch.compile``'d (inductor) elementwise
kernel per tensor: it reads y, z, v, g once and writes y, z, v once (28 bytes
per float32 parameter, the minimum, as for fused AdamW) with no temporaries;
tensors too small to be worth a kernel call go through ``foreach`` in batches
of at most ``CHUNK_NUMEL`` elements. None writes to the gradients. Agreement
between them is tested (tests/test_torch_kernels.py).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch

from sfadamw.presets import ScheduleFreeConfig
from sfadamw.schedule import StepScalars

IMPLEMENTATIONS = ("auto", "single_tensor", "foreach", "compiled")

#: ``auto`` takes the compiled kernel for groups with at least this many elements
#: (its one-off compile, ~10-20 s on CPU, is repaid within a few thousand steps).
COMPILED_MIN_NUMEL = 1 << 20
#: The compiled kernel is called for tensors with at least this many elements
#: (a call costs ~10 us); smaller ones are batched through ``foreach``.
SMALL_NUMEL = 1 << 14
#: ``foreach`` batches inside ``compiled`` hold at most this many elements, which
#: bounds their temporaries.
CHUNK_NUMEL = 1 << 20


class Scalars(NamedTuple):
    """The per-step scalars as Python floats (what the kernels take)."""

    alpha: float
    denom_div: float
    ckp1: float
    y_coef: float

    @classmethod
    def from_step(cls, s: StepScalars) -> Scalars:
        return cls(float(s.alpha), float(s.denom_div), float(s.ckp1), float(s.y_coef))


def _single_tensor(ys, zs, vs, grads, xs, s: Scalars, config: ScheduleFreeConfig) -> None:
    beta1, beta2 = config.betas
    wd = config.weight_decay
    for i, (y, z, v, g) in enumerate(zip(ys, zs, vs, grads, strict=True)):
        if v.dtype == g.dtype:
            v.mul_(beta2).addcmul_(g, g, value=1.0 - beta2)
            v32 = v
        else:
            v32 = v.to(g.dtype).mul_(beta2).addcmul_(g, g, value=1.0 - beta2)
            v.copy_(v32)
            v32 = v.to(g.dtype)
        u = g / v32.div(s.denom_div).sqrt_().add_(config.eps)
        if wd != 0.0:
            if config.decay_at == "x":
                u.add_(torch.lerp(y, z, 1.0 - 1.0 / beta1), alpha=wd)
            else:
                u.add_(y, alpha=wd)
        y.lerp_(z, s.ckp1).add_(u, alpha=s.y_coef)
        z.sub_(u, alpha=s.alpha)
        if xs is not None:
            xs[i].lerp_(z, s.ckp1)


def _foreach(ys, zs, vs, grads, xs, s: Scalars, config: ScheduleFreeConfig) -> None:
    beta1, beta2 = config.betas
    wd = config.weight_decay
    if vs[0].dtype == grads[0].dtype:
        torch._foreach_mul_(vs, beta2)
        torch._foreach_addcmul_(vs, grads, grads, value=1.0 - beta2)
        v32 = vs
    else:
        v32 = [v.to(g.dtype) for v, g in zip(vs, grads, strict=True)]
        torch._foreach_mul_(v32, beta2)
        torch._foreach_addcmul_(v32, grads, grads, value=1.0 - beta2)
        torch._foreach_copy_(vs, v32)
        v32 = [v.to(g.dtype) for v, g in zip(vs, grads, strict=True)]
    denom = torch._foreach_div(v32, s.denom_div)
    torch._foreach_sqrt_(denom)
    torch._foreach_add_(denom, config.eps)
    u = torch._foreach_div(grads, denom)
    if wd != 0.0:
        if config.decay_at == "x":
            x_old = [torch.lerp(y, z, 1.0 - 1.0 / beta1) for y, z in zip(ys, zs, strict=True)]
            torch._foreach_add_(u, x_old, alpha=wd)
        else:
            torch._foreach_add_(u, ys, alpha=wd)
    torch._foreach_lerp_(ys, zs, s.ckp1)
    torch._foreach_add_(ys, u, alpha=s.y_coef)
    torch._foreach_sub_(zs, u, alpha=s.alpha)
    if xs is not None:
        torch._foreach_lerp_(xs, zs, s.ckp1)


def _fused_update(y, z, v, g, x, s) -> None:
    """The update of one tensor as one elementwise expression (for torch.compile).

    ``s`` holds ``[alpha, denom_div, ckp1, y_coef, beta2, 1 - beta2, eps, wd, w]``
    in the compute dtype (float32, or float64 for float64 tensors), so the compiled
    kernel does not depend on their values. Decay is at ``lerp(y, z, w)``: w = 0
    gives y exactly and w = 1 - 1/beta1 gives x; wd = 0 adds an exact 0. The
    operations follow the order of :func:`_foreach`.
    """
    cdt = s.dtype
    gc = g.to(cdt)
    v_new = (v.to(cdt) * s[4] + s[5] * gc * gc).to(v.dtype)
    yc, zc = y.to(cdt), z.to(cdt)
    u = gc / ((v_new.to(cdt) / s[1]).sqrt() + s[6]) + s[7] * torch.lerp(yc, zc, s[8])
    z_new = zc - s[0] * u
    v.copy_(v_new)
    y.copy_(torch.lerp(yc, zc, s[2]) + s[3] * u)
    z.copy_(z_new)
    if x is not None:
        x.copy_(torch.lerp(x.to(cdt), z_new, s[2]))


class _Compiled:
    """The compiled kernel, built on first use; after a failure, ``None`` for good."""

    def __init__(self, build: Callable[[], Callable]) -> None:
        self.build = build
        self.fn: Callable | None = None
        self.failed = False

    def get(self) -> Callable | None:
        if self.failed:
            return None
        if self.fn is None:
            self.fn = self.build()
        return self.fn

    def fail(self, error: BaseException) -> None:
        self.failed = True
        warnings.warn(
            f"sfadamw: torch.compile of the fused Schedule-Free step failed "
            f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}); "
            "using the foreach kernel from now on",
            RuntimeWarning,
            stacklevel=4,
        )


COMPILED = _Compiled(
    lambda: torch.compile(
        _fused_update,
        dynamic=True,
        fullgraph=True,
        options={
            # keep the float32 -> bfloat16 -> float32 rounding of v, as the other kernels do
            "emulate_precision_casts": True,
            # contract a*b + c into FMAs, as ATen's vectorized CPU kernels mostly do
            "cpp.enable_floating_point_contract_flag": "fast",
        },
    )
)


def _is_dense(t: torch.Tensor) -> bool:
    """Non-overlapping and dense: some permutation of the dims is contiguous."""
    order = sorted(range(t.dim()), key=lambda d: -t.stride(d))
    return t.permute(order).is_contiguous()


def _flat(ts: Sequence[torch.Tensor]) -> list[torch.Tensor] | None:
    """1-D aliases, in memory order, of dense tensors laid out alike (else None).

    They are made with ``set_`` rather than as views, so that torch.compile guards
    only on their own (dynamic) length, not on the layout of the tensors they alias.
    """
    t0 = ts[0]
    if not all(t.stride() == t0.stride() for t in ts[1:]) or not _is_dense(t0):
        return None
    return [
        torch.empty(0, dtype=t.dtype, device=t.device).set_(
            t.untyped_storage(), t.storage_offset(), (t.numel(),), (1,)
        )
        for t in ts
    ]


def _scalar_tensor(s: Scalars, config: ScheduleFreeConfig, like: torch.Tensor) -> torch.Tensor:
    beta1, beta2 = config.betas
    decay_weight = 1.0 - 1.0 / beta1 if config.decay_at == "x" else 0.0
    values = [s.alpha, s.denom_div, s.ckp1, s.y_coef, beta2, 1.0 - beta2, config.eps]
    values += [config.weight_decay, decay_weight]
    dtype = torch.promote_types(like.dtype, torch.float32)
    return torch.tensor(values, dtype=dtype).to(like.device, non_blocking=True)


def _compiled(ys, zs, vs, grads, xs, s: Scalars, config: ScheduleFreeConfig) -> None:
    rest: list[int] = []
    big: list[tuple[int, list[torch.Tensor]]] = []
    for i in range(len(ys)):
        group = [ys[i], zs[i], vs[i], grads[i]] + ([xs[i]] if xs is not None else [])
        flat = _flat(group) if ys[i].numel() >= SMALL_NUMEL else None
        if flat is None:
            rest.append(i)
        else:
            big.append((i, flat))
    if big:
        st = _scalar_tensor(s, config, ys[0])
    for n, (_, flat) in enumerate(big):
        fn = COMPILED.get()
        if fn is not None:
            try:
                fn(*flat[:4], flat[4] if xs is not None else None, st)
                continue
            except Exception as error:  # noqa: BLE001 - any compile failure falls back
                COMPILED.fail(error)
        rest.extend(j for j, _ in big[n:])
        break
    _foreach_chunked(sorted(rest), ys, zs, vs, grads, xs, s, config)


def _foreach_chunked(index, ys, zs, vs, grads, xs, s: Scalars, config) -> None:
    """``_foreach`` on ``index`` in batches of at most CHUNK_NUMEL elements (or one tensor)."""
    batch: list[int] = []
    numel = 0
    for i in [*index, None]:
        if batch and (i is None or numel + ys[i].numel() > CHUNK_NUMEL):
            pick = lambda ts: [ts[j] for j in batch]  # noqa: B023
            _foreach(
                pick(ys),
                pick(zs),
                pick(vs),
                pick(grads),
                pick(xs) if xs is not None else None,
                s,
                config,
            )
            batch, numel = [], 0
        if i is not None:
            batch.append(i)
            numel += ys[i].numel()


_KERNELS = {"single_tensor": _single_tensor, "foreach": _foreach, "compiled": _compiled}


def default_implementation(tensors: Sequence[torch.Tensor]) -> str:
    """The kernel ``implementation="auto"`` picks for these tensors.

    ``compiled`` for float32 groups of at least COMPILED_MIN_NUMEL elements on CPU
    or CUDA (unless compiling failed before); otherwise ``foreach`` (or
    ``single_tensor`` for a single tensor, where they are the same).
    """
    t0 = tensors[0]
    if (
        not COMPILED.failed
        and t0.device.type in ("cpu", "cuda")
        and t0.dtype == torch.float32
        and sum(t.numel() for t in tensors) >= COMPILED_MIN_NUMEL
    ):
        return "compiled"
    return "foreach" if len(tensors) > 1 else "single_tensor"


def update(
    *,
    ys: list[torch.Tensor],
    zs: list[torch.Tensor],
    vs: list[torch.Tensor],
    grads: list[torch.Tensor],
    xs: list[torch.Tensor] | None,
    scalars: Scalars,
    config: ScheduleFreeConfig,
    implementation: str = "auto",
) -> None:
    """Apply one Schedule-Free AdamW update in place to ``ys``, ``zs``, ``vs`` (and ``xs``)."""
    if implementation == "auto":
        implementation = default_implementation(ys)
    _KERNELS[implementation](ys, zs, vs, grads, xs, scalars, config)
