"""kill -9 of a real run of our PyTorch submission, then --resume_last_run: identical rows.

digits_resnet has BatchNorm, so this also covers the batches the submission keeps
for the statistics at x (they travel in the checkpoint).
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TIMING = {
    "score",
    "total_duration",
    "accumulated_submission_time",
    "accumulated_eval_time",
    "accumulated_logging_time",
    "preemption_count",
}
FLAGS = [
    "--workload=digits_resnet",
    "--framework=pytorch",
    "--rng_seed=0",
    "--max_global_steps=8",
    "--eval_every_steps=3",
]
pytestmark = pytest.mark.slow


def _command(tmp: Path, name: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "sfadamw.cli",
        "run",
        *FLAGS,
        f"--experiment_dir={tmp}",
        f"--experiment_name={name}",
        *extra,
    ]


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT / "src"), OMP_NUM_THREADS="1")


def _rows(tmp: Path, name: str) -> list[dict]:
    path = tmp / name / "digits_resnet_pytorch" / "trial_1" / "eval_measurements.csv"
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return [{k: v for k, v in r.items() if k not in TIMING} for r in csv.DictReader(f)]


def test_killed_and_resumed_run_has_the_rows_of_an_uninterrupted_one(tmp_path):
    done = subprocess.run(
        _command(tmp_path, "straight"),
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    straight = _rows(tmp_path, "straight")
    assert [r["global_step"] for r in straight] == ["1", "3", "6", "8"]

    proc = subprocess.Popen(
        _command(tmp_path, "killed"),
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 600
    while len(_rows(tmp_path, "killed")) < 2 and proc.poll() is None:  # after the step-3 eval
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    resumed = subprocess.run(
        _command(tmp_path, "killed", "--resume_last_run"),
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert _rows(tmp_path, "killed") == straight
