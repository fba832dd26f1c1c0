"""Crash and resume with real processes: ``kill -9`` (SIGKILL) mid-run, then
``--resume_last_run``. Each run is a fresh ``python -m sfadamw.cli run`` process on
the tiny fixture workload; the fixture submission kills itself at a chosen step."""

import csv
import os
import subprocess
import sys

import pytest

TORCH = "tests.runner_fixtures:TinyTorchWorkload"
SGD = "tests/fixtures/sgd_submission.py"
TIMING = {"score", "total_duration", "accumulated_submission_time", "accumulated_eval_time",
          "accumulated_logging_time", "preemption_count"}
pytestmark = pytest.mark.slow


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def metric_rows(path):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows(path)]


def sfadamw_run(tmp_path, name, *flags, kill_at=None):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(["src", "."]), OMP_NUM_THREADS="1",
               SFADAMW_TEST_TARGET="2.0")  # out of reach: every run goes to max_global_steps
    if kill_at is not None:
        env["SFADAMW_TEST_KILL_AT_STEP"] = str(kill_at)
    argv = [sys.executable, "-m", "sfadamw.cli", "run", f"--workload={TORCH}",
            f"--submission_path={SGD}", f"--experiment_dir={tmp_path}",
            f"--experiment_name={name}", "--rng_seed=0", *flags]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)


def eval_file(tmp_path, name):
    return tmp_path / name / "tiny_pytorch" / "trial_1" / "eval_measurements.csv"


def test_kill_9_then_resume_with_step_schedule_gives_identical_rows(tmp_path):
    """Killed before the first checkpoint (step 0), between evals (12) and at an eval
    step before its eval (20)."""
    flags = ["--max_global_steps=22", "--eval_every_steps=5"]
    assert sfadamw_run(tmp_path, "straight", *flags).returncode == 0
    straight = metric_rows(eval_file(tmp_path, "straight"))
    assert [r["global_step"] for r in straight] == ["1", "5", "10", "15", "20", "22"]
    for kill_at in (0, 12, 20):
        name = f"kill{kill_at}"
        assert sfadamw_run(tmp_path, name, *flags, kill_at=kill_at).returncode == -9
        resumed = sfadamw_run(tmp_path, name, *flags, "--resume_last_run")
        assert resumed.returncode == 0, resumed.stderr
        assert metric_rows(eval_file(tmp_path, name)) == straight, kill_at
        counts = [r["preemption_count"] for r in rows(eval_file(tmp_path, name))]
        assert counts == sorted(counts) and counts[-1] == "1"


def test_kill_9_with_time_schedule_loses_and_duplicates_no_row(tmp_path):
    flags = ["--max_global_steps=30"]  # the fixture's eval period is 0 s: an eval every step
    assert sfadamw_run(tmp_path, "t", *flags, kill_at=17).returncode == -9
    assert sfadamw_run(tmp_path, "t", *flags, "--resume_last_run").returncode == 0
    got = rows(eval_file(tmp_path, "t"))
    assert [int(r["global_step"]) for r in got] == list(range(1, 31))
    assert [r["preemption_count"] for r in got] == ["0"] * 17 + ["1"] * 13
    scores = [float(r["score"]) for r in got]
    assert scores == sorted(scores)
