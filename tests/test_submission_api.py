"""The submission modules' API details: hyperparameters, variants, eval at x, BatchNorm, reset."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from sfadamw import spec
from sfadamw.algoperf import pytorch_submission, reset, variants
from sfadamw.runner import submission as submission_loader
from sfadamw.runner.search_space import as_hyperparameters
from tests.runner_fixtures import TinyTorchWorkload
from tests.test_torch_variants import WrittenOut

ROOT = Path(__file__).resolve().parents[1]


def _load(ruleset: str, name: str = "schedule_free_adamw", framework: str = "pytorch"):
    folder = f"{ruleset}_tuning"
    return submission_loader.load(
        str(ROOT / f"submissions/{folder}/{name}/{framework}/submission.py")
    )


def test_submitted_search_space_is_the_one_in_the_submission_folder():
    top = (ROOT / "tuning_search_space.json").read_bytes()
    inner = ROOT / "submissions/external_tuning/schedule_free_adamw/tuning_search_space.json"
    assert inner.read_bytes() == top


class SpyWorkload(TinyTorchWorkload):
    """Records what the submission passes to model_fn and loss_fn."""

    def __init__(self):
        super().__init__()
        self.model_kwargs: list[dict] = []
        self.smoothing: list[float] = []

    def model_fn(
        self,
        params,
        augmented_and_preprocessed_input_batch,
        model_state,
        mode,
        rng,
        update_batch_norm,
        **kwargs,
    ):
        if mode == spec.ForwardPassMode.TRAIN:
            self.model_kwargs.append(dict(kwargs, update_batch_norm=update_batch_norm))
        return super().model_fn(
            params,
            augmented_and_preprocessed_input_batch,
            model_state,
            mode,
            rng,
            update_batch_norm,
        )

    def loss_fn(self, label_batch, logits_batch, mask_batch=None, label_smoothing=0.0):
        self.smoothing.append(label_smoothing)
        return super().loss_fn(label_batch, logits_batch, mask_batch, label_smoothing)


def _steps(module, workload, hyperparameters, n=3):
    model, model_state = workload.init_model_fn(np.array([0, 1], dtype=np.uint32))
    opt_state = module.init_optimizer_state(workload, model, model_state, hyperparameters, None)
    queue = workload._build_input_queue(np.array([0, 2], dtype=np.uint32), "train", None, 64)
    for step in range(n):
        batch = module.data_selection(
            workload, queue, opt_state, model, model_state, hyperparameters, step, None
        )
        opt_state, model, model_state = module.update_params(
            workload,
            model,
            workload.model_params_types,
            model_state,
            hyperparameters,
            batch,
            workload.loss_type,
            opt_state,
            [],
            step,
            None,
            train_state={},
        )
    return opt_state, model


POINT = dict(
    learning_rate=0.003,
    one_minus_beta1=0.1,
    beta2=0.99,
    weight_decay=0.05,
    warmup_factor=0.02,
    dropout_rate=0.15,
    label_smoothing=0.3,
)


def test_external_hyperparameters_reach_model_fn_and_loss_fn():
    workload = SpyWorkload()
    opt_state, _ = _steps(_load("external"), workload, as_hyperparameters(POINT))
    assert all(k["dropout_rate"] == 0.15 for k in workload.model_kwargs)
    assert workload.smoothing == [0.3] * 3
    group = opt_state["optimizer"].param_groups[0]
    assert group["lr"] == 0.003 and group["betas"] == (0.9, 0.99)
    assert group["weight_decay"] == 0.05
    assert group["warmup_steps"] == int(0.02 * workload.step_hint * 0.75)


@pytest.mark.parametrize("hyperparameters", [None, {}])
def test_self_tuning_defaults_apply(hyperparameters):
    workload = SpyWorkload()
    opt_state, _ = _steps(_load("self"), workload, hyperparameters)
    defaults = variants.ALGOPERF_SELF_TUNING
    assert all("dropout_rate" not in k for k in workload.model_kwargs)  # workload default
    assert workload.smoothing == [defaults["label_smoothing"]] * 3
    group = opt_state["optimizer"].param_groups[0]
    assert group["lr"] == defaults["learning_rate"]
    assert group["betas"] == (1 - defaults["one_minus_beta1"], defaults["beta2"])
    assert group["r"] == 0.75 and group["decay_at"] == "y"
    assert group["bias_correction"] == "denominator"


def test_unknown_hyperparameter_names_are_refused():
    with pytest.raises(ValueError, match="unknown hyperparameters"):
        _steps(_load("external"), SpyWorkload(), as_hyperparameters(dict(POINT, lr=0.1)))


def test_v2_external_reproduces_the_dropped_dropout():
    workload = SpyWorkload()
    _steps(_load("external", "schedule_free_adamw_v2"), workload, as_hyperparameters(POINT))
    assert all("dropout_rate" not in k for k in workload.model_kwargs)
    assert all(k["update_batch_norm"] is False for k in workload.model_kwargs)


@pytest.mark.parametrize(
    "name,ruleset,fraction,preset",
    [
        ("schedule_free_adamw_v05", "self", 0.75, "algoperf_v05"),
        ("schedule_free_adamw_v05", "external", 1.0, "algoperf_v05"),
        ("schedule_free_adamw_v2", "self", 0.75, "algoperf_v2"),
        ("schedule_free_adamw_v2", "external", 0.75, "algoperf_v2"),
    ],
)
def test_reproductions_follow_the_published_update(name, ruleset, fraction, preset):
    """The module's updates equal the entry's rule written out (tests/test_torch_variants.py)."""
    workload = TinyTorchWorkload()
    hparams = as_hyperparameters(POINT) if ruleset == "external" else None
    values = dict(variants.ALGOPERF_SELF_TUNING, **(POINT if hparams else {}))
    module = _load(ruleset, name)
    model, _ = workload.init_model_fn(np.array([0, 1], dtype=np.uint32))
    init = [p.detach().clone().double() for p in model.parameters()]
    opt_state = module.init_optimizer_state(workload, model, None, hparams, None)
    v05 = preset == "algoperf_v05"
    warmup = int(values["warmup_factor"] * workload.step_hint * fraction)
    ref = WrittenOut(
        init,
        lr=values["learning_rate"],
        b1=1 - values["one_minus_beta1"],
        b2=values["beta2"],
        eps=1e-8,
        wd=values["weight_decay"],
        warmup=warmup,
        r=0.75 if v05 else 0.0,
        power=2.0,
        v05=v05,
    )
    ref_model = torch.nn.Linear(model.in_features, model.out_features).double()
    queue = workload._build_input_queue(np.array([0, 2], dtype=np.uint32), "train", None, 64)
    smoothing = values["label_smoothing"]
    for step in range(60):
        batch = next(queue)
        with torch.no_grad():
            for p, y in zip(ref_model.parameters(), ref.y(), strict=True):
                p.copy_(y)
        ref_model.zero_grad()
        logits = ref_model(batch["inputs"].double())
        torch.nn.functional.cross_entropy(
            logits, batch["targets"], label_smoothing=smoothing
        ).backward()
        ref.step([p.grad.float() for p in ref_model.parameters()])
        opt_state, model, _ = module.update_params(
            workload, model, None, None, hparams, batch, None, opt_state, [], step, None
        )
    module.prepare_for_eval(workload, model, None, None, hparams, None, opt_state, [], 60, None)
    for p, x in zip(model.parameters(), ref.x, strict=True):  # evaluated at x
        torch.testing.assert_close(p.detach().double(), x, rtol=1e-4, atol=1e-5)


def test_prepare_for_eval_moves_to_x_and_update_params_back_to_y():
    module = _load("self")
    workload = TinyTorchWorkload()
    opt_state, model = _steps(module, workload, None, n=5)
    y = [p.detach().clone() for p in model.parameters()]
    z = [opt_state["optimizer"].state[p]["z"].clone() for p in model.parameters()]
    opt_state, model, _ = module.prepare_for_eval(
        workload, model, None, None, None, None, opt_state, [], 5, None
    )
    b1 = 1 - variants.ALGOPERF_SELF_TUNING["one_minus_beta1"]
    for p, yy, zz in zip(model.parameters(), y, z, strict=True):
        torch.testing.assert_close(p.detach(), (yy - (1 - b1) * zz) / b1, rtol=1e-5, atol=1e-6)
    assert not opt_state["optimizer"].train_mode
    queue = workload._build_input_queue(np.array([0, 3], dtype=np.uint32), "train", None, 64)
    module.update_params(
        workload, model, None, None, None, next(queue), None, opt_state, [], 5, None
    )
    assert opt_state["optimizer"].train_mode


def test_batchnorm_statistics_are_recomputed_at_x():
    from sfadamw.workloads import get_workload

    workload = get_workload("digits_resnet", "pytorch")
    module = _load("self")
    model, model_state = workload.init_model_fn(np.array([0, 1], dtype=np.uint32))
    opt_state = module.init_optimizer_state(workload, model, model_state, None, None)
    queue = workload._build_input_queue(np.array([0, 2], dtype=np.uint32), "train", None, 32)
    batches = []
    for step in range(6):
        batch = next(queue)
        batches.append(batch)
        opt_state, model, model_state = module.update_params(
            workload, model, None, model_state, None, batch, None, opt_state, [], step, None
        )
    opt_state, model, model_state = module.prepare_for_eval(
        workload, model, None, model_state, None, None, opt_state, [], 6, None
    )
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    # independent: feed the last bn_batches batches through a copy at x, exact averaging
    import copy

    clone = copy.deepcopy(model)
    clone_bns = [m for m in clone.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in clone_bns:
        m.reset_running_stats()
        m.momentum = None
    clone.train()
    with torch.no_grad():
        for batch in batches[-variants.VARIANTS[("schedule_free_adamw", "self")].bn_batches :]:
            workload.model_fn(clone, batch, None, spec.ForwardPassMode.TRAIN, None, True)
    for a, b in zip(bns, clone_bns, strict=True):
        torch.testing.assert_close(a.running_mean, b.running_mean)
        torch.testing.assert_close(a.running_var, b.running_var)


@pytest.mark.parametrize(
    "values,stalled",
    [
        ([0.1, 0.1, 0.105, 0.109], True),  # flat
        ([0.1, 0.2, 0.3, 0.4], False),  # improving
        ([0.1, 0.1, 0.1], False),  # too few evals
        ([0.10, 0.30, 0.305, 0.306, 0.307], False),  # improved since the first eval
        ([0.5, 0.4, 0.3, 0.2], True),  # getting worse also counts as stalled
    ],
)
def test_v05_stall_rule(values, stalled):
    results = [(i, {"validation/accuracy": v}) for i, v in enumerate(values)]
    assert reset.stalled(results, "accuracy") is stalled
    flipped = [(i, {"validation/wer": -v}) for i, v in enumerate(values)]
    assert reset.stalled(flipped, "wer") is stalled  # lower is better: sign flipped


def test_v05_self_tuning_reset_restores_initial_weights_and_halves_lr():
    module = _load("self", "schedule_free_adamw_v05")
    workload = TinyTorchWorkload()
    model, _ = workload.init_model_fn(np.array([0, 1], dtype=np.uint32))
    initial = [p.detach().clone() for p in model.parameters()]
    opt_state = module.init_optimizer_state(workload, model, None, None, None)
    queue = workload._build_input_queue(np.array([0, 2], dtype=np.uint32), "train", None, 64)
    for step in range(30):
        opt_state, model, _ = module.update_params(
            workload, model, None, None, None, next(queue), None, opt_state, [], step, None
        )
    flat = [(s, {"validation/accuracy": 0.5}) for s in range(4)]
    lr = opt_state["optimizer"].param_groups[0]["lr"]
    step = int(0.1 * workload.step_hint) + 1
    opt_state, model, _ = module.update_params(
        workload, model, None, None, None, next(queue), None, opt_state, flat, step, None
    )
    group = opt_state["optimizer"].param_groups[0]
    assert group["lr"] == lr / 2 and group["k"] == 1  # reset, then this step
    assert opt_state["submission"].resets == 1
    # the step after the reset started from the initial weights
    assert all(
        float((p.detach() - q).abs().max()) < 0.05
        for p, q in zip(model.parameters(), initial, strict=True)
    )
    # the same evals are not checked twice
    module.update_params(
        workload, model, None, None, None, next(queue), None, opt_state, flat, step + 1, None
    )
    assert opt_state["submission"].resets == 1


def test_submission_state_is_checkpointable():
    import io

    state = pytorch_submission.SubmissionState(bn_batches=2)
    state.evals_checked, state.resets = 3, 1
    for i in range(3):
        state.recent_batches.append({"inputs": torch.full((2, 3), float(i))})
    buffer = io.BytesIO()
    torch.save(state.state_dict(), buffer)
    buffer.seek(0)
    other = pytorch_submission.SubmissionState(bn_batches=2)
    other.load_state_dict(torch.load(buffer, weights_only=True))
    assert (other.evals_checked, other.resets) == (3, 1)
    assert isinstance(other.recent_batches, collections.deque)
    assert [float(b["inputs"][0, 0]) for b in other.recent_batches] == [1.0, 2.0]


def test_large_recent_batches_are_not_checkpointed(monkeypatch):
    monkeypatch.setattr(pytorch_submission, "MAX_CHECKPOINTED_BATCH_BYTES", 10)
    state = pytorch_submission.SubmissionState(bn_batches=2)
    state.recent_batches.append({"inputs": torch.zeros(4)})  # 16 bytes
    assert "recent_batches" not in state.state_dict()


@pytest.mark.parametrize(
    "point,message",
    [
        (dict(POINT, lr=0.1), "unknown hyperparameters ['lr']"),
        (
            {k: v for k, v in POINT.items() if k != "warmup_factor"},
            "missing hyperparameters ['warmup_factor']",
        ),
        (dict(POINT, beta2=1.0), "beta2=1.0 is outside"),
        (dict(POINT, learning_rate=0.0), "learning_rate=0.0 is outside"),
    ],
)
def test_runner_refuses_bad_points_before_writing(tmp_path, capsys, point, message):
    from sfadamw import cli

    space = tmp_path / "space.json"
    space.write_text(json.dumps([point]))
    argv = [
        "run",
        "--workload=tests.runner_fixtures:TinyTorchWorkload",
        "--submission_path=submissions/external_tuning/schedule_free_adamw/pytorch/submission.py",
        "--tuning_ruleset=external",
        f"--tuning_search_space={space}",
        f"--experiment_dir={tmp_path / 'out'}",
    ]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "out").exists()


def test_external_runs_find_the_search_space_of_the_submission_folder(tmp_path):
    from sfadamw import cli

    argv = [
        "run",
        "--workload=digits_vit",
        "--submission_path=submissions/external_tuning/schedule_free_adamw/pytorch/submission.py",
        "--tuning_ruleset=external",
        "--num_tuning_trials=1",
        "--max_global_steps=1",
        f"--experiment_dir={tmp_path}",
        "--experiment_name=e",
    ]
    assert cli.main(argv) == 0
    hparams = json.loads((tmp_path / "e/digits_vit_pytorch/trial_1/hparams.json").read_text())
    space = json.loads((ROOT / "tuning_search_space.json").read_text())
    assert hparams == space[0]
