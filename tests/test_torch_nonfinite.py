"""Non-finite losses and gradients never reach y, z or v (PyTorch)."""

from __future__ import annotations

import logging

import pytest
import torch

from sfadamw.torch import ScheduleFreeAdamW
from tests.torch_problems import batches, make_mlp


def _state(model, opt):
    return [p.detach().clone() for p in model.parameters()] + [
        t.clone() for s in opt.state.values() for t in s.values()
    ]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("preset", ["paper", "algoperf_v05"])
def test_skip_leaves_everything_untouched_and_counts(bad, preset, caplog):
    data = list(batches(8))
    model, clean = make_mlp(), make_mlp()
    opt = ScheduleFreeAdamW(model.parameters(), preset=preset, lr=0.01)
    ref = ScheduleFreeAdamW(clean.parameters(), preset=preset, lr=0.01)
    for i, (xb, yb) in enumerate(data):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(xb), yb).backward()
        if i == 4:  # a poisoned gradient: the step must be a no-op
            before = _state(model, opt)
            next(p for p in model.parameters() if p.grad is not None).grad[0] = bad
            with caplog.at_level(logging.WARNING, logger="sfadamw"):
                opt.step()
            after = _state(model, opt)
            assert all(torch.equal(a, b) for a, b in zip(before, after, strict=True))
            assert "skipped step 4" in caplog.text
            continue
        opt.step()
    for i, (xb, yb) in enumerate(data):
        if i == 4:
            continue
        ref.zero_grad()
        torch.nn.functional.mse_loss(clean(xb), yb).backward()
        ref.step()
    # identical to a run that never saw the bad batch
    assert all(
        torch.equal(a, b) for a, b in zip(model.parameters(), clean.parameters(), strict=True)
    )
    assert opt.param_groups[0]["skipped_steps"] == 1
    assert opt.param_groups[0]["k"] == ref.param_groups[0]["k"] == 7
    assert all(torch.isfinite(t).all() for t in _state(model, opt))


def test_nonfinite_closure_loss_is_skipped():
    model = make_mlp()
    opt = ScheduleFreeAdamW(model.parameters())
    xb, yb = next(batches(1))

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(xb), yb)
        loss.backward()
        return loss * float("nan")

    before = _state(model, opt)
    opt.step(closure)
    assert all(torch.equal(a, b) for a, b in zip(before, _state(model, opt), strict=True))
    assert opt.param_groups[0]["skipped_steps"] == 1


def test_error_mode_raises_a_clear_error():
    model = make_mlp()
    opt = ScheduleFreeAdamW(model.parameters(), nonfinite="error")
    for p in model.parameters():
        p.grad = torch.full_like(p, float("nan"))
    with pytest.raises(FloatingPointError, match="non-finite loss or gradient at step 0"):
        opt.step()


def test_skipped_count_survives_a_checkpoint():
    model = make_mlp()
    opt = ScheduleFreeAdamW(model.parameters())
    for p in model.parameters():
        p.grad = torch.full_like(p, float("inf"))
    opt.step()
    other = ScheduleFreeAdamW(make_mlp().parameters())
    other.load_state_dict(opt.state_dict())
    assert other.param_groups[0]["skipped_steps"] == 1


def test_bad_nonfinite_mode_is_refused():
    with pytest.raises(ValueError, match="nonfinite must be one of"):
        ScheduleFreeAdamW(make_mlp().parameters(), nonfinite="zero")
