"""``sfadamw run`` end to end: layout and columns, trials, errors, resume, hand-over."""

import csv
import json
import os
import subprocess
import sys

import pytest

from sfadamw import cli
from sfadamw.runner import search_space

TORCH = "tests.runner_fixtures:TinyTorchWorkload"
JAX = "tests.runner_fixtures:TinyJaxWorkload"
SGD = "tests/fixtures/sgd_submission.py"
EVAL_COLUMNS_TAIL = ["score", "total_duration", "accumulated_submission_time",
                     "accumulated_eval_time", "accumulated_logging_time", "global_step",
                     "preemption_count"]


def run(tmp_path, *flags, workload=TORCH, name="exp"):
    framework = "jax" if workload == JAX else "pytorch"
    argv = ["run", f"--workload={workload}", f"--framework={framework}", f"--submission_path={SGD}",
            f"--experiment_dir={tmp_path}", f"--experiment_name={name}", "--rng_seed=0", *flags]
    return cli.main(argv)


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def metric_rows(path):
    """Eval rows without the wall-clock columns (those differ run to run)."""
    timing = set(EVAL_COLUMNS_TAIL) - {"global_step"}
    return [{k: v for k, v in r.items() if k not in timing} for r in rows(path)]


def test_layout_columns_and_summary(tmp_path, capsys):
    assert run(tmp_path, "--max_global_steps=12", "--eval_every_steps=5") == 0
    trial = tmp_path / "exp" / "tiny_pytorch" / "trial_1"
    assert sorted(os.listdir(trial)) == ["checkpoint.pt", "eval_measurements.csv",
                                         "flags_0.json", "measurements.csv", "meta_data_0.json"]
    with open(trial / "eval_measurements.csv") as f:
        header = next(csv.reader(f))
    splits = ["train", "validation", "test"]
    assert header == [f"{s}/{m}" for s in splits for m in ("accuracy", "loss")] + EVAL_COLUMNS_TAIL
    steps = [int(r["global_step"]) for r in rows(trial / "eval_measurements.csv")]
    assert steps[0] == 1 and steps == sorted(steps)
    train = rows(trial / "measurements.csv")
    assert train[-1]["score"] != "" and train[0]["loss"] != ""
    flags = json.loads((trial / "flags_0.json").read_text())
    assert flags["eval_every_steps"] == 5 and flags["workload"] == TORCH
    assert json.loads((trial / "meta_data_0.json").read_text())["rng_seed"] == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("tiny pytorch trial_1: reached validation accuracy")
    assert str(tmp_path / "exp" / "tiny_pytorch") in out[0]


def test_external_trials_write_hparams_from_the_search_space(tmp_path):
    space = {"learning_rate": {"min": 0.05, "max": 0.5, "scaling": "log"}}
    path = tmp_path / "space.json"
    path.write_text(json.dumps(space))
    assert run(tmp_path, "--tuning_ruleset=external", f"--tuning_search_space={path}",
               "--num_tuning_trials=3", "--hparam_start_index=1", "--max_global_steps=3") == 0
    base = tmp_path / "exp" / "tiny_pytorch"
    assert sorted(os.listdir(base)) == ["trial_2", "trial_3"]
    expected = search_space.points(space, 3)
    for k in (2, 3):
        assert json.loads((base / f"trial_{k}" / "hparams.json").read_text()) == expected[k - 1]
        meta = json.loads((base / f"trial_{k}" / "meta_data_0.json").read_text())
        assert meta["rng_seed"] == k - 1  # trial k uses rng_seed + k - 1


