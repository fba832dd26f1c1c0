"""PyTorch DDP under torchrun (2 CPU processes, gloo): each rank trains on its half of
the global batch, only rank 0 writes logs, and the eval rows equal a single-process
run's (DDP averages the two half-batch gradients = the full-batch mean gradient)."""

import csv
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow
TIMING = {"score", "total_duration", "accumulated_submission_time", "accumulated_eval_time",
          "accumulated_logging_time"}


def run(tmp_path, name, launcher):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(["src", "."]), OMP_NUM_THREADS="1",
               SFADAMW_TEST_TARGET="2.0")
    argv = [*launcher, "-m", "sfadamw.cli", "run",
            "--workload=tests.runner_fixtures:TinyTorchWorkload",
            "--submission_path=tests/fixtures/sgd_submission.py", f"--experiment_dir={tmp_path}",
            f"--experiment_name={name}", "--rng_seed=0", "--max_global_steps=15",
            "--eval_every_steps=5"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    with open(tmp_path / name / "tiny_pytorch" / "trial_1" / "eval_measurements.csv") as f:
        return [{k: float(v) for k, v in r.items() if k not in TIMING} for r in csv.DictReader(f)]


def test_two_rank_ddp_matches_single_process(tmp_path):
    single = run(tmp_path, "single", [sys.executable])
    ddp = run(tmp_path, "ddp", [sys.executable, "-m", "torch.distributed.run", "--standalone",
                                "--nproc_per_node=2"])
    assert [r["global_step"] for r in ddp] == [1, 5, 10, 15]
    assert len(ddp) == len(single)
    for a, b in zip(ddp, single, strict=True):
        assert a == pytest.approx(b, rel=1e-5)
