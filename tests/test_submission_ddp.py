"""torchrun with 2 processes (gloo, CPU) matches one process at the same global batch."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUBMISSION = "submissions/self_tuning/schedule_free_adamw/pytorch/submission.py"


def _run(tmp: Path, name: str, nproc: int) -> list[dict[str, str]]:
    flags = [
        "run",
        "--workload=digits_vit",
        "--framework=pytorch",
        f"--submission_path={SUBMISSION}",
        f"--experiment_dir={tmp}",
        f"--experiment_name={name}",
        "--rng_seed=3",
        "--max_global_steps=4",
        "--eval_every_steps=2",
        "--save_checkpoints=false",
    ]
    if nproc == 1:
        cmd = [sys.executable, "-m", "sfadamw.cli", *flags]
    else:
        cmd = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={nproc}",
            "-m",
            "sfadamw.cli",
            *flags,
        ]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    path = tmp / name / "digits_vit_pytorch" / "trial_1" / "eval_measurements.csv"
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_two_process_ddp_matches_one_process(tmp_path):
    single = _run(tmp_path, "single", 1)
    ddp = _run(tmp_path, "ddp", 2)
    assert [r["global_step"] for r in ddp] == [r["global_step"] for r in single] == ["1", "2", "4"]
    for a, b in zip(single, ddp, strict=True):
        for key in ("train/loss", "validation/loss", "test/loss"):
            assert float(b[key]) == pytest.approx(float(a[key]), rel=1e-4), key
        for key in ("validation/accuracy", "test/accuracy"):
            assert abs(float(b[key]) - float(a[key])) <= 0.01, key
