"""Every kernel of sfadamw.torch.kernels against the reference kernel ("foreach").

"foreach" is the reference path: it is bit-exact with schedulefree 1.4.1's foreach
step (test_torch_reference.py). Bounds asserted here, float32, 8 steps:

- ``single_tensor``: bit-exact (same ATen ops, tensor by tensor).
- ``compiled``: 1e-6 relative (max |a - b| / max |b| per tensor). Inductor's C++
  kernel evaluates the same expression but contracts a*b + c into fused
  multiply-adds where the compiler chooses, while ATen chooses its own places
  (e.g. ``add(alpha=)`` is an FMA); a few elements in 10^4 differ by one ulp per
  step (measured <= 3e-7 after 8 steps). bfloat16 v is rounded exactly as the
  reference rounds it (the compiled kernel keeps the float32 -> bfloat16 ->
  float32 cast), so a wrong rounding would show as ~1e-3 errors.

To keep compile cost small, the tensors are tiny and the compiled kernel is made
to take every tensor of >= 2 elements (SMALL_NUMEL patched); it compiles three
variants (float32 v, bfloat16 v, stored x). 0-d and non-dense tensors go through
the foreach batches of the compiled path, so the mixed path is covered too.
"""

from __future__ import annotations

import pytest
import schedulefree
import torch

from sfadamw.presets import get_preset
from sfadamw.schedule import step_scalars
from sfadamw.torch import ScheduleFreeAdamW, kernels
from tests.torch_problems import batches, make_mlp, rel_err, train

STEPS = 8
TOL = {"single_tensor": 0.0, "compiled": 1e-6}

CASES = {
    "paper": ("paper", dict(weight_decay=0.05)),
    "paper_decay_x": ("paper", dict(weight_decay=0.05, decay_at="x")),
    "algoperf_v05": ("algoperf_v05", {}),  # bfloat16 v, decay at x, step-size correction
    "algoperf_v2": ("algoperf_v2", {}),
    "beta1_0": ("paper", dict(betas=(0.0, 0.99), weight_decay=0.05)),  # x stored
}

_DTYPES = {None: None, "float32": torch.float32, "bfloat16": torch.bfloat16}


def _params(gen: torch.Generator) -> list[torch.Tensor]:
    """0-d, 1-d, 2-d, transposed, channels_last and a non-dense slice."""
    return [
        torch.randn((), generator=gen),
        torch.randn(7, generator=gen),
        torch.randn(5, 6, generator=gen),
        torch.randn(6, 5, generator=gen).t(),
        torch.randn(2, 3, 4, 4, generator=gen).to(memory_format=torch.channels_last),
        torch.randn(8, 6, generator=gen)[:, ::2],
    ]


def _run(implementation: str, preset: str, overrides: dict) -> list[torch.Tensor]:
    """STEPS updates of the kernel on _params; returns y, z, v (and x) of every tensor."""
    config = get_preset(preset, lr=0.05, warmup_steps=3, **overrides)
    gen = torch.Generator().manual_seed(0)
    ys = _params(gen)
    zs = [y.clone(memory_format=torch.preserve_format) for y in ys]
    v_dtype = _DTYPES[config.second_moment_dtype]
    vs = [torch.zeros_like(y, dtype=v_dtype, memory_format=torch.preserve_format) for y in ys]
    xs = [y.clone(memory_format=torch.preserve_format) for y in ys]
    xs = xs if config.betas[0] == 0.0 else None
    lr_max = weight_sum = 0.0
    for k in range(STEPS):
        grads = [torch.randn(y.shape, generator=gen) for y in ys[:-1]]  # contiguous grads
        grads[3] = grads[3].t().contiguous().t()  # laid out like its parameter
        grads[4] = grads[4].to(memory_format=torch.channels_last)
        grads.append(torch.randn(ys[-1].shape, generator=gen))  # unlike its (non-dense) param
        s = step_scalars(config, k, lr_max, weight_sum)
        lr_max, weight_sum = float(s.lr_max), float(s.weight_sum)
        with torch.no_grad():
            kernels.update(
                ys=ys,
                zs=zs,
                vs=vs,
                grads=grads,
                xs=xs,
                scalars=kernels.Scalars.from_step(s),
                config=config,
                implementation=implementation,
            )
    return ys + zs + [v.float() for v in vs] + (xs or [])


