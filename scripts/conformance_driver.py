"""Run a submission through one train / prepare_for_eval / train / eval cycle in the real harness.

The harness's own fake-data check (``tests/reference_algorithm_tests.py`` of
mlcommons/algorithmic-efficiency) never calls ``prepare_for_eval``, passes ``{}``
for a self-tuning submission's hyperparameters and a plain ``{}`` for
``train_state``. This driver builds the workload the same way that test does
(the test module's one-batch fake-data workload, imported, not copied), then
calls the submission the way ``submission_runner.py`` does:

1. ``init_optimizer_state`` (hyperparameters ``None`` for self-tuning, one Halton
   point of the search space for external tuning);
2. ``data_selection`` + ``update_params`` with a read-only ``train_state``;
3. ``prepare_for_eval``, whose returned params / optimizer state / model state
   replace the old ones, as in the runner;
4. ``model_fn`` in EVAL mode on the prepared parameters (x for Schedule-Free)
   and ``workload.eval_model`` on them;
5. ``update_params`` again (training continues from what ``prepare_for_eval``
   returned), then a second ``prepare_for_eval`` and EVAL-mode ``model_fn``.

PyTorch: with the runner's ``--torch_compile`` (on by default, as in the runner)
the model and loss are wrapped in ``torch.compile`` where the runner wraps them
(NOT_COMPILED, LOSS_COMPILED below); ``--torch_compile=false`` skips that, as the
harness's fake-data test does.

For wmt, ``eval_model`` (BLEU by beam-search decoding, minutes per split on a
CPU) runs only with ``--wmt_full_eval``; ``model_fn`` in EVAL mode always does.

Every model output, loss and eval metric must be finite and the parameter
shapes must not change. Exit status 0 and a final ``DRIVER PASS`` line on
success; a traceback or ``DRIVER FAIL: ...`` otherwise.

Run it from the root of a harness checkout, in an environment where the harness
(``algoperf``), its workload dependencies and ``sfadamw`` are installed and the
folder holding ``submissions/`` is on ``PYTHONPATH``::

    cd algorithmic-efficiency
    PYTHONPATH=/path/to/sfadamw python /path/to/sfadamw/scripts/conformance_driver.py \\
        --framework=pytorch --workload=ogbg --global_batch_size=2 \\
        --submission_path=submissions/self_tuning/schedule_free_adamw/pytorch/submission.py \\
        --tuning_search_space=None
"""

from __future__ import annotations

import importlib
import inspect
import json
import math
import os
import sys
from types import MappingProxyType
from typing import Any

sys.path.insert(0, os.getcwd())  # the harness checkout (its tests package)

import jax  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from absl import app, flags  # noqa: E402
from algoperf import halton, pytorch_utils, spec  # noqa: E402
from algoperf import random_utils as prng  # noqa: E402
from algoperf.profiler import PassThroughProfiler  # noqa: E402
from algoperf.workloads import workloads  # noqa: E402

from tests import reference_algorithm_tests as harness_test  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_boolean(
    "wmt_full_eval",
    False,
    "Also run wmt's eval_model after prepare_for_eval. Off by default: with random weights "
    "its beam search decodes to the maximum length, about 5 minutes per split on a CPU "
    "(model_fn in EVAL mode at x still runs).",
)


# What submission_runner.py compiles when its --torch_compile is on (its default; the
# flag itself is the runner's, defined when the harness test imports it), at the
# pinned harness commit: the model, except for the workloads it cannot compile,
# and the loss of a few workloads.
NOT_COMPILED = (
    "librispeech_conformer",
    "ogbg",
    "criteo1tb",
    "imagenet_vit",
    "librispeech_deepspeech",
)
LOSS_COMPILED = ("fastmri", "librispeech_deepspeech", "ogbg", "wmt")


class DriverFailure(AssertionError):
    """A submission broke one of the driver's checks."""


