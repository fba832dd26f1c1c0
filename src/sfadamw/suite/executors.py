"""Running trials through submitit: one job per trial, here or on a SLURM cluster.

``local``: submitit's LocalExecutor (each trial a real process tree, one after
another); ``slurm``: one sbatch job per trial, all submitted, then waited for (the
cluster's scheduler spreads them); ``debug``: submitit's DebugExecutor (in this
process, for debugging; it opens pdb on a failure).

A job is a :class:`TrialJob`. On preemption or timeout submitit sends it a signal,
calls :meth:`TrialJob.checkpoint` and requeues what it returns: the same runner
command, which carries ``--resume_last_run``, so the runner continues from the trial's
last checkpoint. The marker is written only after the runner exits 0 and
``eval_measurements.csv`` exists.
"""

from __future__ import annotations

import math
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sfadamw.errors import UserError
from sfadamw.suite.launch import Launch
from sfadamw.suite.plan import EVAL_FILE, Trial, mark_complete

EXECUTORS = ("local", "slurm", "debug")


class TrialFailedError(RuntimeError):
    """A runner exited non-zero, or exited 0 without writing eval_measurements.csv."""


class TrialJob:
    """The callable submitit pickles: run one trial's command, then mark it complete."""

    def __init__(self, launch: Launch, trial_dir: Path, attempt: int = 1) -> None:
        self.launch = launch
        self.trial_dir = Path(trial_dir)
        self.attempt = attempt

    def __call__(self) -> str:
        print(f"[sfadamw suite] attempt {self.attempt}: {self.launch.shell()}", flush=True)
        proc = subprocess.Popen(
            self.launch.argv, cwd=self.launch.cwd, env={**os.environ, **self.launch.env}
        )
        try:
            returncode = proc.wait()
        finally:  # preempted (submitit's signal handler exits): stop the runner too
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if returncode != 0:
            raise TrialFailedError(f"{self.trial_dir}: runner exited with status {returncode}")
        if not (self.trial_dir / EVAL_FILE).is_file():
            raise TrialFailedError(f"{self.trial_dir}: runner exited 0 but wrote no {EVAL_FILE}")
        mark_complete(self.trial_dir, self.launch, self.attempt)
        return str(self.trial_dir)

    def checkpoint(self) -> object:
        """What submitit requeues on preemption/timeout: the same command, resuming."""
        import submitit

        argv = list(self.launch.argv)
        if "--resume_last_run=true" not in argv:
            argv.append("--resume_last_run=true")
        launch = Launch(argv, cwd=self.launch.cwd, env=dict(self.launch.env))
        return submitit.helpers.DelayedSubmission(
            TrialJob(launch, self.trial_dir, self.attempt + 1)
        )


@dataclass(frozen=True)
class SlurmSettings:
    """sbatch parameters (submitit's SlurmExecutor names) shared by every trial job."""

    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    gpus_per_node: int = 8
    cpus_per_task: int | None = None
    mem_gb: int | None = None
    constraint: str | None = None
    signal_delay_s: int = 120
    # e.g. pyxis/enroot: ("--container-image=sfadamw:pytorch", "--container-mounts=...");
    # the job then runs `python -m submitit.core._submit` inside the image.
    srun_args: tuple[str, ...] = ()
    python: str | None = None  # the interpreter on the compute node (default: this one)


def timeout_minutes(trial: Trial, override: float | None) -> int:
    """Wall-clock limit of one job: ``override``, else 2 x the training budget + 1 h
    (evals, compilation and data loading are not in the budget), else 60 min."""
    if override is not None:
        return int(math.ceil(override))
    if trial.budget_sec is None:
        return 60
    return int(math.ceil(2 * trial.budget_sec / 60)) + 60


