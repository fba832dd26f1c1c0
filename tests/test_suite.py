"""``sfadamw suite``: plan sizes per ruleset and version, the SLURM dry run, and the
skip/resume logic with real processes through submitit's local executor (a small
fake runner written here stands in for ``sfadamw run``/the harness and writes the
harness's layout)."""

from __future__ import annotations

import json
import math
import sys
import textwrap
from pathlib import Path

import pytest

from sfadamw import official_workloads as official
from sfadamw import suite
from sfadamw.suite import executors
from sfadamw.suite.launch import Launch, Paths
from sfadamw.suite.plan import MARKER, SuiteConfig, plan
from sfadamw.suite.score_step import score as score_step
from tests.harness_layout import make_layout

# max_allowed_runtime_sec of the 8 base workloads (algoperf-harness.md, 2025 main).
BUDGETS = {
    "criteo1tb": 7703,
    "fastmri": 4430,
    "imagenet_resnet": 66159,
    "imagenet_vit": 69768,
    "librispeech_conformer": 58015,
    "librispeech_deepspeech": 44405,
    "ogbg": 12011,
    "wmt": 43336,
}


@pytest.fixture
def layout(tmp_path, monkeypatch):
    env = make_layout(tmp_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    # submitit's job processes unpickle TrialJob: they import this checkout's package.
    monkeypatch.setenv("PYTHONPATH", str(Path(suite.__file__).resolve().parents[2]))
    return env


@pytest.mark.parametrize(
    "ruleset, version, workloads, studies, trials",
    [
        ("external", "current", 8, 3, 5),
        ("self", "current", 8, 3, 1),
        ("external", "v0.5", 14, 5, 5),  # 8 base + 6 held-out variants
        ("self", "v0.5", 14, 5, 1),
    ],
)
def test_plan_sizes_and_layout(layout, ruleset, version, workloads, studies, trials):
    config = SuiteConfig(
        ruleset=ruleset, version=version, workloads=official.get_version(version).workloads
    )
    planned = plan(config, Paths.from_env())
    assert len(planned) == workloads * studies * trials
    assert len({t.trial_dir for t in planned}) == len(planned)
    seeds = {}  # per workload: the seed the embedded runner gives each trial
    for t in planned:
        seed = next(int(a.split("=")[1]) for a in t.launch.argv if a.startswith("--rng_seed="))
        seeds.setdefault(t.workload, []).append(seed + t.trial - 1)
    assert all(len(set(v)) == len(v) == studies * trials for v in seeds.values())
    root = Path(layout["SFADAMW_EXPERIMENT_DIR"]) / "schedule_free_adamw"
    for t in planned:
        # <dir>/<submission>/<study>/<workload>_<framework>/trial_<k>: what the scorer reads
        expected = root / f"study_{t.study}" / f"{t.workload}_pytorch" / f"trial_{t.trial}"
        assert t.trial_dir == expected
        flags = dict(a[2:].split("=", 1) for a in t.launch.argv if a.startswith("--") and "=" in a)
        assert flags["experiment_dir"] == str(root)
        assert flags["experiment_name"] == f"study_{t.study}"
        assert flags["resume_last_run"] == "true"
        # study s: 1 + s * trials; the embedded runner adds k - 1 for trial k: no repeats
        assert flags["rng_seed"] == str(1 + t.study * trials)
        assert flags["tuning_ruleset"] == ruleset
        if ruleset == "external":  # the harness runs search-space point k-1 in trial_<k>
            assert flags["num_tuning_trials"] == "5"
            assert flags["hparam_start_index"] == str(t.trial - 1)
            assert flags["hparam_end_index"] == str(t.trial)
        else:
            assert "tuning_search_space" not in flags and "hparam_start_index" not in flags
        base = next(b for b in BUDGETS if t.workload == b or t.workload.startswith(b + "_"))
        factor = 1.0 if ruleset == "external" else (3.0 if version == "v0.5" else 1.5)
        assert t.budget_sec == BUDGETS[base] * factor


def test_gpu_hours_arithmetic():
    total = 7703 + 4430 + 66159 + 69768 + 58015 + 44405 + 12011 + 43336
    assert total == 305827
    assert official.gpu_hours("current", "external", 8) == pytest.approx(total * 3 * 5 * 8 / 3600)
    assert official.gpu_hours("current", "self", 8) == pytest.approx(total * 1.5 * 3 * 8 / 3600)
    assert official.gpu_hours("current", "external", 4) == pytest.approx(total * 15 * 4 / 3600)
    held_out = 7703 + 4430 + 66159 + 58015 + 12011 + 43336  # their bases' budgets
    assert official.gpu_hours("v0.5", "external", 8) == pytest.approx(
        (total + held_out) * 5 * 5 * 8 / 3600
    )
    assert official.gpu_hours("v0.5", "self", 8) == pytest.approx(
        (total + held_out) * 3 * 5 * 8 / 3600
    )


def test_slurm_dry_run_prints_the_sbatch_parameters(layout, capsys):
    rc = suite.main(
        [
            "--executor", "slurm", "--dry-run", "--workloads", "ogbg,wmt", "--studies", "2",
            "--slurm_partition", "gpu", "--slurm_account", "proj", "--slurm_cpus_per_task", "32",
            "--slurm_mem_gb", "256", "--slurm_python", "/opt/venv/bin/python",
            "--slurm_srun_args", "--container-image=sfadamw:pytorch --container-mounts=/d:/data",
        ]
    )  # fmt: skip
    assert rc == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("suite: ruleset=external version=current framework=pytorch")
    assert "-> 20 trials (done 0, partial 0, new 20)" in out[0]  # 2 workloads x 2 studies x 5
    # 20 trials x (12011 + 43336) / 2 s of budget, 8 GPUs per job
    seconds = 2 * 5 * (12011 + 43336)
    assert out[1] == (
        f"budget: {seconds} s of training at most = {seconds / 3600:.1f} h x 8 GPUs "
        f"= {seconds * 8 / 3600:.1f} GPU-hours"
    )
    lines = [line.strip() for line in out if line.strip().startswith("sbatch ")]
    assert len(lines) == 20
    sbatch = [line.split("  # then: ")[0] for line in lines]
    for line, full in zip(sbatch, lines, strict=True):
        srun = full.split("  # then: ")[1]
        assert srun.startswith("srun --unbuffered")
        assert "--container-image=sfadamw:pytorch --container-mounts=/d:/data" in srun
        assert srun.endswith(
            "/opt/venv/bin/python -u -m submitit.core._submit "
            + str(Path(layout["SFADAMW_LOG_DIR"]) / "submitit")
        )
        flags = dict(f.split("=", 1) for f in line.split()[1:])
        workload = "ogbg" if "ogbg" in flags["--job-name"] else "wmt"
        assert flags["--time"] == str(math.ceil(2 * BUDGETS[workload] / 60) + 60)
        assert flags["--partition"] == "gpu" and flags["--account"] == "proj"
        assert flags["--nodes"] == "1" and flags["--ntasks-per-node"] == "1"
        assert flags["--gpus-per-node"] == "8" and flags["--cpus-per-task"] == "32"
        assert flags["--mem"] == "256GB"
        assert flags["--signal"] == "USR2@120"  # submitit's preemption/timeout signal
        assert flags["--open-mode"] == "append"
    names = {dict(f.split("=", 1) for f in s.split()[1:])["--job-name"] for s in sbatch}
    assert len(names) == 20 and "sfadamw_wmt_s1_t5" in names


def test_suite_user_errors(layout):
    with pytest.raises(Exception, match="unknown workload 'nope'"):
        suite.main(["--workloads", "nope", "--dry-run"])
    with pytest.raises(Exception, match="--studies must be at least 1"):
        suite.main(["--studies", "0", "--dry-run"])


FAKE_RUNNER = textwrap.dedent(
    """
    # Stands in for `sfadamw run`: takes its flags, writes the harness layout.
    import json, os, sys, time
    from pathlib import Path

    flags = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
    k = int(flags.get("hparam_start_index", 0)) + 1
    name = f"{flags['experiment_name']}/trial_{k}"
    folder = os.environ["FAKE_FOLDER"]  # the workload's folder name
    trial_dir = (Path(flags["experiment_dir"]) / flags["experiment_name"]
                 / f"{folder}_{flags['framework']}" / f"trial_{k}")
    with open(os.environ["FAKE_CALLS"], "a") as f:
        f.write(json.dumps({"trial": name, "flags": flags}) + "\\n")
    trial_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = trial_dir / "checkpoint_5"
    resumed = checkpoint.exists() and flags.get("resume_last_run") == "true"
    if name == os.environ.get("FAKE_INTERRUPT") and not resumed:
        checkpoint.write_text("step 5")
        if os.environ.get("FAKE_HANG"):
            time.sleep(300)  # until preempted
        sys.exit(3)  # killed mid-run
    start = 6 if resumed else 1
    # validation accuracy 0.1 x step: the 0.9 target is reached at step 9, 0.9 s
    rows = [f"{s},{0.1 * s:.1f},{0.1 * s:.1f},{int(resumed)}" for s in range(start, 11)]
    (trial_dir / "eval_measurements.csv").write_text(
        "global_step,score,validation/accuracy,resumed\\n" + "\\n".join(rows) + "\\n")
    """
)


TINY = "tests.runner_fixtures:TinyTorchWorkload"  # folder "tiny", target accuracy 0.9


def _fake_plan(tmp_path: Path, layout, monkeypatch) -> list:
    """The suite's plan for a workload class, with the runner swapped for the fake."""
    monkeypatch.setenv("FAKE_FOLDER", "tiny")
    runner = tmp_path / "fake_runner.py"
    runner.write_text(FAKE_RUNNER)
    config = SuiteConfig(workloads=(TINY,), studies=2, trials=2)
    trials = []
    for t in plan(config, Paths.from_env()):
        argv = t.launch.argv
        assert argv[:4] == [sys.executable, "-m", "sfadamw.cli", "run"]
        fake = Launch([sys.executable, str(runner), *argv[4:]], t.launch.cwd, t.launch.env)
        trials.append(type(t)(**{**t.__dict__, "launch": fake}))
    return trials


def _calls(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_rerun_skips_finished_trials_and_resumes_the_interrupted_one(tmp_path, layout, monkeypatch):
    calls = tmp_path / "calls.jsonl"
    monkeypatch.setenv("FAKE_CALLS", str(calls))
    monkeypatch.setenv("FAKE_INTERRUPT", "study_1/trial_2")
    trials = _fake_plan(tmp_path, layout, monkeypatch)
    folder = tmp_path / "submitit"
    assert [t.state() for t in trials] == ["new"] * 4

    first = suite.execute_suite(trials, "local", folder)
    assert [c["trial"] for c in _calls(calls)] == [
        "study_0/trial_1", "study_0/trial_2", "study_1/trial_1", "study_1/trial_2",
    ]  # fmt: skip
    interrupted = trials[3]
    assert first[interrupted.name].endswith(f"{interrupted.trial_dir}: runner exited with status 3")
    assert [t.state() for t in trials] == ["done", "done", "done", "partial"]
    assert not (interrupted.trial_dir / MARKER).exists()

    second = suite.execute_suite(trials, "local", folder)
    new_calls = _calls(calls)[4:]
    assert [c["trial"] for c in new_calls] == ["study_1/trial_2"]  # finished ones skipped
    assert new_calls[0]["flags"]["resume_last_run"] == "true"
    assert all(v.startswith("done") for v in second.values())
    assert second[trials[0].name] == "done (skipped)" and second[interrupted.name] == "done"
    rows = (interrupted.trial_dir / "eval_measurements.csv").read_text().splitlines()
    assert rows[1].startswith("6,") and rows[1].endswith(",1")  # continued from its checkpoint
    marker = json.loads((interrupted.trial_dir / MARKER).read_text())
    assert marker["returncode"] == 0 and "--resume_last_run=true" in marker["command"]

    third = suite.execute_suite(trials, "local", folder)
    assert len(_calls(calls)) == 5  # nothing ran
    assert set(third.values()) == {"done (skipped)"}

    # Then the scorer reads the layout: every trial reaches 0.9 at 0.9 s.
    experiment_dir = Path(layout["SFADAMW_EXPERIMENT_DIR"])
    out = tmp_path / "scores"
    rc = score_step("external", "current", (TINY,), "pytorch", experiment_dir, out, [])
    assert rc == 0
    targets = json.loads((out / "workload_targets.json").read_text())
    assert targets["workloads"] == {
        "tiny": {
            "target_metric_name": "accuracy",
            "validation_target_value": 0.9,
            "lower_is_better": False,
        }
    }
    times = (out / "time_to_targets.csv").read_text().split()
    assert times == ["submission,tiny", "schedule_free_adamw,0.9"]


def test_timeout_requeues_the_job_with_resume(tmp_path, layout, monkeypatch):
    """submitit's own timeout path: USR2 before the limit, TrialJob.checkpoint, requeue."""
    calls = tmp_path / "calls.jsonl"
    monkeypatch.setenv("FAKE_CALLS", str(calls))
    monkeypatch.setenv("FAKE_INTERRUPT", "study_0/trial_1")
    monkeypatch.setenv("FAKE_HANG", "1")
    trial = _fake_plan(tmp_path, layout, monkeypatch)[0]
    argv = [a for a in trial.launch.argv if a != "--resume_last_run=true"]
    job_fn = executors.TrialJob(Launch(argv), trial.trial_dir)
    executor = executors.make_executor("local", tmp_path / "submitit")
    # Limit 30 s, signal 20 s before it: the first attempt is signalled after ~10 s.
    executor.update_parameters(timeout_min=0.5, signal_delay_s=20)
    job = executor.submit(job_fn)
    assert job.result() == str(trial.trial_dir)
    attempts = _calls(calls)
    assert len(attempts) == 2
    assert "resume_last_run" not in attempts[0]["flags"]
    assert attempts[1]["flags"]["resume_last_run"] == "true"  # added by checkpoint()
    marker = json.loads((trial.trial_dir / MARKER).read_text())
    assert marker["attempts"] == 2
    rows = (trial.trial_dir / "eval_measurements.csv").read_text().splitlines()
    assert rows[1].startswith("6,")


def test_trial_job_refuses_a_run_without_eval_measurements(tmp_path):
    job = executors.TrialJob(Launch([sys.executable, "-c", "pass"]), tmp_path / "trial_1")
    with pytest.raises(executors.TrialFailedError, match="wrote no eval_measurements.csv"):
        job()
    assert not (tmp_path / "trial_1" / MARKER).exists()