def _leaves(tree: Any) -> list:
    """Array leaves of a model output / state: tuples, lists, dicts, jax pytrees, tensors."""
    if tree is None:
        return []
    if isinstance(tree, torch.Tensor):
        return [tree]
    if isinstance(tree, (tuple, list)):
        return [leaf for item in tree for leaf in _leaves(item)]
    if isinstance(tree, dict):
        return [leaf for item in tree.values() for leaf in _leaves(item)]
    return list(jax.tree_util.tree_leaves(tree))


def _all_finite(tree: Any) -> bool:
    for leaf in _leaves(tree):
        if isinstance(leaf, torch.Tensor):
            if leaf.is_floating_point() and not bool(torch.isfinite(leaf).all()):
                return False
        else:
            arr = np.asarray(leaf)
            if np.issubdtype(arr.dtype, np.floating) and not bool(np.isfinite(arr).all()):
                return False
    return True


def _param_shapes(framework: str, params: Any) -> dict:
    if framework == "pytorch":
        return {name: tuple(p.shape) for name, p in params.named_parameters()}
    flat = jax.tree_util.tree_flatten_with_path(params)[0]
    return {jax.tree_util.keystr(path): tuple(np.shape(leaf)) for path, leaf in flat}


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise DriverFailure(message)


def _hyperparameters(search_space_path: str):
    """None for self-tuning (as submission_runner passes), else the first Halton point."""
    if search_space_path == "None":
        return None
    with open(search_space_path, encoding="utf-8") as f:
        return halton.generate_search(json.load(f), num_trials=1)[0]


def _eval_forward(framework, workload, params, model_state, batch, rng):
    """model_fn in EVAL mode on one batch, as the workload's eval loop calls it."""
    kwargs = dict(
        params=params,
        augmented_and_preprocessed_input_batch=batch,
        model_state=model_state,
        mode=spec.ForwardPassMode.EVAL,
        rng=rng,
        update_batch_norm=False,
    )
    if framework == "pytorch":
        with torch.no_grad():
            return workload.model_fn(**kwargs)
    return workload.model_fn(**kwargs)


def _check_eval(workload, name: str, result: dict) -> None:
    expected = harness_test._EXPECTED_METRIC_NAMES[FLAGS.workload]
    missing = [m for m in expected if m not in result]
    _check(not missing, f"{name}: eval results lack {missing}")
    scalars = {k: np.asarray(v) for k, v in result.items()}  # floats or 0-d jax arrays
    bad = {
        k: v.item()
        for k, v in scalars.items()
        if v.ndim == 0 and np.issubdtype(v.dtype, np.floating) and not math.isfinite(v.item())
    }
    _check(not bad, f"{name}: non-finite eval metrics {bad}")