@pytest.mark.parametrize("flags, message", [
    (["--workload=no_such"], "unknown workload 'no_such'; embedded workloads:"),
    (["--submission_path=nowhere/submission.py"], "submission path 'nowhere/submission.py' does"),
    (["--workload=wmt"], "the AlgoPerf harness is not installed"),
    (["--tuning_ruleset=external"], "needs --tuning_search_space"),
    (["--tuning_ruleset=external", "--tuning_search_space=tests/none.json"], "does not exist"),
    (["--overwrite", "--resume_last_run"], "exclude each other"),
    (["--num_tuning_trials=x"], "num_tuning_trials"),
    (["--max_global_steps=0"], "must be >= 1"),
    (["--framework=tf"], "framework"),
    (["--data_dir=/no/such/dir"], "--data_dir"),
    (["stray"], "unexpected arguments"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, flags, message):
    argv = ["run", f"--workload={TORCH}", f"--submission_path={SGD}",
            f"--experiment_dir={tmp_path / 'out'}", *flags]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "out").exists()


def test_bad_search_space_values_exit_2(tmp_path, capsys):
    space = tmp_path / "s.json"
    space.write_text(json.dumps([{"learning_rate": -0.1}]))
    assert run(tmp_path / "out", "--tuning_ruleset=external",
               f"--tuning_search_space={space}") == 2
    assert "learning_rate=-0.1 is outside" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_existing_experiment_needs_overwrite_or_resume(tmp_path, capsys):
    assert run(tmp_path, "--max_global_steps=2") == 0
    trial = tmp_path / "exp" / "tiny_pytorch" / "trial_1"
    before = {p: (trial / p).read_bytes() for p in os.listdir(trial)}
    capsys.readouterr()
    assert run(tmp_path, "--max_global_steps=2") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "exists; pass --overwrite" in err
    assert {p: (trial / p).read_bytes() for p in os.listdir(trial)} == before
    assert run(tmp_path, "--max_global_steps=3", "--overwrite") == 0
    assert rows(trial / "eval_measurements.csv")[-1]["global_step"] == "3"


def test_unwritable_experiment_dir(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert cli.main(["run", f"--workload={TORCH}", f"--submission_path={SGD}",
                     f"--experiment_dir={blocker / 'sub'}"]) == 2
    assert "cannot write the experiment directory" in capsys.readouterr().err


@pytest.mark.parametrize("workload, interrupt_at, evals_before", [(TORCH, 17, 4), (JAX, 8, 2)])
def test_resume_after_interruption_gives_identical_eval_rows(tmp_path, monkeypatch, workload,
                                                             interrupt_at, evals_before):
    flags = ["--max_global_steps=25", "--eval_every_steps=5"]
    wl = workload.split(":")[1]
    # targets out of reach so every run goes to max_global_steps
    monkeypatch.setattr(f"tests.runner_fixtures.{wl}.validation_target_value", 2.0)
    assert run(tmp_path, *flags, workload=workload, name="straight") == 0
    monkeypatch.setenv("SFADAMW_TEST_INTERRUPT_AT", str(interrupt_at))
    with pytest.raises(Exception, match=str(interrupt_at)) as raised:
        run(tmp_path, *flags, workload=workload, name="cut")
    assert type(raised.value).__name__ == "Interrupted"
    monkeypatch.delenv("SFADAMW_TEST_INTERRUPT_AT")
    assert run(tmp_path, *flags, "--resume_last_run", workload=workload, name="cut") == 0
    fw = "pytorch" if workload == TORCH else "jax"
    straight = tmp_path / "straight" / f"tiny_{fw}" / "trial_1"
    cut = tmp_path / "cut" / f"tiny_{fw}" / "trial_1"
    assert metric_rows(cut / "eval_measurements.csv") == metric_rows(
        straight / "eval_measurements.csv")
    preemptions = [r["preemption_count"] for r in rows(cut / "eval_measurements.csv")]
    # evals at 1, 5, 10, 15, 20, 25: those before the interruption come from the first run
    assert preemptions == ["0"] * evals_before + ["1"] * (6 - evals_before)
    assert (cut / "meta_data_1.json").exists() and (cut / "flags_1.json").exists()


def test_official_workload_is_handed_to_the_harness(tmp_path):
    fake = tmp_path / "harness"
    (fake / "algoperf").mkdir(parents=True)
    (fake / "algoperf" / "__init__.py").write_text("")
    (fake / "submission_runner.py").write_text(
        "import json, sys\n"
        f"json.dump(sys.argv[1:], open({str(tmp_path / 'argv.json')!r}, 'w'))\n"
        "sys.exit(3)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(["src", ".", str(fake)]))
    argv = [sys.executable, "-m", "sfadamw.cli", "run", "--workload=ogbg", "--framework=jax",
            "--submission_path=sub/submission.py", "--eval_every_steps=3",
            "--tuning_ruleset=external", "--tuning_search_space=s.json", "--overwrite"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 3  # the harness's exit code
    passed = json.loads((tmp_path / "argv.json").read_text())
    for flag in ("--workload=ogbg", "--framework=jax", "--submission_path=sub/submission.py",
                 "--tuning_ruleset=external", "--tuning_search_space=s.json",
                 "--overwrite=true"):
        assert flag in passed
    assert not any("eval_every_steps" in a for a in passed)


def test_resuming_a_finished_trial_trains_nothing_more(tmp_path, capsys):
    flags = ["--max_global_steps=6", "--eval_every_steps=3"]
    assert run(tmp_path, *flags) == 0
    trial = tmp_path / "exp" / "tiny_pytorch" / "trial_1"
    before = (trial / "eval_measurements.csv").read_text()
    first = capsys.readouterr().out
    assert run(tmp_path, *flags, "--resume_last_run") == 0
    assert (trial / "eval_measurements.csv").read_text() == before
    assert capsys.readouterr().out == first  # the same summary line


def test_checkpoint_with_arbitrary_pickles_is_refused(tmp_path, capsys):
    import torch

    assert run(tmp_path, "--max_global_steps=2") == 0
    trial = tmp_path / "exp" / "tiny_pytorch" / "trial_1"
    torch.save({"params": search_space.KNOWN_RANGES, "evil": capsys.__class__},
               trial / "checkpoint.pt")
    capsys.readouterr()
    assert run(tmp_path, "--max_global_steps=2", "--resume_last_run") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot resume from" in err


def test_resume_without_rng_seed_reuses_the_recorded_one(tmp_path):
    from sfadamw.runner import cli as run_cli

    space = tmp_path / "space.json"
    space.write_text(json.dumps([{"learning_rate": 0.1}, {"learning_rate": 0.2}]))
    argv = ["run", f"--workload={TORCH}", f"--submission_path={SGD}",
            f"--experiment_dir={tmp_path}", "--experiment_name=e", "--tuning_ruleset=external",
            f"--tuning_search_space={space}", "--num_tuning_trials=2", "--hparam_start_index=1",
            "--max_global_steps=2"]
    assert cli.main([*argv, "--rng_seed=7"]) == 0
    trial = tmp_path / "e" / "tiny_pytorch" / "trial_2"
    assert json.loads((trial / "meta_data_0.json").read_text())["rng_seed"] == 8
    assert run_cli.previous_seed(str(trial), 2) == 7
    assert cli.main([*argv, "--resume_last_run"]) == 0
    assert json.loads((trial / "meta_data_1.json").read_text())["rng_seed"] == 8
