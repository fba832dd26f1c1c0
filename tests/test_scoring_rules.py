"""The scoring rules on small hand-written logs, against the rules written out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sfadamw.errors import UserError
from sfadamw.scoring import Targets, load_targets, read_experiment_dir, score_logs
from sfadamw.scoring.rules import (
    TAUS,
    adjusted_times,
    performance_profile,
    ratios,
    scores,
    study_times,
    trial_times,
)
from tests.scoring_logs import TARGETS, write_trial

INF = np.inf


def study_result(
    tmp_path, trials: dict[str, tuple[list, list]], workload="tiny", metric="accuracy"
):
    for trial, (times, values) in trials.items():
        write_trial(tmp_path, "sub", "study_0", f"{workload}_jax", trial, times, values, metric)
    logs = read_experiment_dir(tmp_path, TARGETS)
    return trial_times(logs, TARGETS), study_times(trial_times(logs, TARGETS))


def test_first_hit_in_file_order_with_equality(tmp_path):
    trials, _ = study_result(tmp_path, {"trial_1": ([1.0, 2.0, 3.0, 4.0], [0.1, 0.5, 0.9, 0.2])})
    assert trials.loc[0, "eval_index"] == 1 and trials.loc[0, "time"] == 2.0


def test_minimised_metric_and_nan_never_reaches(tmp_path):
    trials, _ = study_result(
        tmp_path,
        {"trial_1": ([1.0, 2.0, 3.0], [float("nan"), 0.31, 0.3])},
        workload="small",
        metric="loss",
    )
    assert trials.loc[0, "eval_index"] == 2 and trials.loc[0, "time"] == 3.0


def test_never_reached_is_inf(tmp_path):
    _, studies = study_result(tmp_path, {"trial_1": ([1.0, 2.0], [0.1, 0.2])})
    assert studies.loc[0, "time"] == INF


def test_study_takes_earliest_eval_index_not_smallest_time(tmp_path):
    """§2: trial_2 reaches at eval 1 (t=100), trial_1 at eval 2 (t=30): trial_2 counts."""
    _, studies = study_result(
        tmp_path,
        {"trial_1": ([10.0, 20.0, 30.0], [0.1, 0.2, 0.6]), "trial_2": ([5.0, 100.0], [0.1, 0.7])},
    )
    assert studies.loc[0, "trial"] == "trial_2" and studies.loc[0, "time"] == 100.0


def test_tie_at_same_eval_index_takes_smaller_time(tmp_path):
    _, studies = study_result(
        tmp_path,
        {
            "trial_1": ([10.0, 50.0], [0.1, 0.6]),
            "trial_2": ([10.0, 40.0], [0.1, 0.6]),
            "trial_3": ([10.0, 45.0], [0.1, 0.6]),
        },
    )
    assert studies.loc[0, "trial"] == "trial_2" and studies.loc[0, "time"] == 40.0


@pytest.mark.parametrize(
    "study_values, expected",
    [
        ([10.0, INF, 20.0], 20.0),
        ([10.0, INF, INF], INF),
        ([10.0, 20.0], 15.0),
        ([10.0, INF], INF),
    ],
)
def test_median_over_studies(tmp_path, study_values, expected):
    for k, t in enumerate(study_values):
        value = 0.9 if np.isfinite(t) else 0.1
        write_trial(
            tmp_path,
            "sub",
            f"study_{k}",
            "tiny_pytorch",
            "trial_1",
            [t if value > 0.5 else 1.0],
            [value],
        )
    result = score_logs(read_experiment_dir(tmp_path, TARGETS), TARGETS)
    assert result.time_to_targets.loc["sub", "tiny"] == expected
    assert np.isnan(result.time_to_targets.loc["sub", "small"])  # no runs


def test_held_out_gate_and_four_times_cut():
    """§4-5 written out on four submissions with base ``a`` and held-out variant ``a_v``."""
    targets = Targets.from_mapping({"a": ("loss", 1), "a_v": ("loss", 1)}, base=("a",))
    targets = Targets(targets.workloads, ("a",), ("a_v",))
    times = pd.DataFrame(
        {"a": [10.0, 20.0, INF, 40.0, 10.0], "a_v": [10.0, 100.0, 1.0, 40.0, np.nan]},
        index=["s1", "s2", "s3", "s4", "s5"],
    )
    adjusted = adjusted_times(times, targets)
    # s2: variant 100 > 4 x 10 -> base gated; s3: variant set to inf first (base inf), so the
    # variant's best is 10, not 1; s4: exactly 4 x best survives; s5: variant never run.
    assert adjusted["a"].tolist() == [10.0, INF, INF, 40.0, INF]
    assert list(adjusted.columns) == ["a"]


def test_ratios_keep_inf_and_nan():
    adjusted = pd.DataFrame({"a": [INF, INF], "b": [2.0, np.nan], "c": [3.0, 6.0]})
    r = ratios(adjusted)
    assert r["a"].tolist() == [INF, INF] and r["b"].iloc[0] == 1.0 and np.isnan(r["b"].iloc[1])
    assert r["c"].tolist() == [1.0, 2.0]


def score_written_out(ratio_row: np.ndarray, num_base: int) -> float:
    """§8: ratio 1 gives 1/N; ratio in (t_j, t_j+1] gives (4 - midpoint) / (3 N); > 4 gives 0."""
    total = 0.0
    for r in ratio_row:
        if not np.isfinite(r) or r > TAUS[-1]:
            continue
        j = int(np.searchsorted(TAUS, r, side="left"))
        total += 1.0 if j == 0 else (4.0 - (TAUS[j - 1] + TAUS[j]) / 2) / 3.0
    return total / num_base


times_st = st.one_of(st.floats(1.0, 20.0), st.just(INF), st.just(np.nan))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(times_st, min_size=4, max_size=4), min_size=1, max_size=4))
def test_score_equals_written_out_formula(rows):
    times = pd.DataFrame(rows, columns=list("abcd"))
    targets = Targets.from_mapping({w: ("loss", 1.0) for w in "abcd"})
    r = ratios(adjusted_times(times, targets))
    got = scores(performance_profile(r, 4)).to_numpy()
    best = times.min(axis=0)
    for i, row in enumerate(times.to_numpy()):
        row = np.where(row > 4 * best.to_numpy(), INF, row)
        with np.errstate(invalid="ignore"):
            expected = score_written_out(row / best.to_numpy(), 4)
        assert got[i] == pytest.approx(expected, abs=1e-12)


def test_profile_counts_missing_workloads_in_denominator():
    r = pd.DataFrame({"a": [1.0], "b": [np.nan], "c": [INF]}, index=["s"])
    profile = performance_profile(r, 4)  # 4 base workloads, only one reached
    assert (profile.loc["s"] == 0.25).all()
    assert scores(profile).loc["s"] == pytest.approx(0.25)


def test_targets_from_mapping():
    targets = Targets.from_mapping({"x": ("validation/wer", 0.1), "y": ("score", 2.0, True)})
    assert targets.workloads["x"].lower_is_better and targets.workloads["x"].metric == "wer"
    assert targets.workloads["y"].lower_is_better and targets.base == ("x", "y")
    with pytest.raises(UserError, match="matches no base"):
        Targets(targets.workloads, ("x",), ("y",))


def test_target_file_of_embedded_workloads(tmp_path):
    """A target file may give lower_is_better; base_workloads defaults to every workload."""
    path = tmp_path / "targets.json"
    path.write_text(
        '{"workloads": {"tiny": {"target_metric_name": "neg_loss", '
        '"validation_target_value": -0.5, "lower_is_better": false}}}'
    )
    targets = load_targets(path)
    assert targets.base == ("tiny",) and not targets.workloads["tiny"].lower_is_better
    write_trial(
        tmp_path / "logs",
        "sub",
        "study_0",
        "tiny_pytorch",
        "trial_1",
        [1.0, 2.0, 3.0],
        [-0.9, -0.4, -0.6],
        metric="neg_loss",
    )
    result = score_logs(read_experiment_dir(tmp_path / "logs", targets), targets)
    assert result.time_to_targets.loc["sub", "tiny"] == 2.0 and result.scores["sub"] == 1.0
    path.write_text('{"workloads": {"tiny": {"target": 1}}}')
    with pytest.raises(UserError, match="not a valid target file"):
        load_targets(path)