def run() -> None:
    framework, workload_name = FLAGS.framework, FLAGS.workload
    batch_size = FLAGS.global_batch_size
    _check(batch_size > 0, "--global_batch_size must be positive")
    FLAGS.num_train_steps = 2  # the fake input queue then holds enough training batches
    profiler = PassThroughProfiler()
    if framework == "pytorch":
        pytorch_utils.pytorch_init(harness_test.USE_PYTORCH_DDP, harness_test.RANK, profiler)
    n_devices = max(harness_test.N_GPUS, jax.local_device_count())

    meta = workloads.WORKLOADS[workload_name]
    workload_class = workloads.import_workload(
        workload_path=os.path.join(
            workloads.BASE_WORKLOADS_DIR, f"{meta['workload_path']}_{framework}", "workload.py"
        ),
        workload_class_name=meta["workload_class_name"],
        return_class=True,
    )
    workload = harness_test._make_one_batch_workload(
        workload_class, workload_name, framework, batch_size, True, n_devices
    )
    submission = importlib.import_module(
        workloads.convert_filepath_to_module(FLAGS.submission_path)
    )
    _check(
        "train_state" in inspect.signature(submission.update_params).parameters,
        "update_params has no train_state parameter",
    )
    _check(callable(getattr(submission, "prepare_for_eval", None)), "no prepare_for_eval")
    submitted_batch = submission.get_batch_size(workload_name)
    _check(
        isinstance(submitted_batch, int) and submitted_batch > 0,
        f"get_batch_size({workload_name!r}) = {submitted_batch!r}",
    )
    hyperparameters = _hyperparameters(FLAGS.tuning_search_space)

    rng = prng.PRNGKey(0)
    data_rng, opt_init_rng, model_init_rng, rng = prng.split(rng, 4)
    input_queue = workload._build_input_queue(
        data_rng, "train", data_dir=FLAGS.data_dir, global_batch_size=batch_size
    )
    params, model_state = workload.init_model_fn(model_init_rng)
    if framework == "pytorch" and FLAGS.torch_compile:  # as submission_runner.py does
        if workload_name not in NOT_COMPILED:
            params = torch.compile(params)  # the submission then sees an OptimizedModule
        if workload_name in LOSS_COMPILED:
            workload.loss_fn = torch.compile(workload.loss_fn)
    shapes = _param_shapes(framework, params)
    optimizer_state = submission.init_optimizer_state(
        workload, params, model_state, hyperparameters, opt_init_rng
    )
    train_state = {"training_complete": False, "accumulated_submission_time": 0.0}
    eval_results: list = []

    for global_step in range(2):
        step_rng = prng.fold_in(rng, global_step)
        select_rng, update_rng, prep_rng, eval_rng = prng.split(step_rng, 4)
        batch = submission.data_selection(
            workload,
            input_queue,
            optimizer_state,
            params,
            model_state,
            hyperparameters,
            global_step,
            select_rng,
        )
        optimizer_state, params, model_state = submission.update_params(
            workload=workload,
            current_param_container=params,
            current_params_types=workload.model_params_types,
            model_state=model_state,
            hyperparameters=hyperparameters,
            batch=batch,
            loss_type=workload.loss_type,
            optimizer_state=optimizer_state,
            eval_results=eval_results,
            global_step=global_step,
            rng=update_rng,
            train_state=MappingProxyType(train_state),
        )
        _check(_param_shapes(framework, params) == shapes, f"step {global_step}: shapes changed")
        _check(_all_finite(_leaves_of_params(framework, params)), f"step {global_step}: params")
        optimizer_state, params, model_state = submission.prepare_for_eval(
            workload=workload,
            current_param_container=params,
            current_params_types=workload.model_params_types,
            model_state=model_state,
            hyperparameters=hyperparameters,
            loss_type=workload.loss_type,
            optimizer_state=optimizer_state,
            eval_results=eval_results,
            global_step=global_step + 1,
            rng=prep_rng,
        )
        _check(_param_shapes(framework, params) == shapes, "prepare_for_eval changed shapes")
        outputs = _eval_forward(framework, workload, params, model_state, batch, eval_rng)
        _check(_all_finite(outputs), f"step {global_step}: non-finite EVAL-mode model output")
        full_eval = workload_name != "wmt" or FLAGS.wmt_full_eval
        if global_step > 0 or not full_eval:  # one full eval is enough
            print(f"step {global_step}: prepare_for_eval + EVAL-mode model_fn at x", flush=True)
            continue
        result = workload.eval_model(
            batch_size,
            params,
            model_state,
            eval_rng,
            FLAGS.data_dir,
            imagenet_v2_data_dir=None,
            global_step=global_step + 1,
        )
        _check_eval(workload, f"eval after step {global_step}", result)
        eval_results.append((global_step + 1, result))
        print(f"step {global_step}: prepare_for_eval + eval at x: {result}", flush=True)


def _leaves_of_params(framework: str, params: Any) -> list:
    if framework == "pytorch":
        return [p.detach() for p in params.parameters()]
    return jax.tree_util.tree_leaves(params)


def main(argv: list[str]) -> None:
    del argv
    try:
        run()
    except DriverFailure as exc:
        print(f"DRIVER FAIL: {exc}", flush=True)
        sys.exit(1)
    print("DRIVER PASS", flush=True)


if __name__ == "__main__":
    app.run(main)
