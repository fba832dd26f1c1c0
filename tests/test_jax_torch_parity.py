"""sfadamw.jax against the PyTorch core, sfadamw.torch.ScheduleFreeAdamW.

Same initial params, same numpy gradient sequence fed to both, 500 steps, each
preset (with a warmup; "paper" also with weight decay and with beta1 = 0): y
(the params in train mode), x (``eval_params`` / the params after
``optimizer.eval()``) and z agree within the float32 bound of
tests/jax_helpers.py (``3 sqrt(N) u`` of each tensor's max, 4.0e-6 at N = 500).
Not bit for bit: XLA fuses multiply-adds (FMA) and computes the step scalars
in float32 where PyTorch takes them as Python floats.
"""

from __future__ import annotations

import numpy as np
import pytest

from sfadamw.presets import get_preset
from tests.jax_helpers import assert_tree_close, run_sfadamw
from tests.jax_reference import make_problem

torch = pytest.importorskip("torch")
from sfadamw.torch import ScheduleFreeAdamW  # noqa: E402

STEPS = 500

CASES = {
    "paper": get_preset("paper", warmup_steps=20),
    "paper_decay": get_preset("paper", warmup_steps=20, weight_decay=0.05),
    "paper_beta1_0": get_preset("paper", warmup_steps=20, betas=(0.0, 0.999)),
    "algoperf_v05": get_preset("algoperf_v05", warmup_steps=20),
    "algoperf_v2": get_preset("algoperf_v2", warmup_steps=20),
}


def run_torch(config, params, grads) -> dict:
    tensors = {name: torch.nn.Parameter(torch.from_numpy(p.copy())) for name, p in params.items()}
    optimizer = ScheduleFreeAdamW(list(tensors.values()), **config.as_dict())
    for g in grads:
        for name, p in tensors.items():
            p.grad = torch.from_numpy(g[name])
        optimizer.step()
    y = {name: p.detach().numpy().copy() for name, p in tensors.items()}
    z = {name: optimizer.state[p]["z"].numpy().copy() for name, p in tensors.items()}
    with optimizer.evaluating():
        x = {name: p.detach().numpy().copy() for name, p in tensors.items()}
    return {"y": y, "x": x, "z": z}


@pytest.fixture(scope="module")
def problem():
    return make_problem(seed=8, steps=STEPS)


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_pytorch_core(case, problem):
    config = CASES[case]
    params, grads = problem
    ours = run_sfadamw(config, params, grads)
    theirs = run_torch(config, params, grads)
    for key in ("y", "x", "z"):
        assert_tree_close(ours[key], theirs[key], STEPS, f"{case} {key} JAX vs PyTorch")
    # The mode switch really moved the PyTorch params: x differs from y.
    assert np.abs(theirs["x"]["kernel"] - theirs["y"]["kernel"]).max() > 1e-4
