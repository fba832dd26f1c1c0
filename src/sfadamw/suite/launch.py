"""One workload, one command: what ``scripts/run_workload.sh`` (the Docker entry) runs.

The flags are those of the harness's Docker entry (``docker/scripts/startup.sh`` of
mlcommons/algorithmic-efficiency): ``-f`` framework, ``-w`` workload, ``-s`` submission
path, ``-t`` search space, ``-e`` experiment name, ``-d`` dataset, ``-m`` max global
steps, ``-o`` overwrite, ``-c`` save checkpoints (the last two take true/false),
``--tuning_ruleset``, ``--num_tuning_trials``, ``--hparam_start_index``,
``--hparam_end_index``, ``--rng_seed``; plus ``--gpus N``, ``--resume_last_run`` and
``--dry-run`` (print the command, run nothing).

Official workloads run the harness's ``submission_runner.py`` from its checkout
(``$ALGOPERF_DIR``, default ``/algorithmic-efficiency``) with data from
``$SFADAMW_DATA_DIR/<dataset>`` (ImageNet: ``imagenet/<framework>``); embedded
workloads run ``sfadamw run``. PyTorch runs under ``torchrun --standalone --nnodes=1
--nproc_per_node=N`` (an embedded workload on one process needs no process group and
runs directly); JAX runs one process over all visible devices. Results go to
``$SFADAMW_EXPERIMENT_DIR`` (default ``/experiment_runs``), a copy of the output to
``$SFADAMW_LOG_DIR/<workload>_<framework>_<time>.log`` (default ``/logs``).
Our submission is the default: ``submissions/<ruleset>_tuning/schedule_free_adamw/
<framework>/submission.py`` under ``$SFADAMW_ROOT``, and for external tuning the
search space ``tuning_search_space.json`` there.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from sfadamw import official_workloads as official
from sfadamw.errors import UserError, WorkloadError

PROG = "run_workload.sh"


@dataclass(frozen=True)
class Paths:
    """Where things are; each overridable by an environment variable (see :func:`from_env`)."""

    root: Path  # our repository (submissions, search space)
    data_dir: Path = Path("/data")
    experiment_dir: Path = Path("/experiment_runs")
    log_dir: Path = Path("/logs")
    algoperf_dir: Path = Path("/algorithmic-efficiency")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Paths:
        env = os.environ if env is None else env
        default_root = Path(__file__).resolve().parents[3]
        return cls(
            root=Path(env.get("SFADAMW_ROOT", default_root)),
            data_dir=Path(env.get("SFADAMW_DATA_DIR", "/data")),
            experiment_dir=Path(env.get("SFADAMW_EXPERIMENT_DIR", "/experiment_runs")),
            log_dir=Path(env.get("SFADAMW_LOG_DIR", "/logs")),
            algoperf_dir=Path(env.get("ALGOPERF_DIR", "/algorithmic-efficiency")),
        )


@dataclass(frozen=True)
class RunOptions:
    """One run's settings, named as the harness names them."""

    workload: str
    framework: str = "pytorch"
    submission_path: str | None = None
    tuning_search_space: str | None = None
    experiment_name: str = "sfadamw"
    dataset: str | None = None
    max_global_steps: int | None = None
    overwrite: bool = False
    save_checkpoints: bool = True
    resume_last_run: bool = False
    tuning_ruleset: str = "external"
    num_tuning_trials: int | None = None
    hparam_start_index: int | None = None
    hparam_end_index: int | None = None
    rng_seed: int | None = None
    gpus: int | None = None


@dataclass(frozen=True)
class Launch:
    """A command ready to run: argv, working directory and the environment it adds."""

    argv: list[str]
    cwd: Path | None = None
    env: dict[str, str] = field(default_factory=dict)

    def shell(self) -> str:
        """The command as one line of shell (what --dry-run prints)."""
        parts = [f"{k}={shlex.quote(v)}" for k, v in sorted(self.env.items())]
        line = " ".join(parts + [shlex.join(self.argv)])
        return f"cd {shlex.quote(str(self.cwd))} && {line}" if self.cwd else line


def default_submission(root: Path, ruleset: str, framework: str) -> Path:
    folder = root / "submissions" / f"{ruleset}_tuning" / "schedule_free_adamw" / framework
    return folder / "submission.py"


def visible_gpus() -> int:
    """NVIDIA GPUs this process may use: ``CUDA_VISIBLE_DEVICES`` if set, else those
    ``nvidia-smi -L`` lists; 0 without any."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return len([d for d in visible.split(",") if d.strip()])
    if shutil.which("nvidia-smi") is None:
        return 0
    try:
        out = subprocess.run(
            ["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for line in out.splitlines() if line.startswith("GPU "))


def _torchrun() -> str:
    found = shutil.which("torchrun")
    if found:
        return "torchrun"
    sibling = Path(sys.executable).parent / "torchrun"
    return str(sibling) if sibling.exists() else "torchrun"


def _torchrun_prefix(nproc: int) -> list[str]:
    return [_torchrun(), "--standalone", "--nnodes=1", f"--nproc_per_node={nproc}"]


def _flag(name: str, value: object) -> str:
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"--{name}={value}"


def _head_flags(opts: RunOptions, submission: str) -> list[str]:
    """The first submission_runner flags, in the harness entry's order."""
    return [
        _flag("framework", opts.framework),
        _flag("workload", opts.workload),
        _flag("submission_path", submission),
    ]


