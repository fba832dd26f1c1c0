"""``sfadamw run``: train a workload with a submission under the AlgoPerf protocol.

Flags follow the harness's submission_runner (``--flag=value``, ``--flag value``,
``--flag``/``--noflag`` for booleans)::

    sfadamw run --workload=digits_resnet --framework=pytorch \\
        --submission_path=submissions/self_tuning/schedule_free_adamw/pytorch/submission.py \\
        --tuning_ruleset=self --experiment_dir=experiments --experiment_name=demo

Embedded workloads run here (:mod:`sfadamw.runner.loop`); official AlgoPerf
workload names go to the harness when it is installed
(:mod:`sfadamw.runner.harness`). ``--workload`` also accepts ``module:Class``
(a workload class outside the registry, e.g. a test fixture). Everything is
checked (workload, submission, search space, experiment directory) before
anything is written. Each trial ends with one summary line on stdout.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import sys

from absl import flags

from sfadamw import workloads
from sfadamw.errors import ExperimentError, SearchSpaceError, UserError, WorkloadError
from sfadamw.runner import harness, logs, search_space
from sfadamw.runner import submission as submission_loader
from sfadamw.runner.loop import TrialConfig, TrialResult, train_once

#: Our submission for the chosen framework, relative to the working directory or, failing
#: that, to the checkout this package runs from.
DEFAULT_SUBMISSION = "submissions/self_tuning/schedule_free_adamw/{framework}/submission.py"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))


def make_flags() -> flags.FlagValues:
    """The run's flags (a private FlagValues, so main() can be called repeatedly)."""
    fv = flags.FlagValues()
    d = dict(flag_values=fv)
    flags.DEFINE_string("workload", workloads.DEFAULT_WORKLOAD,
                        "embedded workload name (or module:Class), or an official one", **d)
    flags.DEFINE_enum("framework", "pytorch", ["pytorch", "jax"], "framework", **d)
    flags.DEFINE_string("submission_path", None,
                        "submission.py file, its folder, or a dotted module path (default: "
                        + DEFAULT_SUBMISSION + ")", **d)
    flags.DEFINE_enum("tuning_ruleset", "self", ["external", "self"], "tuning ruleset", **d)
    flags.DEFINE_string("tuning_search_space", None,
                        "search space JSON (external; default: the one beside the submission)",
                        **d)
    flags.DEFINE_integer("num_tuning_trials", 1, "number of trials (external)", **d)
    flags.DEFINE_string("experiment_dir", "experiments", "root of the experiment logs", **d)
    flags.DEFINE_string("experiment_name", None,
                        "experiment folder (default: the submission's name)", **d)
    flags.DEFINE_string("data_dir", None, "dataset folder (unused by embedded workloads)", **d)
    flags.DEFINE_integer("rng_seed", None, "seed (default: random, recorded); trial k "
                         "uses rng_seed + k - 1", **d)
    flags.DEFINE_integer("max_global_steps", None, "stop after this many steps", **d)
    flags.DEFINE_boolean("overwrite", False, "replace an existing experiment", **d)
    flags.DEFINE_boolean("resume_last_run", False, "resume an existing experiment", **d)
    flags.DEFINE_boolean("save_checkpoints", True, "checkpoint after every eval", **d)
    flags.DEFINE_integer("hparam_start_index", None, "first trial index (0-based)", **d)
    flags.DEFINE_integer("hparam_end_index", None, "end trial index (exclusive)", **d)
    flags.DEFINE_integer("eval_every_steps", None,
                         "evaluate after step 1 and every N steps instead of by elapsed time "
                         "(reproducible runs; embedded runner only)", **d)
    return fv


def parse(argv: list[str]) -> flags.FlagValues:
    fv = make_flags()
    try:
        rest = fv(["sfadamw run", *argv])
    except flags.Error as e:
        raise UserError(str(e).splitlines()[0]) from None
    if len(rest) > 1:
        raise UserError(f"unexpected arguments {rest[1:]}; flags are --name=value")
    for name in ("num_tuning_trials", "max_global_steps", "eval_every_steps"):
        value = fv[name].value
        if value is not None and value < 1:
            raise UserError(f"--{name} must be >= 1, got {value}")
    if fv.overwrite and fv.resume_last_run:
        raise UserError("--overwrite and --resume_last_run exclude each other; pick one")
    if fv.submission_path is None:
        default = DEFAULT_SUBMISSION.format(framework=fv.framework)
        in_repo = os.path.join(REPO_ROOT, default)
        fv.submission_path = default if os.path.exists(default) or not os.path.exists(
            in_repo) else in_repo
    return fv