@pytest.fixture
def compile_small(monkeypatch):
    """Route every tensor of >= 2 elements through the compiled kernel."""
    monkeypatch.setattr(kernels, "SMALL_NUMEL", 2)


@pytest.mark.parametrize("implementation", ["single_tensor", "compiled"])
@pytest.mark.parametrize("case", list(CASES))
def test_kernel_agrees_with_reference_path(case, implementation, compile_small):
    preset, overrides = CASES[case]
    ours = _run(implementation, preset, overrides)
    ref = _run("foreach", preset, overrides)
    errors = [rel_err(a, b) for a, b in zip(ours, ref, strict=True)]
    assert max(errors) <= TOL[implementation], errors
    if implementation == "single_tensor":
        assert all(torch.equal(a, b) for a, b in zip(ours, ref, strict=True))
    # the layouts were kept (the kernels update in place)
    assert ours[3].stride() == (1, 5) and ours[4].is_contiguous(memory_format=torch.channels_last)


def test_compiled_optimizer_matches_schedulefree(compile_small):
    """The optimizer with implementation="compiled" against the reference package."""
    hp = dict(lr=0.01, weight_decay=0.05, warmup_steps=20, r=0.75)
    ref_model, model = make_mlp(), make_mlp()
    ref = schedulefree.AdamWScheduleFree(ref_model.parameters(), foreach=True, **hp)
    ours = ScheduleFreeAdamW(model.parameters(), implementation="compiled", **hp)
    train(ref_model, ref, batches(200))
    train(model, ours, batches(200))
    ours.eval()
    ref.eval()
    for p, q in zip(model.parameters(), ref_model.parameters(), strict=True):
        assert rel_err(p, q) <= 1e-6


def test_failed_compile_falls_back_to_foreach_with_a_warning(monkeypatch, compile_small):
    def build():
        def broken(*args):
            raise RuntimeError("no compiler here\nsecond line")

        return broken

    monkeypatch.setattr(kernels, "COMPILED", kernels._Compiled(build))
    expected = _run("foreach", "paper", dict(weight_decay=0.05))
    with pytest.warns(RuntimeWarning, match="no compiler here.*using the foreach kernel"):
        got = _run("compiled", "paper", dict(weight_decay=0.05))
    assert all(torch.equal(a, b) for a, b in zip(got, expected, strict=True))
    assert kernels.default_implementation([torch.zeros(1 << 21)] * 2) == "foreach"


def test_auto_picks_compiled_for_large_float32_groups_only():
    big, small = [torch.zeros(kernels.COMPILED_MIN_NUMEL)], [torch.zeros(10), torch.zeros(3)]
    assert kernels.default_implementation(big) == "compiled"
    assert kernels.default_implementation(small) == "foreach"
    assert kernels.default_implementation([small[0]]) == "single_tensor"
    assert kernels.default_implementation([big[0].double()] * 2) == "foreach"


def test_foreach_batches_in_compiled_path_are_bounded(monkeypatch):
    """Small tensors go through foreach in batches of at most CHUNK_NUMEL elements."""
    monkeypatch.setattr(kernels, "CHUNK_NUMEL", 10)
    seen: list[int] = []
    real = kernels._foreach

    def spy(ys, *args):
        seen.append(sum(y.numel() for y in ys))
        real(ys, *args)

    monkeypatch.setattr(kernels, "_foreach", spy)
    config = get_preset("paper")
    ys = [torch.randn(n) for n in (4, 4, 4, 3, 12, 1)]
    zs, vs = [y.clone() for y in ys], [torch.zeros_like(y) for y in ys]
    s = kernels.Scalars.from_step(step_scalars(config, 0, 0.0, 0.0))
    with torch.no_grad():
        kernels.update(
            ys=ys,
            zs=zs,
            vs=vs,
            grads=[torch.ones_like(y) for y in ys],
            xs=None,
            scalars=s,
            config=config,
            implementation="compiled",
        )
    assert seen == [8, 7, 12, 1]  # batches of <= 10, or one larger tensor alone
