"""The NAdamW baseline (submissions/baselines/nadamw): its step against the equations
written out here, its schedule, and a short run of each framework under the runner."""

import csv
import importlib.util
import json
import math

import numpy as np
import pytest

from sfadamw import cli, workload_settings
from sfadamw.lr_schedules import warmup_cosine

B1, B2, EPS, WD = 0.9, 0.99, 1e-8, 0.1


def load(framework):
    path = f"submissions/baselines/nadamw/{framework}/submission.py"
    spec = importlib.util.spec_from_file_location(f"nadamw_{framework}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reference(p, grads, lrs):
    """NAdamW (Dozat 2016 with decoupled decay), t = 1, 2, ...:
    m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; m_bar = b1 m + (1-b1) g;
    p = p (1 - lr wd) - lr / (1 - b1^t) * m_bar / (sqrt(v / (1 - b2^t)) + eps)."""
    m = v = np.zeros_like(p)
    for t, (g, lr) in enumerate(zip(grads, lrs, strict=True), start=1):
        m = B1 * m + (1 - B1) * g
        v = B2 * v + (1 - B2) * g * g
        m_bar = B1 * m + (1 - B1) * g
        p = p * (1 - lr * WD) - lr / (1 - B1**t) * m_bar / (np.sqrt(v / (1 - B2**t)) + EPS)
    return p


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    p0 = rng.normal(size=(4, 3))
    grads = [rng.normal(size=(4, 3)) * 10.0 ** rng.integers(-3, 2) for _ in range(6)]
    lrs = [0.1, 0.05, 0.02, 0.3, 0.01, 0.2]
    return p0, grads, lrs


def test_torch_nadamw_matches_equations(problem):
    import torch

    p0, grads, lrs = problem
    param = torch.nn.Parameter(torch.tensor(p0, dtype=torch.float64))
    opt = load("pytorch").NAdamW([param], lr=lrs[0], betas=(B1, B2), eps=EPS, weight_decay=WD)
    for g, lr in zip(grads, lrs, strict=True):
        opt.param_groups[0]["lr"] = lr
        param.grad = torch.tensor(g)
        opt.step()
    np.testing.assert_allclose(param.detach().numpy(), reference(p0, grads, lrs), rtol=1e-12)


def test_jax_nadamw_matches_equations(problem):
    import jax
    import jax.numpy as jnp
    import optax

    p0, grads, lrs = problem
    schedule = lambda k: jnp.asarray(lrs)[k]
    opt = load("jax").nadamw(schedule, B1, B2, EPS, WD)
    params = {"w": jnp.asarray(p0, jnp.float32)}
    state = opt.init(params)
    for g in grads:
        updates, state = opt.update({"w": jnp.asarray(g, jnp.float32)}, state, params)
        params = optax.apply_updates(params, updates)
    np.testing.assert_allclose(params["w"], reference(p0, grads, lrs), rtol=2e-5, atol=1e-6)
    del jax


def test_warmup_cosine_written_out():
    peak, warmup, total = 2.0, 10, 110
    expected = {0: 0.0, 5: 1.0, 10: 2.0, 60: 1.0, 35: 1.0 + math.cos(math.pi / 4), 110: 0.0,
                500: 0.0}
    for k, lr in expected.items():
        assert warmup_cosine(k, peak, warmup, total) == pytest.approx(lr, abs=1e-12)
    import jax.numpy as jnp

    got = [float(warmup_cosine(jnp.asarray(k), peak, warmup, total, xp=jnp)) for k in expected]
    np.testing.assert_allclose(got, list(expected.values()), atol=1e-6)


def test_torch_schedule_follows_step_hint():
    import torch

    workload = type("W", (), {"step_hint": 400})()
    sub = load("pytorch")
    hp = type("H", (), dict(learning_rate=0.1, one_minus_beta1=0.1, beta2=0.99, weight_decay=0.0,
                            warmup_factor=0.1))()
    state = sub.init_optimizer_state(workload, torch.nn.Linear(2, 2), None, hp, None)
    total = int(0.75 * 400)
    lrs = []
    for _ in range(total + 5):
        lrs.append(state["optimizer"].param_groups[0]["lr"])
        state["optimizer"].step()
        state["scheduler"].step()
    assert lrs[0] == 0.0 and lrs[30] == pytest.approx(0.1) and lrs[15] == pytest.approx(0.05)
    assert lrs[total] == pytest.approx(0.0, abs=1e-12) and lrs[-1] == pytest.approx(0.0, abs=1e-12)


def test_batch_sizes_raise_value_error_for_unknown_workloads():
    assert workload_settings.get_batch_size("digits_resnet") == 128
    with pytest.raises(ValueError):
        workload_settings.get_batch_size("imagenet_resnet_silu_not_listed")


@pytest.mark.parametrize("framework", ["pytorch", "jax"])
def test_baseline_runs_under_the_runner(tmp_path, monkeypatch, framework):
    monkeypatch.setitem(workload_settings.BATCH_SIZES, "tiny",
                        dict.fromkeys(workload_settings.COLUMNS, 32))
    space = tmp_path / "space.json"
    space.write_text(json.dumps([{"learning_rate": 0.05, "one_minus_beta1": 0.1, "beta2": 0.99,
                                  "weight_decay": 0.0, "warmup_factor": 0.05}]))
    cls = "TinyTorchWorkload" if framework == "pytorch" else "TinyJaxWorkload"
    assert cli.main([
        "run", f"--workload=tests.runner_fixtures:{cls}", f"--framework={framework}",
        f"--submission_path=submissions/baselines/nadamw/{framework}/submission.py",
        "--tuning_ruleset=external", f"--tuning_search_space={space}",
        f"--experiment_dir={tmp_path}", "--rng_seed=0", "--max_global_steps=60",
        "--eval_every_steps=20",
    ]) == 0
    trial = tmp_path / "nadamw" / f"tiny_{framework}" / "trial_1"
    with open(trial / "eval_measurements.csv") as f:
        accuracy = [float(r["validation/accuracy"]) for r in csv.DictReader(f)]
    assert accuracy[-1] >= 0.9 > accuracy[0]
    with open(trial / "measurements.csv") as f:
        assert any(r["loss"] for r in csv.DictReader(f))