def resolve_workload(name: str, framework: str):
    """A workload instance from a registry name or ``module:Class``."""
    if ":" in name:
        module_name, class_name = name.split(":", 1)
        try:
            workload = getattr(importlib.import_module(module_name), class_name)()
        except (ImportError, AttributeError) as e:
            raise WorkloadError(f"cannot load workload {name!r}: {e}") from None
        if workload.framework != framework:
            raise WorkloadError(f"workload {name!r} is a {workload.framework} workload, not "
                                f"{framework}; pass --framework={workload.framework}")
        return workload
    return workloads.get_workload(name, framework)


def embedded_listing() -> str:
    return ", ".join(f"{n} ({'/'.join(f)})" for n, f in workloads.available().items())


def trial_points(fv: flags.FlagValues) -> list[tuple[int, dict | None]]:
    """``[(trial number, hyperparameter dict or None)]`` for this run."""
    if fv.tuning_ruleset == "self":
        if fv.tuning_search_space:
            raise UserError("--tuning_search_space is for --tuning_ruleset=external only")
        return [(1, None)]
    path = fv.tuning_search_space
    if path is None:
        # beside the submission, or in the folder above (<name>/{pytorch,jax}/submission.py)
        folder = os.path.dirname(os.path.abspath(fv.submission_path))
        candidates = [os.path.join(f, "tuning_search_space.json")
                      for f in (folder, os.path.dirname(folder))]
        found = [c for c in candidates if os.path.isfile(c)]
        if not fv.submission_path.endswith(".py") or not found:
            raise UserError("--tuning_ruleset=external needs --tuning_search_space")
        path = found[0]
    points = search_space.points(search_space.load(path), fv.num_tuning_trials)
    start = fv.hparam_start_index or 0
    end = fv.num_tuning_trials if fv.hparam_end_index is None else fv.hparam_end_index
    if not 0 <= start < end <= fv.num_tuning_trials:
        raise UserError(
            f"need 0 <= --hparam_start_index < --hparam_end_index <= {fv.num_tuning_trials}"
        )
    return [(k + 1, points[k]) for k in range(start, end)]


def check_points(submission, trials: list[tuple[int, dict | None]]) -> None:
    """Let the submission refuse hyperparameters it does not know or needs, before any write.

    Optional: a submission module may define ``check_hyperparameters(point)`` raising
    ValueError (ours do; the AlgoPerf API has no such function).
    """
    check = getattr(submission, "check_hyperparameters", None)
    if check is None:
        return
    for trial, point in trials:
        if point is not None:
            try:
                check(point)
            except ValueError as e:
                raise SearchSpaceError(f"search space point for trial {trial}: {e}") from None


def check_experiment_path(path: str, fv: flags.FlagValues) -> None:
    """Raise ExperimentError unless ``path`` may be written (nothing is written here)."""
    if os.path.exists(path) and not (fv.overwrite or fv.resume_last_run):
        raise ExperimentError(
            f"experiment {path} exists; pass --overwrite to replace it or --resume_last_run "
            "to continue it"
        )
    parent = os.path.abspath(path)
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent) or not os.access(parent, os.W_OK | os.X_OK):
        raise ExperimentError(f"cannot write the experiment directory {path} ({parent} is not "
                              "a writable folder)")


def shared_random_seed() -> int:
    """A random seed, the same on every rank of a torchrun job (from its run id)."""
    run_id = os.environ.get("TORCHELASTIC_RUN_ID")
    if run_id and int(os.environ.get("WORLD_SIZE", 1)) > 1:
        return int(hashlib.sha256(run_id.encode()).hexdigest()[:7], 16)
    return int.from_bytes(os.urandom(4), "little") >> 1


def previous_seed(folder: str, trial: int) -> int | None:
    """The run's --rng_seed as recorded by trial ``trial`` (which used rng_seed + trial - 1)."""
    meta = os.path.join(folder, "meta_data_0.json")
    if os.path.isfile(meta):
        with open(meta, encoding="utf-8") as f:
            seed = json.load(f).get("rng_seed")
        return None if seed is None else int(seed) - (trial - 1)
    return None


