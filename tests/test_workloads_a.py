"""digits_resnet (PyTorch, JAX), digits_vit, synth_dlrm, phantom_unet: data, loss, model, eval.

References: scikit-learn (accuracy, log-loss), scikit-image (SSIM, bilinear
resize), numpy FFTs, and the loss formulas written out in numpy.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, log_loss

from sfadamw import spec
from sfadamw.workloads import available, get_workload
from sfadamw.workloads.digits_resnet import data as digits_data
from sfadamw.workloads.phantom_unet import data as phantom_data
from sfadamw.workloads.synth_dlrm import data as dlrm_data

TRAIN, EVAL = spec.ForwardPassMode.TRAIN, spec.ForwardPassMode.EVAL
CASES = [
    ("digits_resnet", "pytorch"),
    ("digits_resnet", "jax"),
    ("digits_vit", "pytorch"),
    ("synth_dlrm", "pytorch"),
    ("phantom_unet", "pytorch"),
]
METRIC_RANGE = {"accuracy": (0.0, 1.0), "loss": (0.0, math.inf), "ssim": (-1.0, 1.0)}


def _rng(framework: str, seed: int = 0):
    if framework == "jax":
        import jax

        return jax.random.PRNGKey(seed)
    return seed


def _np(x) -> np.ndarray:
    return x.detach().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


@pytest.fixture(scope="module", params=CASES, ids=lambda c: f"{c[0]}-{c[1]}")
def case(request):
    name, framework = request.param
    workload = get_workload(name, framework)
    params, model_state = workload.init_model_fn(_rng(framework))
    return workload, params, model_state


def test_discovered_with_harness_members():
    found = available()
    for name, framework in CASES:
        assert framework in found[name]
        w = get_workload(name, framework)
        assert (w.name, w.framework) == (name, framework)
        assert w.step_hint > 0 and w.max_allowed_runtime_sec > w.eval_period_time_sec > 0
        assert w.num_eval_train_examples <= w.num_train_examples


# --- data -----------------------------------------------------------------------------
def test_train_queue_deterministic_and_seeded(case):
    workload, _, _ = case
    fw = workload.framework
    a = workload._build_input_queue(_rng(fw, 3), "train", None, 8)
    b = workload._build_input_queue(_rng(fw, 3), "train", None, 8)
    c = workload._build_input_queue(_rng(fw, 4), "train", None, 8)
    for _ in range(2):
        x, y, z = next(a), next(b), next(c)
        assert set(x) >= {"inputs", "targets"}
        np.testing.assert_array_equal(_np(x["inputs"]), _np(y["inputs"]))
        np.testing.assert_array_equal(_np(x["targets"]), _np(y["targets"]))
    assert not np.array_equal(_np(x["inputs"]), _np(z["inputs"]))
    assert _np(x["inputs"]).shape[0] == 8


def _leaves(tree):
    if isinstance(tree, dict):
        return [leaf for key in sorted(tree) for leaf in _leaves(tree[key])]
    if isinstance(tree, tuple | list):
        return [leaf for item in tree for leaf in _leaves(item)]
    return [np.asarray(tree)]


@pytest.mark.parametrize(
    "generate", [digits_data._raw, dlrm_data._generate, phantom_data._generate]
)
def test_generation_is_reproducible(generate):
    """A fresh (uncached) generation reproduces the cached arrays bit for bit."""
    args = () if generate is digits_data._raw else ("validation",)
    cached, fresh = _leaves(generate(*args)), _leaves(generate.__wrapped__(*args))
    assert len(cached) == len(fresh) >= 2
    for x, y in zip(cached, fresh, strict=True):
        np.testing.assert_array_equal(x, y)


def test_eval_queue_is_one_padded_pass(case):
    workload, _, _ = case
    n = workload.num_validation_examples
    batches = list(workload._build_input_queue(None, "validation", None, 100))
    assert len(batches) == math.ceil(n / 100)
    weights = np.concatenate([_np(b["weights"]) for b in batches])
    assert weights.sum() == n and np.all(weights[n:] == 0)
    assert np.all(_np(batches[-1]["inputs"])[n % 100 or 100 :] == 0)


def test_jax_and_torch_digits_share_the_pipeline():
    tw, jw = get_workload("digits_resnet", "pytorch"), get_workload("digits_resnet", "jax")
    tq = tw._build_input_queue(7, "train", None, 16)
    jq = jw._build_input_queue(7, "train", None, 16)
    for _ in range(2):
        t, j = next(tq), next(jq)
        np.testing.assert_array_equal(t["inputs"].numpy(), j["inputs"])
        np.testing.assert_array_equal(t["targets"].numpy(), j["targets"])
    tparams, _ = tw.init_model_fn(0)
    import jax

    jparams, _ = jw.init_model_fn(jax.random.PRNGKey(0))
    count = lambda shapes: sum(int(np.prod(s)) for s in shapes)
    assert count(p.shape for p in tparams.parameters()) == count(
        p.shape for p in jax.tree.leaves(jparams)
    )


def test_digits_resample_matches_skimage_and_rotates():
    from skimage.transform import resize

    x = np.random.default_rng(0).random((2, 8, 8))
    eye, zero = np.broadcast_to(np.eye(2), (2, 2, 2)), np.zeros((2, 2))
    ours = digits_data.affine_resample(x, eye, zero)
    ref = [resize(i, (16, 16), order=1, mode="constant", anti_aliasing=False) for i in x]
    np.testing.assert_allclose(ours, np.stack(ref), atol=1e-6)
    # out(y, x) = src(-x, y) is a clockwise quarter turn of the source
    quarter = np.broadcast_to(np.array([[0.0, -1.0], [1.0, 0.0]]), (2, 2, 2))
    np.testing.assert_allclose(
        digits_data.affine_resample(x, quarter, zero),
        digits_data.affine_resample(np.rot90(x, -1, axes=(1, 2)), eye, zero),
        atol=1e-6,
    )


def test_dlrm_labels_follow_the_planted_model():
    dense, categorical, labels = dlrm_data._generate("validation")
    z = dlrm_data.planted_logits(dense, categorical)
    p = 1 / (1 + np.exp(-z))
    # Bernoulli(p) labels: mean within 4 standard errors of mean(p)
    assert abs(labels.mean() - p.mean()) < 4 * math.sqrt((p * (1 - p)).sum()) / len(p)
    bayes = dlrm_data.bayes_log_loss("validation")
    assert bayes == pytest.approx(log_loss(labels, p), rel=1e-9)
    assert bayes < log_loss(labels, np.full_like(p, labels.mean()))


def test_phantom_undersampling():
    rng = np.random.default_rng(0)
    masks = phantom_data.column_masks(rng, 5)
    size = phantom_data.IMAGE_SIZE
    assert np.all(masks.sum(1) == size // phantom_data.ACCELERATION)
    assert np.all(masks[:, size // 2 - 2 : size // 2 + 2] == 1)
    images = phantom_data.split_arrays("test")["targets"][:5].astype(np.float64)
    np.testing.assert_allclose(
        phantom_data.zero_filled(images, np.ones_like(masks)), images, atol=1e-9
    )
    # zero-filled = |ifft2(mask * fft2(x))| with the (unshifted) mask moved to the DC origin
    unshifted = np.fft.ifftshift(masks, axes=-1)[:, None, :]
    ref = np.abs(np.fft.ifft2(unshifted * np.fft.fft2(images)))
    np.testing.assert_allclose(phantom_data.zero_filled(images, masks), ref, atol=1e-9)


# --- loss -----------------------------------------------------------------------------
def _loss_inputs(workload, n=6):
    rng = np.random.default_rng(1)
    if workload.name.startswith("digits"):
        return rng.integers(0, 10, n), rng.normal(size=(n, 10)).astype(np.float32)
    if workload.name == "synth_dlrm":
        return (rng.random(n) < 0.3).astype(np.float32), rng.normal(size=n).astype(np.float32)
    return rng.random((n, 4, 4)).astype(np.float32), rng.random((n, 4, 4)).astype(np.float32)


def _reference_loss(name, labels, logits, ls):
    if name.startswith("digits"):
        q = np.eye(10)[labels] * (1 - ls) + ls / 10
        z = logits - logits.max(1, keepdims=True)
        return -(q * (z - np.log(np.exp(z).sum(1, keepdims=True)))).sum(1)
    if name == "synth_dlrm":
        y = labels * (1 - ls) + ls / 2
        p = 1 / (1 + np.exp(-logits.astype(np.float64)))
        return -(y * np.log(p) + (1 - y) * np.log(1 - p))
    return np.abs(logits - labels).mean((1, 2))


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_loss_fn_matches_formula(case, label_smoothing):
    workload, _, _ = case
    labels, logits = _loss_inputs(workload)
    mask = np.array([1, 1, 0, 1, 0, 1], np.float32)
    convert = torch.from_numpy if workload.framework == "pytorch" else np.asarray
    out = workload.loss_fn(convert(labels), convert(logits), convert(mask), label_smoothing)
    ls = 0.0 if workload.name == "phantom_unet" else label_smoothing
    ref = _reference_loss(workload.name, labels, logits, ls) * mask
    np.testing.assert_allclose(_np(out["per_example"]), ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(float(out["summed"]), ref.sum(), rtol=1e-5)
    assert float(out["n_valid_examples"]) == 4
    unmasked = workload.loss_fn(convert(labels), convert(logits))
    assert float(unmasked["n_valid_examples"]) == len(labels)


# --- model ----------------------------------------------------------------------------
def _batch(workload, split="validation", n=16):
    return next(iter(workload._build_input_queue(None, split, None, n)))


def test_param_shapes_and_types(case):
    workload, params, _ = case
    if workload.framework == "pytorch":
        named = dict(params.named_parameters())
        assert set(workload.param_shapes) == set(named) == set(workload.model_params_types)
        assert all(workload.param_shapes[k] == tuple(p.shape) for k, p in named.items())
        types = set(workload.model_params_types.values())
        assert sum(workload.is_output_params(k) for k in named) >= 1
    else:
        import jax

        shapes = jax.tree.leaves(workload.param_shapes, is_leaf=lambda x: hasattr(x, "shape_tuple"))
        assert [s.shape_tuple for s in shapes] == [p.shape for p in jax.tree.leaves(params)]
        types = set(jax.tree.leaves(workload.model_params_types))
    expected = {
        "digits_resnet": {spec.ParameterType.CONV_WEIGHT, spec.ParameterType.BATCH_NORM_SCALE},
        "digits_vit": {spec.ParameterType.LAYER_NORM_SCALE, spec.ParameterType.WEIGHT},
        "synth_dlrm": {spec.ParameterType.EMBEDDING, spec.ParameterType.WEIGHT},
        "phantom_unet": {spec.ParameterType.CONV_WEIGHT},
    }[workload.name]
    assert expected <= types


def test_model_fn_modes_and_shapes(case):
    workload, params, state = case
    batch = _batch(workload)
    logits, new_state = workload.model_fn(params, batch, state, EVAL, None, False)
    n = len(batch["targets"])
    expected = {
        "digits_resnet": (n, 10),
        "digits_vit": (n, 10),
        "synth_dlrm": (n,),
        "phantom_unet": batch["targets"].shape,
    }[workload.name]
    assert tuple(logits.shape) == tuple(expected)
    if workload.framework == "pytorch":
        assert not logits.requires_grad and not params.training
        train_logits, _ = workload.model_fn(params, batch, state, TRAIN, None, False)
        assert train_logits.requires_grad and params.training
    # EVAL is per-example: an example's output does not depend on the rest of the batch
    half = {k: v[: n // 2] for k, v in batch.items()}
    part, _ = workload.model_fn(params, half, state, EVAL, None, False)
    np.testing.assert_allclose(_np(part), _np(logits)[: n // 2], rtol=1e-4, atol=1e-5)


def test_batch_norm_update_flag_torch():
    workload = get_workload("digits_resnet", "pytorch")
    model, _ = workload.init_model_fn(0)
    batch = _batch(workload, "train")
    bn = model.stem[1]
    before = bn.running_mean.clone()
    frozen, _ = workload.model_fn(model, batch, None, TRAIN, None, update_batch_norm=False)
    torch.testing.assert_close(bn.running_mean, before)
    assert bn.momentum == pytest.approx(0.1)  # restored after the call
    updated, _ = workload.model_fn(model, batch, None, TRAIN, None, update_batch_norm=True)
    # both normalise with batch statistics; only the second moves the running mean
    torch.testing.assert_close(frozen, updated)
    x = batch["inputs"].permute(0, 3, 1, 2)
    batch_mean = model.stem[0](x).mean(dim=(0, 2, 3))
    torch.testing.assert_close(bn.running_mean, 0.9 * before + 0.1 * batch_mean.detach())


def test_batch_norm_update_flag_jax():
    import jax

    workload = get_workload("digits_resnet", "jax")
    params, state = workload.init_model_fn(jax.random.PRNGKey(0))
    batch = _batch(workload, "train")
    frozen, same = workload.model_fn(params, batch, state, TRAIN, None, update_batch_norm=False)
    assert same is state
    evaluated, _ = workload.model_fn(params, batch, state, EVAL, None, False)
    np.testing.assert_allclose(frozen, evaluated, rtol=1e-6)  # running averages
    _, new = workload.model_fn(params, batch, state, TRAIN, None, update_batch_norm=True)
    import flax.linen as nn

    from sfadamw.workloads.digits_resnet import settings

    stem = nn.Conv(settings.WIDTHS[0], (3, 3), padding=1, use_bias=False)
    out = stem.apply({"params": params["Conv_0"]}, np.asarray(batch["inputs"]))
    expected = 0.9 * state["BatchNorm_0"]["mean"] + 0.1 * out.mean(axis=(0, 1, 2))
    assert jax.tree.structure(new) == jax.tree.structure(state)
    np.testing.assert_allclose(new["BatchNorm_0"]["mean"], expected, rtol=1e-5, atol=1e-6)


# --- training and evaluation ----------------------------------------------------------
def _train_steps(workload, params, state, batch, steps):
    if workload.framework == "pytorch":
        opt = torch.optim.Adam(params.parameters(), lr=3e-3)
        losses = []
        for _ in range(steps):
            logits, state = workload.model_fn(params, batch, state, TRAIN, None, True)
            out = workload.loss_fn(batch["targets"], logits)
            loss = out["summed"] / out["n_valid_examples"]
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return params, state, losses
    import jax
    import optax

    opt = optax.adam(3e-3)
    opt_state = opt.init(params)

    @jax.jit
    def step(p, s, o):
        def f(p):
            logits, s2 = workload.model_fn(p, batch, s, TRAIN, None, True)
            out = workload.loss_fn(batch["targets"], logits)
            return out["summed"] / out["n_valid_examples"], s2

        (loss, s2), g = jax.value_and_grad(f, has_aux=True)(p)
        u, o = opt.update(g, o, p)
        return optax.apply_updates(p, u), s2, o, loss

    losses = []
    for _ in range(steps):
        params, state, opt_state, loss = step(params, state, opt_state)
        losses.append(float(loss))
    return params, state, losses


def test_a_few_steps_reduce_the_loss(case):
    workload, _, _ = case
    params, state = workload.init_model_fn(_rng(workload.framework, 1))
    batch = next(workload._build_input_queue(_rng(workload.framework), "train", None, 32))
    _, _, losses = _train_steps(workload, params, state, batch, 8)
    assert losses[-1] < 0.9 * losses[0]


def test_eval_model_metrics_match_references(case):
    shared, params, state = case
    workload = get_workload(shared.name, shared.framework)
    for split in ("eval_train", "validation", "test"):  # fewer examples, to keep the test fast
        setattr(workload, f"num_{split}_examples", 200)
    results = workload.eval_model(64, params, state, None, None)
    metric = workload.target_metric_name
    for prefix in ("train", "validation", "test"):
        lo, hi = METRIC_RANGE[metric]
        assert lo <= results[f"{prefix}/{metric}"] <= hi
        assert f"{prefix}/loss" in results
    # independent recomputation on the whole validation split in one batch
    arrays = {k: v[:200] for k, v in workload._split_arrays("validation").items()}
    full = {"inputs": arrays["inputs"], "targets": arrays["targets"]}
    if workload.framework == "pytorch":
        full = {k: torch.from_numpy(v) for k, v in full.items()}
    out, _ = workload.model_fn(params, full, state, EVAL, None, False)
    out, targets = _np(out).astype(np.float64), arrays["targets"]
    if metric == "accuracy":
        probs = np.exp(out - out.max(1, keepdims=True))
        probs /= probs.sum(1, keepdims=True)
        ref = {
            "accuracy": accuracy_score(targets, out.argmax(1)),
            "loss": log_loss(targets, probs, labels=range(10)),
        }
    elif workload.name == "synth_dlrm":
        ref = {"loss": log_loss(targets, 1 / (1 + np.exp(-out)))}
    else:
        from skimage.metrics import structural_similarity

        ssims = [
            structural_similarity(t.astype(np.float64), o, data_range=t.max())
            for t, o in zip(targets, out, strict=True)
        ]
        ref = {"ssim": np.mean(ssims), "loss": np.abs(out - targets).mean()}
    for key, value in ref.items():
        assert results[f"validation/{key}"] == pytest.approx(value, rel=1e-4, abs=1e-6)


def test_train_batches_are_global_under_torch_distributed(monkeypatch):
    """Sharding is the runner's job (sfadamw.runner.distributed.shard_batch, tested in
    tests/test_runner_ddp.py): every rank's queue yields the same global batch."""
    workload = get_workload("synth_dlrm", "pytorch")
    full = next(workload._build_input_queue(5, "train", None, 8))
    monkeypatch.setattr(torch.distributed, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.distributed, "get_world_size", lambda: 2)
    monkeypatch.setattr(torch.distributed, "get_rank", lambda: 1)
    other = next(workload._build_input_queue(5, "train", None, 8))
    for key in ("inputs", "targets"):
        torch.testing.assert_close(other[key], full[key])


@pytest.mark.parametrize("name, framework", CASES)
def test_settings_are_the_committed_calibration_record(name, framework):
    """Targets, step_hint, budget and eval period are benchmarks/calibrate_workloads.py's output,
    and every seed of the tuned baseline reaches the validation target within step_hint."""
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / f"results/calibration/{name}.json"
    record = json.loads(path.read_text())
    w = get_workload(name, framework)
    assert w.validation_target_value == record["validation_target"]
    assert w.test_target_value == record["test_target"]
    assert w.step_hint == record["step_hint"]
    assert w.max_allowed_runtime_sec == record["max_allowed_runtime_sec"]
    assert w.eval_period_time_sec == record["eval_period_time_sec"]
    tuned = [r for r in record["runs"] if r["lr"] == record["tuned_lr"]]
    assert sorted(r["seed"] for r in tuned) == [0, 1, 2]
    best = min if w.target_metric_lower_is_better else max
    for run in tuned:
        assert w.has_reached_validation_target(
            {f"validation/{w.target_metric_name}": best(p["validation"] for p in run["curve"])}
        )