def _tail_flags(opts: RunOptions, experiment_dir: Path, search_space: str | None) -> list[str]:
    """Output, checkpointing, seed and ruleset flags (search space only for external)."""
    flags = [
        _flag("experiment_dir", experiment_dir),
        _flag("experiment_name", opts.experiment_name),
        _flag("overwrite", opts.overwrite),
        _flag("save_checkpoints", opts.save_checkpoints),
    ]
    if opts.resume_last_run:
        flags.append(_flag("resume_last_run", True))
    for name in ("rng_seed", "max_global_steps"):
        value = getattr(opts, name)
        if value is not None:
            flags.append(_flag(name, value))
    flags.append(_flag("tuning_ruleset", opts.tuning_ruleset))
    if opts.tuning_ruleset == "external":
        flags.append(_flag("tuning_search_space", search_space))
        for name in ("num_tuning_trials", "hparam_start_index", "hparam_end_index"):
            value = getattr(opts, name)
            if value is not None:
                flags.append(_flag(name, value))
    return flags


def _resolve_file(path: str | None, default: Path, bases: list[Path], what: str) -> Path:
    """An existing file: ``path`` absolute, or relative to the first base holding it."""
    if path is None:
        candidate = default
    elif Path(path).is_absolute():
        candidate = Path(path)
    else:
        candidate = next((b / path for b in bases if (b / path).is_file()), bases[0] / path)
    if not candidate.is_file():
        raise UserError(f"{what} {candidate} does not exist; pass an existing file")
    return candidate


def _embedded_frameworks(workload: str) -> dict[str, str]:
    """Frameworks of an embedded workload; a ``module:Class`` name (a workload class
    outside the registry, which ``sfadamw run`` accepts) is handed over as it is."""
    if ":" in workload:
        return dict.fromkeys(official.FRAMEWORKS, workload)
    from sfadamw.workloads import available

    found = available()
    if workload not in found:
        names = sorted(set(official.WORKLOADS) | set(found))
        raise WorkloadError(f"unknown workload {workload!r}; known: {', '.join(names)}")
    return found[workload]


def build_launch(opts: RunOptions, paths: Paths) -> Launch:
    """The command that runs ``opts`` (checks everything it can before anything runs)."""
    if opts.framework not in official.FRAMEWORKS:
        raise UserError(f"unknown framework {opts.framework!r}; use pytorch or jax")
    official.check_ruleset(opts.tuning_ruleset)
    if opts.tuning_ruleset == "self" and opts.tuning_search_space is not None:
        raise UserError(
            "self-tuning takes no search space; drop -t or use --tuning_ruleset external"
        )
    if opts.gpus is not None and opts.gpus < 1:
        raise UserError(f"--gpus must be at least 1, not {opts.gpus}")
    submission = _resolve_file(
        opts.submission_path,
        default_submission(paths.root, opts.tuning_ruleset, opts.framework),
        [paths.root, paths.algoperf_dir],
        "submission",
    )
    search_space = None
    if opts.tuning_ruleset == "external":
        search_space = _resolve_file(
            opts.tuning_search_space,
            paths.root / "tuning_search_space.json",
            [paths.root, paths.algoperf_dir],
            "tuning search space",
        )
    if official.is_official(opts.workload):
        return _harness_launch(opts, paths, submission, search_space)
    return _embedded_launch(opts, paths, submission, search_space)


def _harness_launch(
    opts: RunOptions, paths: Paths, submission: Path, search_space: Path | None
) -> Launch:
    workload = official.get(opts.workload)
    if opts.dataset is not None and opts.dataset != workload.dataset:
        raise UserError(
            f"workload {opts.workload!r} reads dataset {workload.dataset!r}, not {opts.dataset!r}"
        )
    data_dir = paths.data_dir / official.dataset_subdir(opts.workload, opts.framework)
    if not data_dir.is_dir():
        raise UserError(
            f"data directory {data_dir} for {opts.workload} does not exist; "
            f"prepare it with scripts/setup_datasets.sh --{workload.dataset}"
        )
    runner = paths.algoperf_dir / "submission_runner.py"
    if not runner.is_file():
        raise UserError(
            f"the AlgoPerf harness is not at {paths.algoperf_dir} (no submission_runner.py); "
            "set ALGOPERF_DIR to its checkout"
        )
    # The harness imports the submission as a module named after its path relative to
    # the import path, so pass it relative to the checkout that holds it.
    env = {}
    if submission.resolve().is_relative_to(paths.algoperf_dir.resolve()):
        relative = submission.resolve().relative_to(paths.algoperf_dir.resolve())
    elif submission.resolve().is_relative_to(paths.root.resolve()):
        relative = submission.resolve().relative_to(paths.root.resolve())
        pythonpath = os.environ.get("PYTHONPATH")
        env["PYTHONPATH"] = f"{paths.root}:{pythonpath}" if pythonpath else str(paths.root)
    else:
        raise UserError(
            f"submission {submission} must be inside {paths.root} or {paths.algoperf_dir} "
            "(the harness imports it by its relative path)"
        )
    if opts.framework == "pytorch":
        prefix = _torchrun_prefix(opts.gpus or max(1, visible_gpus()))
    else:
        prefix = [sys.executable]
        if opts.gpus is not None:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in range(opts.gpus))
    argv = prefix + ["submission_runner.py"]
    argv += _head_flags(opts, str(relative))
    argv.append(_flag("data_dir", data_dir))
    argv += _tail_flags(opts, paths.experiment_dir, str(search_space) if search_space else None)
    argv += official.dataset_flags(opts.workload, str(data_dir))
    if opts.framework == "pytorch":
        argv.append(_flag("torch_compile", True))
    return Launch(argv, cwd=paths.algoperf_dir, env=env)


