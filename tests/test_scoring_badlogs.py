"""Bad logs: each problem is a warning naming the file (or, strict, one LogError line).

Hypothesis picks one corruption of a valid experiment folder (3 studies x 1 trial
of workload ``tiny``) and where to apply it; the scorer must never raise anything
but :class:`LogError`, must name the damaged path, and the CLI must exit 0 with
warnings, or 2 with a single line under ``--strict``.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfadamw import cli
from sfadamw.errors import LogError
from sfadamw.scoring import Issues, Targets, read_experiment_dir, score_logs
from sfadamw.scoring.logs import check_counts
from tests.scoring_logs import write_trial

TARGETS = Targets.from_mapping({"tiny": ("accuracy", 0.5)}, num_studies=3)


def make_tree(root: Path) -> list[Path]:
    """A valid self-tuning ruleset folder; returns its eval files."""
    return [
        write_trial(
            root,
            "sub",
            f"study_{k}",
            "tiny_jax",
            "trial_1",
            [10.0, 20.0 + k, 30.0],
            [0.1, 0.6, 0.7],
        )
        for k in range(3)
    ]


def corrupt(root: Path, files: list[Path], kind: str, which: int, data) -> Path | None:
    """Apply one corruption to the tree; returns the path a warning must name (None: none)."""
    path = files[which]
    text = path.read_bytes()
    lines = text.decode().splitlines()
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncate":
        cut = data.draw(st.integers(0, len(text) - 1), label="cut")
        path.write_bytes(text[:cut])
        if text[:cut].endswith(b"\n") and cut > len(lines[0]) + 1:
            return None  # a shorter but valid file: nothing to detect
    elif kind == "drop_column":
        column = data.draw(st.sampled_from([1, 3]), label="column")  # score, validation/accuracy
        path.write_text(
            "\n".join(
                ",".join(c for i, c in enumerate(line.split(",")) if i != column) for line in lines
            )
            + "\n"
        )
    elif kind == "bad_cell":
        row = data.draw(st.integers(1, len(lines) - 1), label="row")
        cell = data.draw(st.sampled_from(["", "nan", "abc", "1.0.0", "NaN"]), label="cell")
        column = data.draw(st.sampled_from([1, 3]), label="column")
        fields = lines[row].split(",")
        fields[column] = cell
        lines[row] = ",".join(fields)
        path.write_text("\n".join(lines) + "\n")
    elif kind == "short_row":
        lines[-1] = ",".join(lines[-1].split(",")[:2])
        path.write_text("\n".join(lines) + "\n")
    elif kind == "binary":
        path.write_bytes(data.draw(st.binary(min_size=1, max_size=200), label="bytes"))
    elif kind == "missing_file":
        path.unlink()
        return path.parent
    elif kind == "stray_file":
        level = data.draw(st.integers(0, 3), label="level")
        stray = path.parents[4 - level] / "notes.txt"  # ruleset, submission, study, workload
        stray.write_text("not a log\n")
        return stray
    elif kind in ("no_suffix", "unknown_workload"):
        new = path.parents[1].with_name("tiny" if kind == "no_suffix" else "huge_jax")
        path.parents[1].rename(new)
        return new
    elif kind == "odd_trial":
        new = path.parent.with_name(data.draw(st.sampled_from(["trial_x", "old", "trial_"])))
        path.parent.rename(new)
        return new
    elif kind == "missing_study":
        shutil.rmtree(path.parents[2])
        return root / "sub" / "tiny"
    return path


KINDS = [
    "empty",
    "truncate",
    "drop_column",
    "bad_cell",
    "short_row",
    "binary",
    "missing_file",
    "stray_file",
    "no_suffix",
    "unknown_workload",
    "odd_trial",
    "missing_study",
]


@contextlib.contextmanager
def bad_tree(data):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "self_tuning"
        files = make_tree(root)
        kind = data.draw(st.sampled_from(KINDS), label="kind")
        named = corrupt(root, files, kind, data.draw(st.integers(0, 2), label="which"), data)
        yield root, named


def test_valid_tree_has_no_warnings(tmp_path):
    make_tree(tmp_path)
    issues = Issues(strict=True)
    logs = read_experiment_dir(tmp_path, TARGETS, issues)
    check_counts(logs, TARGETS, True, issues)
    assert score_logs(logs, TARGETS).time_to_targets.loc["sub", "tiny"] == 21.0


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_bad_logs_warn_naming_the_file(data):
    with bad_tree(data) as (root, named):
        issues = Issues()
        logs = read_experiment_dir(root, TARGETS, issues)
        check_counts(logs, TARGETS, True, issues)
        times = score_logs(logs, TARGETS).time_to_targets.loc["sub", "tiny"]
        # study times 20, 21, 22 or inf (not reached): the median of what is left
        assert times in (20.5, 21.0, 21.5, 22.0) or np.isinf(times)
        if named is not None:
            assert any(m.startswith(str(named)) for m in issues.messages), issues.messages
        else:
            assert issues.messages == []


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_bad_logs_strict_is_one_log_error(data):
    with bad_tree(data) as (root, named):
        issues = Issues(strict=True)
        try:
            check_counts(read_experiment_dir(root, TARGETS, issues), TARGETS, True, issues)
        except LogError as e:
            assert named is not None and str(e).startswith(str(named)) and "\n" not in str(e)
        else:
            assert named is None


def run_cli(argv: list[str]) -> tuple[int, str]:
    """Exit code and stderr of ``sfadamw`` (stdout discarded)."""
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, err.getvalue()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_cli_bad_logs_exit_codes(data):
    with bad_tree(data) as (root, named):
        targets = root.parent / "targets.json"
        targets.write_text(
            json.dumps(
                {
                    "workloads": {
                        "tiny": {"target_metric_name": "accuracy", "validation_target_value": 0.5}
                    }
                }
            )
        )
        argv = [
            "score",
            "--submission_directory",
            str(root),
            "--workload_targets",
            str(targets),
            "--self_tuning_ruleset",
        ]
        code, err = run_cli(argv)
        assert code == 0 and (named is None) == (err == "")
        assert all(line.startswith("sfadamw score: warning: ") for line in err.splitlines())
        code, err = run_cli([*argv, "--strict"])
        assert code == (0 if named is None else 2)
        assert len(err.splitlines()) == (0 if named is None else 1)
        assert named is None or err.startswith(f"sfadamw score: error: {named}")


@pytest.mark.parametrize("make", ["nothing", "only_bad"])
def test_no_readable_trials_is_an_error(tmp_path, make):
    if make == "only_bad":
        make_tree(tmp_path)
        for path in tmp_path.glob("*/*/*/*/eval_measurements.csv"):
            path.write_text("")
    with pytest.raises(LogError, match="no readable trials"):
        read_experiment_dir(tmp_path, TARGETS)


def test_missing_folder_and_timestamped_resume(tmp_path):
    targets = tmp_path / "t.json"
    code, err = run_cli(
        ["score", "--submission_directory", str(tmp_path), "--workload_targets", str(targets)]
    )
    assert code == 2 and err.startswith(f"sfadamw score: error: targets file {targets} not found")
    targets.write_text(
        '{"workloads": {"tiny": {"target_metric_name": "accuracy", '
        '"validation_target_value": 0.5}}}'
    )
    code, err = run_cli(
        [
            "score",
            "--submission_directory",
            str(tmp_path / "nope"),
            "--workload_targets",
            str(targets),
        ]
    )
    assert code == 2 and "nope is not a folder" in err and len(err.splitlines()) == 1
    make_tree(tmp_path / "a")
    (tmp_path / "a" / "sub").rename(tmp_path / "a" / "sub-2024-01-02-03-04-05")
    logs = read_experiment_dir(tmp_path / "a", TARGETS)
    assert set(logs.trials["submission"]) == {"sub"}


@pytest.mark.parametrize("content", [b"a,b\n1,2\n", b"\x1f\x8b\x08\x00truncated", b""])
def test_bad_table_is_one_line_error(tmp_path, content):
    table = tmp_path / "table.csv.gz"
    table.write_bytes(content)
    targets = tmp_path / "t.json"
    targets.write_text(
        '{"workloads": {"tiny": {"target_metric_name": "accuracy", '
        '"validation_target_value": 0.5}}}'
    )
    code, err = run_cli(["score", "--table", str(table), "--workload_targets", str(targets)])
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith(f"sfadamw score: error: table {table}")
