"""Every Schedule-Free submission module on every embedded workload, and the API details.

Each module runs unchanged through the embedded runner's protocol loop
(sfadamw.runner.loop.train_once): two training steps, prepare_for_eval, evals.
The workloads' eval splits are cut to EVAL_EXAMPLES here (the workloads honour
``num_examples``) to keep the matrix cheap; full-size evals run in the
end-to-end tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sfadamw.algoperf import variants
from sfadamw.runner import loop
from sfadamw.runner import submission as submission_loader
from sfadamw.runner.search_space import as_hyperparameters
from sfadamw.workloads import available, get_workload

ROOT = Path(__file__).resolve().parents[1]
SUBMISSIONS = sorted(
    str(p.relative_to(ROOT))
    for p in (ROOT / "submissions").glob("*_tuning/schedule_free_adamw*/*/submission.py")
)
WORKLOADS = available()
EVAL_EXAMPLES = 64


def _framework(path: str) -> str:
    return Path(path).parent.name


def _ruleset(path: str) -> str:
    return "external" if "external_tuning" in path else "self"


def _first_point(path: str):
    space = json.loads((ROOT / path).parent.parent.joinpath("tuning_search_space.json").read_text())
    return as_hyperparameters(space[0])


CASES = [
    (path, name)
    for path in SUBMISSIONS
    for name, frameworks in WORKLOADS.items()
    if _framework(path) in frameworks
]


def test_every_variant_has_modules():
    found = {(Path(p).parents[1].name, _ruleset(p)) for p in SUBMISSIONS}
    assert found == set(variants.VARIANTS)
    assert len(WORKLOADS) == 8


@pytest.mark.parametrize(
    "path,workload_name",
    CASES,
    ids=[f"{p.split('/')[1]}/{p.split('/')[2]}/{p.split('/')[3]}-{w}" for p, w in CASES],
)
def test_submission_trains_and_evaluates(path, workload_name):
    framework = _framework(path)
    module = submission_loader.load(str(ROOT / path))
    workload = get_workload(workload_name, framework)
    for split in ("num_eval_train_examples", "num_validation_examples", "num_test_examples"):
        setattr(workload, split, min(getattr(workload, split), EVAL_EXAMPLES))
    hparams = _first_point(path) if _ruleset(path) == "external" else None
    cfg = loop.TrialConfig(
        framework=framework,
        tuning_ruleset=_ruleset(path),
        hyperparameters=hparams,
        rng_seed=0,
        folder=None,
        max_global_steps=2,
        eval_every_steps=2,
        save_checkpoints=False,
        show_progress=False,
    )
    result = loop.train_once(workload, module, cfg)
    assert result.global_step == 2
    step, metrics = result.eval_results[-1]
    value = metrics[f"validation/{workload.target_metric_name}"]
    assert np.isfinite(value)
    assert np.isfinite(metrics["train/loss"] if "train/loss" in metrics else value)


def test_embedded_batch_sizes_are_the_calibrated_ones():
    """The table agrees with the calibration records the targets come from."""
    from sfadamw.workload_settings import EMBEDDED_BATCH_SIZES

    calibrated = {
        name: json.loads((ROOT / f"results/calibration/{name}.json").read_text())["batch_size"]
        for name in ("digits_resnet", "digits_vit", "phantom_unet", "synth_dlrm")
    }
    record = json.loads((ROOT / "results/benchmarks/calibrate_workloads_b.json").read_text())
    calibrated.update({name: record[name]["batch_size"] for name in record})
    assert EMBEDDED_BATCH_SIZES == calibrated
