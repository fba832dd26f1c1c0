"""Property tests of ScheduleFreeAdamW: mode round trips, resume, and the beta1 = 0 case."""

from __future__ import annotations

import io

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sfadamw.torch import ScheduleFreeAdamW
from tests.torch_problems import batches, make_mlp, rel_err, train

PRESETS = st.sampled_from(["paper", "algoperf_v05", "algoperf_v2"])
FAST = settings(max_examples=12, deadline=None)


@FAST
@given(
    preset=PRESETS, steps=st.integers(0, 30), beta1=st.floats(0.5, 0.99), seed=st.integers(0, 99)
)
def test_eval_then_train_returns_y(preset, steps, beta1, seed):
    model = make_mlp(seed)
    opt = ScheduleFreeAdamW(
        model.parameters(), preset=preset, lr=0.02, betas=(beta1, 0.99), warmup_steps=5
    )
    train(model, opt, batches(steps, seed))
    y = [p.detach().clone() for p in model.parameters()]
    opt.eval()
    x = [p.detach().clone() for p in model.parameters()]
    opt.eval()  # idempotent: a second eval changes nothing
    assert all(torch.equal(a, p) for a, p in zip(x, model.parameters(), strict=True))
    opt.train()
    opt.train()
    for p, y0 in zip(model.parameters(), y, strict=True):
        z = opt.state[p]["z"] if p in opt.state and "z" in opt.state[p] else y0
        # lerp there and back: a few float32 roundings of values of size max(|y|, |z|)
        scale = max(float(y0.abs().max()), float(z.abs().max()), 1e-3)
        assert (
            float((p.detach() - y0).abs().max())
            <= 8 * torch.finfo(torch.float32).eps * scale / beta1
        )


def _run(preset, total, stop_at=None, save_in_eval=False):
    """Train ``total`` steps; at ``stop_at`` save everything, rebuild, load and continue."""
    data = list(batches(total, 3))
    model = make_mlp(7)
    opt = ScheduleFreeAdamW(model.parameters(), preset=preset, lr=0.01, warmup_steps=4)
    if stop_at is None:
        train(model, opt, data)
        return model
    train(model, opt, data[:stop_at])
    if save_in_eval:
        opt.eval()
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    model = make_mlp(99)  # different init: everything must come from the checkpoint
    opt = ScheduleFreeAdamW(model.parameters(), preset=preset, lr=0.01, warmup_steps=4)
    model.load_state_dict(saved["model"])
    opt.load_state_dict(saved["opt"])
    assert opt.train_mode == (not save_in_eval)  # the mode travels with the state
    train(model, opt, data[stop_at:])  # train() switches back to y
    return model


@FAST
@given(preset=PRESETS, stop_at=st.integers(0, 12))
def test_resume_from_state_dict_is_bit_identical(preset, stop_at):
    straight = _run(preset, 16)
    resumed = _run(preset, 16, stop_at)
    for a, b in zip(straight.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(a, b)


@FAST
@given(preset=PRESETS, stop_at=st.integers(1, 12))
def test_resume_saved_in_eval_mode_matches_same_mode_switches(preset, stop_at):
    """Saved in eval mode: identical to a run that switched to x and back at that step."""
    data = list(batches(16, 3))
    model = make_mlp(7)
    opt = ScheduleFreeAdamW(model.parameters(), preset=preset, lr=0.01, warmup_steps=4)
    train(model, opt, data[:stop_at])
    opt.eval()
    train(model, opt, data[stop_at:])
    resumed = _run(preset, 16, stop_at, save_in_eval=True)
    for a, b in zip(model.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(a, b)


@FAST
@given(
    beta2=st.floats(0.9, 0.999),
    wd=st.sampled_from([0.0, 0.1]),
    warmup=st.integers(0, 10),
    r=st.sampled_from([0.0, 0.5]),
    seed=st.integers(0, 50),
)
def test_beta1_zero_is_adamw_without_momentum_plus_averaging(beta2, wd, warmup, r, seed):
    """b1 = 0: gradients at z, z takes AdamW(betas=(0, b2)) steps, x averages the z's."""
    lr, steps = 0.01, 40
    model, adamw_model = make_mlp(seed, frozen=False), make_mlp(seed, frozen=False)
    opt = ScheduleFreeAdamW(
        model.parameters(),
        lr=lr,
        betas=(0.0, beta2),
        weight_decay=wd,
        warmup_steps=warmup,
        r=r,
        weight_lr_power=2.0,
    )
    adamw = torch.optim.AdamW(
        adamw_model.parameters(), lr=lr, betas=(0.0, beta2), weight_decay=wd, eps=1e-8
    )
    sched = torch.optim.lr_scheduler.LambdaLR(
        adamw, lambda k: min(1.0, (k + 1) / warmup) if warmup else 1.0
    )
    weights, z_history = [], []
    for k, (xb, yb) in enumerate(batches(steps, seed)):
        for m, o in ((model, opt), (adamw_model, adamw)):
            o.zero_grad()
            torch.nn.functional.mse_loss(m(xb), yb).backward()
            o.step()
        sched.step()
        lr_k = lr * (min(1.0, (k + 1) / warmup) if warmup else 1.0)
        weights.append((k + 1) ** r * lr_k**2)  # lr_max = lr_k: the schedule never decreases
        z_history.append([opt.state[p]["z"].clone() for p in model.parameters()])
    for p, q in zip(model.parameters(), adamw_model.parameters(), strict=True):
        assert torch.equal(p, opt.state[p]["z"])  # y = z
        assert rel_err(p, q) <= 1e-5  # z = AdamW without momentum (rounding only)
    opt.eval()
    total = sum(weights)
    for i, p in enumerate(model.parameters()):
        average = sum(w * zs[i].double() for w, zs in zip(weights, z_history, strict=True)) / total
        assert rel_err(p, average) <= 1e-5
