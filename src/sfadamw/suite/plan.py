"""The full benchmark as a list of trials: workloads x studies x tuning trials.

Layout (what the scorer reads, as in the official leaderboard logs)::

    <experiment_dir>/<submission>/study_<s>/<workload>_<framework>/trial_<k>/eval_measurements.csv

One trial is one runner invocation with ``--experiment_dir=<experiment_dir>/<submission>``,
``--experiment_name=study_<s>`` and, under external tuning, ``--num_tuning_trials=T
--hparam_start_index=k-1 --hparam_end_index=k``: the harness draws the same T
search-space points (its Halton sequence has no seed) in every invocation and runs
point ``k-1`` in ``trial_<k>``. Study ``s`` passes ``--rng_seed=base + s * T``: the
harness seeds every trial of an invocation with it, the embedded runner seeds trial
``k`` with ``rng_seed + k - 1``; either way no two studies share a seed (the harness
draws a random seed when given 0, so the default base is 1).
Every invocation passes ``--resume_last_run``: the study's ``<workload>_<framework>``
folder already exists once one of its trials ran, and the harness would otherwise stop
to ask whether to resume; a trial without a checkpoint starts from scratch.

A trial is finished when its folder holds ``eval_measurements.csv`` and the marker
:data:`MARKER` that the suite writes after the runner exited 0; a folder without the
marker is an interrupted trial, run again (resuming from its last checkpoint).
"""

from __future__ import annotations

import datetime
import importlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from sfadamw import official_workloads as official
from sfadamw.suite.launch import Launch, Paths, RunOptions, build_launch

MARKER = "sfadamw_trial_complete.json"
EVAL_FILE = "eval_measurements.csv"


@dataclass(frozen=True)
class Trial:
    """One runner invocation of the suite."""

    workload: str
    framework: str
    study: int
    trial: int  # 1-based, as the trial_<k> folder
    budget_sec: float | None  # training budget, None for embedded workloads
    launch: Launch
    trial_dir: Path

    @property
    def name(self) -> str:
        return f"{self.workload}_{self.framework}/study_{self.study}/trial_{self.trial}"

    def state(self) -> str:
        """``done`` (finished: skip), ``partial`` (interrupted: resume) or ``new``."""
        if (self.trial_dir / MARKER).is_file() and (self.trial_dir / EVAL_FILE).is_file():
            return "done"
        return "partial" if self.trial_dir.exists() else "new"


@dataclass(frozen=True)
class SuiteConfig:
    """What to run: ruleset, version, workloads, and the knobs that scale it down."""

    ruleset: str = "external"
    version: str = "current"
    workloads: tuple[str, ...] = official.BASE_WORKLOADS
    framework: str = "pytorch"
    submission_name: str = "schedule_free_adamw"
    submission_path: str | None = None
    tuning_search_space: str | None = None
    studies: int | None = None  # default: the version's
    trials: int | None = None  # default: the ruleset's
    rng_seed: int = 1
    max_global_steps: int | None = None
    gpus: int | None = None
    save_checkpoints: bool = True

    @property
    def n_studies(self) -> int:
        return self.studies or official.get_version(self.version).studies

    @property
    def n_trials(self) -> int:
        return self.trials or official.get_version(self.version).trials_per_study(self.ruleset)


def folder_name(workload: str) -> str:
    """The name the runner gives the workload's folder: a ``module:Class`` workload's
    ``name`` attribute, else the workload name itself."""
    if ":" not in workload:
        return workload
    module, cls = workload.split(":", 1)
    return getattr(importlib.import_module(module), cls).name


def plan(config: SuiteConfig, paths: Paths) -> list[Trial]:
    """Every trial of the suite, in the order they run (workload, study, trial)."""
    submission_dir = paths.experiment_dir / config.submission_name
    run_paths = Paths(
        root=paths.root,
        data_dir=paths.data_dir,
        experiment_dir=submission_dir,
        log_dir=paths.log_dir,
        algoperf_dir=paths.algoperf_dir,
    )
    version = official.get_version(config.version)
    factor = version.budget_factor(config.ruleset)
    external = config.ruleset == "external"
    trials = []
    for workload in config.workloads:
        budget = None
        if official.is_official(workload):
            budget = official.get(workload).max_allowed_runtime_sec * factor
        for study in range(config.n_studies):
            for k in range(1, config.n_trials + 1):
                opts = RunOptions(
                    workload=workload,
                    framework=config.framework,
                    submission_path=config.submission_path,
                    tuning_search_space=config.tuning_search_space,
                    experiment_name=f"study_{study}",
                    max_global_steps=config.max_global_steps,
                    save_checkpoints=config.save_checkpoints,
                    resume_last_run=True,
                    tuning_ruleset=config.ruleset,
                    num_tuning_trials=config.n_trials if external else None,
                    hparam_start_index=k - 1 if external else None,
                    hparam_end_index=k if external else None,
                    rng_seed=config.rng_seed + study * config.n_trials,
                    gpus=config.gpus,
                )
                workload_dir = f"{folder_name(workload)}_{config.framework}"
                trial_dir = submission_dir / f"study_{study}" / workload_dir
                trials.append(
                    Trial(
                        workload,
                        config.framework,
                        study,
                        k,
                        budget,
                        build_launch(opts, run_paths),
                        trial_dir / f"trial_{k}",
                    )
                )
    return trials


def mark_complete(trial_dir: Path, launch: Launch, attempts: int) -> Path:
    """Write the marker that says the trial finished (atomically: tmp + rename)."""
    marker = trial_dir / MARKER
    record = {
        "finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "returncode": 0,
        "attempts": attempts,
        "command": launch.shell(),
    }
    tmp = marker.with_name(f".{MARKER}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    tmp.replace(marker)
    return marker
