"""Preset "paper" against the reference package schedulefree 1.4.1 (AdamWScheduleFree)."""

from __future__ import annotations

import itertools

import pytest
import schedulefree
import torch

from sfadamw.torch import ScheduleFreeAdamW
from tests.torch_problems import batches, make_mlp, rel_err, train, two_groups

STEPS = 1000
TOL = 1e-6


def _snapshot(model, opt):
    """y (train mode), x (eval mode) and z of every parameter that was trained."""
    trained = [p for p in model.parameters() if p.requires_grad]
    y = [p.detach().clone() for p in trained]
    z = [opt.state[p]["z"].clone() for p in trained]
    opt.eval()
    x = [p.detach().clone() for p in trained]
    opt.train()
    return y, x, z


@pytest.mark.parametrize(
    "r,weight_lr_power,implementation",
    list(itertools.product([0.0, 0.75], [0.0, 2.0], ["single_tensor", "foreach"])),
)
def test_paper_preset_matches_schedulefree(r, weight_lr_power, implementation):
    lr = 0.01
    hp = dict(
        lr=lr,
        betas=(0.9, 0.99),
        weight_decay=0.05,
        warmup_steps=100,
        r=r,
        weight_lr_power=weight_lr_power,
    )

    ref_model = make_mlp()
    ref = schedulefree.AdamWScheduleFree(two_groups(ref_model, lr), foreach=True, **hp)
    train(ref_model, ref, batches(STEPS))

    model = make_mlp()
    frozen_before = model[0].bias.detach().clone()
    ours = ScheduleFreeAdamW(
        two_groups(model, lr), preset="paper", implementation=implementation, **hp
    )
    train(model, ours, batches(STEPS))

    for name, a, b in zip(
        ("y", "x", "z"), _snapshot(model, ours), _snapshot(ref_model, ref), strict=True
    ):
        errors = [rel_err(p, q) for p, q in zip(a, b, strict=True)]
        assert max(errors) <= TOL, (name, errors)
    # the frozen parameter was never touched, and has no state
    assert torch.equal(model[0].bias, frozen_before)
    assert model[0].bias not in ours.state


def test_agreement_is_exact_on_this_problem():
    """Stated tighter bound: on CPU float32 the foreach path equals the reference bit for bit."""
    hp = dict(lr=0.01, weight_decay=0.05, warmup_steps=20, r=0.75)
    ref_model, model = make_mlp(), make_mlp()
    ref = schedulefree.AdamWScheduleFree(ref_model.parameters(), foreach=True, **hp)
    ours = ScheduleFreeAdamW(model.parameters(), implementation="foreach", **hp)
    train(ref_model, ref, batches(200))
    train(model, ours, batches(200))
    for p, q in zip(model.parameters(), ref_model.parameters(), strict=True):
        assert torch.equal(p, q)
