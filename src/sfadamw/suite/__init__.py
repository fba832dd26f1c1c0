"""``sfadamw suite``: the whole benchmark, planned, run and scored.

    sfadamw suite --ruleset external --version current --workloads official \\
        --executor slurm --slurm_partition gpu --dry-run

plans workloads x studies x trials (v0.5: 14 workloads, 5 studies; current: 8
workloads, 3 studies; 5 trials per study under external tuning, 1 under
self-tuning; see :mod:`sfadamw.official_workloads`), skips trials that finished,
runs the others through submitit (:mod:`sfadamw.suite.executors`): one after
another on this machine, or one SLURM job per trial, then scores the experiment
directory with ``sfadamw score``. ``--dry-run`` prints the plan (and, for SLURM, the
sbatch parameters of each job) and runs nothing. Scaling flags (``--studies``,
``--trials``, ``--max_global_steps``) shrink the run for a local check.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import replace
from pathlib import Path

from sfadamw import official_workloads as official
from sfadamw.errors import UserError
from sfadamw.suite.executors import (
    EXECUTORS,
    SlurmSettings,
    run_trials,
    sbatch_preview,
    timeout_minutes,
)
from sfadamw.suite.launch import Paths, visible_gpus
from sfadamw.suite.plan import SuiteConfig, Trial, plan
from sfadamw.suite.score_step import score


def _workloads(spec: str, version: str, framework: str) -> tuple[str, ...]:
    if spec == "official":
        return official.get_version(version).workloads
    if spec == "embedded":
        from sfadamw.workloads import available

        names = tuple(n for n, f in available().items() if framework in f)
        if not names:
            raise UserError(f"no embedded workloads exist in {framework}")
        return names
    return tuple(w.strip() for w in spec.split(",") if w.strip())


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sfadamw suite", description=__doc__.split("\n\n")[0])
    p.add_argument("--ruleset", "--tuning_ruleset", default="external", choices=official.RULESETS)
    p.add_argument("--version", default="current", choices=tuple(official.VERSIONS))
    p.add_argument(
        "--workloads",
        default="official",
        help="official (the version's), embedded (all embedded ones), or a comma list",
    )
    p.add_argument("--framework", default="pytorch", choices=official.FRAMEWORKS)
    p.add_argument(
        "--experiment_dir",
        type=Path,
        default=None,
        help="default $SFADAMW_EXPERIMENT_DIR or /experiment_runs",
    )
    p.add_argument(
        "--log_dir",
        type=Path,
        default=None,
        help="submitit's job folders; default $SFADAMW_LOG_DIR or /logs",
    )
    p.add_argument("--data_dir", type=Path, default=None, help="default $SFADAMW_DATA_DIR or /data")
    p.add_argument("--submission_name", default="schedule_free_adamw")
    p.add_argument("--submission_path", default=None)
    p.add_argument("--tuning_search_space", default=None)
    p.add_argument("--studies", type=int, default=None, help="default: the version's")
    p.add_argument("--trials", type=int, default=None, help="per study; default: the ruleset's")
    p.add_argument("--rng_seed", type=int, default=1, help="study s uses rng_seed + s x trials")
    p.add_argument("--max_global_steps", type=int, default=None)
    p.add_argument("--gpus", type=int, default=None, help="per trial (default: all visible)")
    p.add_argument("--executor", default="local", choices=EXECUTORS)
    p.add_argument(
        "--timeout_min",
        type=float,
        default=None,
        help="wall-clock limit per job (default: 2 x budget + 60 min)",
    )
    p.add_argument("--slurm_partition", default=None)
    p.add_argument("--slurm_account", default=None)
    p.add_argument("--slurm_qos", default=None)
    p.add_argument("--slurm_gpus_per_node", type=int, default=8)
    p.add_argument("--slurm_cpus_per_task", type=int, default=None)
    p.add_argument("--slurm_mem_gb", type=int, default=None)
    p.add_argument("--slurm_constraint", default=None)
    p.add_argument(
        "--slurm_srun_args",
        default="",
        help="extra srun flags (quoted), e.g. pyxis --container-image=... --container-mounts=...",
    )
    p.add_argument(
        "--slurm_python",
        default=None,
        help="python on the compute node (default: this interpreter), e.g. /opt/venv/bin/python",
    )
    p.add_argument("--dry-run", "--dry_run", dest="dry_run", action="store_true")
    p.add_argument("--no_score", action="store_true", help="skip the final sfadamw score")
    p.add_argument(
        "--score_dir", type=Path, default=None, help="scores and plots (default: <log_dir>/scores)"
    )
    p.add_argument("--score_flags", default="", help="extra flags for sfadamw score (quoted)")
    return p


def describe(trials: list[Trial], config: SuiteConfig, gpus: int) -> list[str]:
    """The plan's header: sizes, states, and the budget it implies."""
    states = [t.state() for t in trials]
    counts = {s: states.count(s) for s in ("done", "partial", "new")}
    workloads = sorted({t.workload for t in trials}, key=[t.workload for t in trials].index)
    lines = [
        f"suite: ruleset={config.ruleset} version={config.version} framework={config.framework} "
        f"workloads={len(workloads)} studies={config.n_studies} "
        f"trials/study={config.n_trials} -> {len(trials)} trials "
        f"(done {counts['done']}, partial {counts['partial']}, new {counts['new']})"
    ]
    budgets = [t.budget_sec for t in trials if t.budget_sec is not None]
    if budgets:
        seconds = sum(budgets)
        lines.append(
            f"budget: {seconds:.0f} s of training at most = {seconds / 3600:.1f} h x {gpus} GPUs "
            f"= {seconds * gpus / 3600:.1f} GPU-hours"
        )
    return lines