def _embedded_launch(
    opts: RunOptions, paths: Paths, submission: Path, search_space: Path | None
) -> Launch:
    frameworks = _embedded_frameworks(opts.workload)
    if opts.framework not in frameworks:
        raise WorkloadError(
            f"workload {opts.workload!r} exists in {', '.join(frameworks)}, not {opts.framework!r}"
        )
    if opts.dataset is not None:
        raise UserError(f"embedded workload {opts.workload!r} brings its own data; drop -d")
    nproc = opts.gpus or 1
    env = {}
    if opts.framework == "pytorch" and nproc > 1:
        prefix = _torchrun_prefix(nproc) + ["-m", "sfadamw.cli"]
    else:
        prefix = [sys.executable, "-m", "sfadamw.cli"]
        if opts.framework == "jax" and opts.gpus is not None:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in range(opts.gpus))
    argv = prefix + ["run"] + _head_flags(opts, str(submission))
    argv += _tail_flags(opts, paths.experiment_dir, str(search_space) if search_space else None)
    return Launch(argv, env=env)


def execute(launch: Launch, log_file: Path) -> int:
    """Run ``launch``, copying its output to stdout and ``log_file``; its exit status."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **launch.env}
    with open(log_file, "a", encoding="utf-8") as log:
        log.write(launch.shell() + "\n")
        log.flush()
        proc = subprocess.Popen(
            launch.argv,
            cwd=launch.cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        # `docker stop` / Ctrl-C reach this process: pass them on to the run.
        previous = {
            sig: signal.signal(sig, lambda signum, _: proc.send_signal(signum))
            for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                sys.stdout.write(line)
                log.write(line)
            return proc.wait()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse prints usage too)
        sys.stderr.write(f"{PROG}: error: {message}\n")
        sys.exit(2)


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description=__doc__.split("\n\n")[0], allow_abbrev=False)
    p.add_argument("-f", "--framework", default="pytorch", choices=official.FRAMEWORKS)
    p.add_argument("-w", "--workload", default=None, help="official or embedded workload")
    p.add_argument("-s", "--submission_path", default=None)
    p.add_argument("-t", "--tuning_search_space", default=None)
    p.add_argument("-e", "--experiment_name", default="sfadamw")
    p.add_argument("-d", "--dataset", default=None)
    p.add_argument("-m", "--max_global_steps", type=int, default=None)
    p.add_argument("-o", "--overwrite", type=_bool, default=False, metavar="true|false")
    p.add_argument("-c", "--save_checkpoints", type=_bool, default=True, metavar="true|false")
    p.add_argument("--resume_last_run", type=_bool, default=False, metavar="true|false")
    p.add_argument("--tuning_ruleset", default="external", choices=official.RULESETS)
    p.add_argument("--num_tuning_trials", type=int, default=None)
    p.add_argument("--hparam_start_index", type=int, default=None)
    p.add_argument("--hparam_end_index", type=int, default=None)
    p.add_argument("--rng_seed", type=int, default=None)
    p.add_argument("--gpus", type=int, default=None, help="processes/devices (default: all)")
    p.add_argument("--dry-run", "--dry_run", dest="dry_run", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    from sfadamw.workloads import DEFAULT_WORKLOAD

    values = vars(args)
    dry_run = values.pop("dry_run")
    values["workload"] = values["workload"] or DEFAULT_WORKLOAD
    opts = RunOptions(**values)
    paths = Paths.from_env()
    try:
        launch = build_launch(opts, paths)
    except UserError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    if dry_run:
        print(launch.shell())
        return 0
    stamp = datetime.datetime.now().strftime("%m-%d-%Y-%H-%M-%S")
    log_file = paths.log_dir / f"{opts.workload}_{opts.framework}_{stamp}.log"
    return execute(launch, log_file)


if __name__ == "__main__":
    sys.exit(main())