def summary(workload, framework: str, trial: int, result: TrialResult, path: str) -> str:
    """One line: time to target, or not reached with the best value."""
    metric = workload.target_metric_name
    target = workload.validation_target_value
    head = f"{workload.name} {framework} trial_{trial}:"
    where = f"(experiment dir: {path})"
    if result.reached_step is not None:
        op = "<=" if workload.target_metric_lower_is_better else ">="
        return (f"{head} reached validation {metric} {result.reached_value:.4g} {op} {target} "
                f"at step {result.reached_step} in {result.reached_time:.1f} s of submission "
                f"time {where}")
    values = [r[f"validation/{metric}"] for _, r in result.eval_results]
    pick = min if workload.target_metric_lower_is_better else max
    best = f"best {pick(values):.4g}" if values else "no eval"
    return (f"{head} validation {metric} target {target} not reached ({best}; stopped by "
            f"{result.stop_reason} at step {result.global_step} after "
            f"{result.accumulated_submission_time:.1f} s of submission time) {where}")


def main(argv: list[str]) -> int:
    if any(a in ("-h", "--help", "-help", "--helpfull") for a in argv):
        print("usage: sfadamw run [--flag=value ...]\n\n" + make_flags().get_help())
        return 0
    fv = parse(argv)
    values = {name: fv[name].value for name in fv}

    # --- check everything before writing anything --------------------------------------
    if harness.is_official(fv.workload):
        return harness.hand_over(fv.workload, values, embedded_listing())
    workload = resolve_workload(fv.workload, fv.framework)
    if fv.data_dir is not None and not os.path.isdir(fv.data_dir):
        raise UserError(f"--data_dir {fv.data_dir!r} does not exist")
    submission = submission_loader.load(fv.submission_path)
    trials = trial_points(fv)
    check_points(submission, trials)
    name = fv.experiment_name or submission_loader.default_experiment_name(fv.submission_path)
    path = os.path.join(fv.experiment_dir, name, f"{workload.name}_{fv.framework}")
    rank = int(os.environ.get("RANK", 0))  # under torchrun only rank 0 writes
    if rank == 0:
        check_experiment_path(path, fv)
    if fv.overwrite and os.path.exists(path) and rank == 0:
        shutil.rmtree(path)
    seed = fv.rng_seed
    if seed is None and fv.resume_last_run:
        seed = previous_seed(logs.trial_dir(path, trials[0][0]), trials[0][0])
    if seed is None:
        seed = shared_random_seed()

    for trial, point in trials:
        folder = logs.trial_dir(path, trial)
        if rank == 0:
            os.makedirs(folder, exist_ok=True)
        existing = os.listdir(folder) if os.path.isdir(folder) else []
        preemption = len([f for f in existing if f.startswith("meta_data_")])
        trial_seed = seed + trial - 1
        if rank == 0:
            if point is not None:
                hparams = os.path.join(folder, "hparams.json")
                if os.path.exists(hparams) and fv.resume_last_run:
                    with open(hparams, encoding="utf-8") as f:
                        if json.load(f) != point:
                            raise ExperimentError(f"{hparams} differs from the search space "
                                                  "point of this trial; cannot resume")
                logs.atomic_write_json(hparams, point)
            logs.atomic_write_json(
                os.path.join(folder, f"meta_data_{preemption}.json"),
                logs.meta_data(workload.name, fv.framework, trial_seed, trial),
            )
            logs.atomic_write_json(os.path.join(folder, f"flags_{preemption}.json"), values)
        cfg = TrialConfig(
            framework=fv.framework, tuning_ruleset=fv.tuning_ruleset,
            hyperparameters=None if point is None else search_space.as_hyperparameters(point),
            rng_seed=trial_seed, folder=folder, preemption_count=preemption,
            max_global_steps=fv.max_global_steps, eval_every_steps=fv.eval_every_steps,
            data_dir=fv.data_dir, save_checkpoints=fv.save_checkpoints,
            resume=fv.resume_last_run, show_progress=sys.stderr.isatty(),
        )
        result = train_once(workload, submission, cfg)
        if rank == 0:
            print(summary(workload, fv.framework, trial, result, path), flush=True)
    return 0