def execute_suite(
    trials: list[Trial], executor: str, folder: Path, **kwargs: object
) -> dict[str, str]:
    """Run the trials that are not finished; ``{name: outcome}`` for all of them."""
    outcome = {t.name: "done (skipped)" for t in trials if t.state() == "done"}
    pending = [t for t in trials if t.state() != "done"]
    if pending:
        outcome.update(run_trials(pending, executor, folder, **kwargs))
    return outcome


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    paths = Paths.from_env()
    overrides = {
        k: v
        for k, v in (
            ("experiment_dir", args.experiment_dir),
            ("log_dir", args.log_dir),
            ("data_dir", args.data_dir),
        )
        if v is not None
    }
    paths = replace(paths, **{k: v.resolve() for k, v in overrides.items()})
    for name in ("studies", "trials", "gpus"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UserError(f"--{name} must be at least 1, not {value}")
    config = SuiteConfig(
        ruleset=args.ruleset,
        version=args.version,
        workloads=_workloads(args.workloads, args.version, args.framework),
        framework=args.framework,
        submission_name=args.submission_name,
        submission_path=args.submission_path,
        tuning_search_space=args.tuning_search_space,
        studies=args.studies,
        trials=args.trials,
        rng_seed=args.rng_seed,
        max_global_steps=args.max_global_steps,
        gpus=args.gpus,
    )
    trials = plan(config, paths)
    slurm = SlurmSettings(
        partition=args.slurm_partition,
        account=args.slurm_account,
        qos=args.slurm_qos,
        gpus_per_node=args.slurm_gpus_per_node,
        cpus_per_task=args.slurm_cpus_per_task,
        mem_gb=args.slurm_mem_gb,
        constraint=args.slurm_constraint,
        srun_args=tuple(shlex.split(args.slurm_srun_args)),
        python=args.slurm_python,
    )
    visible = visible_gpus()
    gpus = args.slurm_gpus_per_node if args.executor == "slurm" else args.gpus or max(1, visible)
    folder = paths.log_dir / "submitit"
    for line in describe(trials, config, gpus):
        print(line)
    if args.dry_run:
        for trial in trials:
            print(f"{trial.state():<7} {trial.name} -> {trial.trial_dir}")
            print(f"  {trial.launch.shell()}")
            if args.executor == "slurm":
                minutes = timeout_minutes(trial, args.timeout_min)
                print(f"  sbatch {sbatch_preview(trial, slurm, minutes, folder)}")
        return 0
    outcome = execute_suite(
        trials,
        args.executor,
        folder,
        slurm=slurm,
        timeout_min=args.timeout_min,
        local_gpus=visible if args.gpus is None else min(args.gpus, visible),
    )
    failed = {name: text for name, text in outcome.items() if not text.startswith("done")}
    for name, text in outcome.items():
        print(f"{name}: {text}")
    if failed:
        print(
            f"sfadamw suite: {len(failed)} of {len(outcome)} trials failed; "
            "run the same command again to retry them (finished trials are skipped)",
            file=sys.stderr,
        )
        return 1
    if args.no_score:
        return 0
    return score(
        config.ruleset,
        config.version,
        config.workloads,
        config.framework,
        paths.experiment_dir,
        (args.score_dir or paths.log_dir / "scores").resolve(),
        shlex.split(args.score_flags),
    )


__all__ = ["SuiteConfig", "Trial", "execute_suite", "main", "plan"]