def slurm_parameters(trial: Trial, settings: SlurmSettings, timeout_min: int) -> dict:
    params = {
        "job_name": f"sfadamw_{trial.workload}_s{trial.study}_t{trial.trial}",
        "time": timeout_min,
        "nodes": 1,
        "ntasks_per_node": 1,  # torchrun starts one process per GPU itself
        "gpus_per_node": settings.gpus_per_node,
        "signal_delay_s": settings.signal_delay_s,
    }
    if settings.mem_gb is not None:
        params["mem"] = f"{settings.mem_gb}GB"
    for name in ("partition", "account", "qos", "cpus_per_task", "constraint"):
        value = getattr(settings, name)
        if value is not None:
            params[name] = value
    if settings.srun_args:
        params["srun_args"] = list(settings.srun_args)
    return params


def sbatch_preview(trial: Trial, settings: SlurmSettings, timeout_min: int, folder: Path) -> str:
    """The ``#SBATCH`` lines submitit would write for this trial's job, on one line as
    sbatch flags (submitit's own sbatch-file builder, so nothing is guessed)."""
    from submitit.slurm.slurm import _make_sbatch_string

    python = settings.python or shlex.quote(sys.executable)
    command = " ".join([python, "-u -m submitit.core._submit", shlex.quote(str(folder))])
    text = _make_sbatch_string(
        command=command, folder=folder, **slurm_parameters(trial, settings, timeout_min)
    )
    flags = [ln.removeprefix("#SBATCH ") for ln in text.splitlines() if ln.startswith("#SBATCH ")]
    srun = [ln for ln in text.splitlines() if ln.startswith("srun ")]
    return " ".join(flags) + (f"  # then: {srun[0]}" if srun else "")


def make_executor(
    kind: str, folder: Path, local_gpus: int = 0, python: str | None = None
) -> object:
    import submitit

    if kind == "local":
        executor = submitit.LocalExecutor(folder=folder)
        executor.update_parameters(gpus_per_node=local_gpus)
        return executor
    if kind == "debug":
        return submitit.DebugExecutor(folder=folder)
    if kind == "slurm":
        try:
            return submitit.SlurmExecutor(folder=folder, python=python)
        except RuntimeError as e:  # no srun on this machine
            raise UserError(f"--executor slurm: {e}") from e
    raise UserError(f"unknown executor {kind!r}; use one of {', '.join(EXECUTORS)}")


def run_trials(
    trials: list[Trial],
    kind: str,
    folder: Path,
    *,
    slurm: SlurmSettings | None = None,
    timeout_min: float | None = None,
    local_gpus: int = 0,
) -> dict[str, str]:
    """Run ``trials``; ``{trial name: "done" | error text}``.

    local/debug: one job at a time, each waited for. slurm: every job submitted first
    (the scheduler runs them as resources allow), then each waited for.
    """
    slurm = slurm or SlurmSettings()
    executor = make_executor(kind, folder, local_gpus, slurm.python)
    outcome: dict[str, str] = {}
    jobs = []
    for trial in trials:
        minutes = timeout_minutes(trial, timeout_min)
        if kind == "slurm":
            executor.update_parameters(**slurm_parameters(trial, slurm, minutes))
        elif kind == "local":
            executor.update_parameters(timeout_min=minutes)
        job = executor.submit(TrialJob(trial.launch, trial.trial_dir))
        print(f"[sfadamw suite] {trial.name}: job {job.job_id}", flush=True)
        jobs.append((trial, job))
        if kind != "slurm":
            outcome[trial.name] = _wait(job)
    for trial, job in jobs:
        if trial.name not in outcome:
            outcome[trial.name] = _wait(job)
    return outcome


def _wait(job: object) -> str:
    """``"done"``, or the job's error in one line (submitit's error carries the traceback)."""
    try:
        job.result()
    except Exception as e:
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        raised = [ln for ln in lines if re.match(r"^[\w.]+(Error|Exception|Interrupt)\b", ln)]
        return raised[-1] if raised else (lines[0] if lines else type(e).__name__)
    return "done"
