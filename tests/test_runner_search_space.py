"""Search spaces: explicit points, Halton sampling, validation, fuzzing."""

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sfadamw.errors import SearchSpaceError
from sfadamw.runner import search_space


def test_halton_radical_inverse_written_out():
    # base 2: 1 -> .1b, 2 -> .01b, 3 -> .11b, 6 -> .011b; base 3: 1 -> 1/3, 5 = 12_3 -> 2/3 + 1/9
    assert [search_space.halton(i, 2) for i in (1, 2, 3, 6)] == [0.5, 0.25, 0.75, 0.375]
    assert search_space.halton(1, 3) == pytest.approx(1 / 3)
    assert search_space.halton(5, 3) == pytest.approx(2 / 3 + 1 / 9)


def test_explicit_points_trial_k_uses_point_k():
    space = [{"learning_rate": 0.1, "beta2": 0.9}, {"learning_rate": 0.2, "beta2": 0.99}]
    search_space.validate(space)
    points = search_space.points(space, 2)
    assert points == space
    hp = search_space.as_hyperparameters(points[1])
    assert (hp.learning_rate, hp.beta2) == (0.2, 0.99)
    assert hp._fields == ("learning_rate", "beta2")
    with pytest.raises(SearchSpaceError, match="has 2 points"):
        search_space.points(space, 3)


def test_halton_ranges_and_feasible_points():
    # sorted names: beta2 (base 2), dropout_rate (base 3), learning_rate (base 5)
    space = {
        "learning_rate": {"min": 1e-4, "max": 1e-2, "scaling": "log"},
        "beta2": {"min": 0.9, "max": 0.99, "scaling": "linear"},
        "dropout_rate": {"feasible_points": [0.0, 0.1, 0.2]},
    }
    search_space.validate(space)
    pts = search_space.points(space, 3)
    for k, p in enumerate(pts):
        u2, u3, u5 = (search_space.halton(k + 1, b) for b in (2, 3, 5))
        assert p["beta2"] == pytest.approx(0.9 + u2 * 0.09)
        assert p["dropout_rate"] == [0.0, 0.1, 0.2][int(u3 * 3)]
        assert p["learning_rate"] == pytest.approx(10 ** (-4 + 2 * u5))
    assert pts[0]["beta2"] == pytest.approx(0.945)  # u = 1/2
    assert pts[0]["dropout_rate"] == 0.1  # u = 1/3 -> index 1


@pytest.mark.parametrize(
    "space, message",
    [
        ([], "empty"),
        ({}, "empty"),
        ([{"learning_rate": 0.0}], "learning_rate=0.0 is outside"),
        ([{"learning_rate": -1}], "outside"),
        ([{"beta2": 1.0}], "beta2=1.0 is outside"),
        ([{"one_minus_beta1": 0}], "outside"),
        ([{"learning_rate": 0.1}, {"lr": 0.1}], "different keys"),
        ([{"learning_rate": float("nan")}], "finite"),
        ([{"learning_rate": "0.1"}], "must be a number"),
        ([{}], "non-empty object"),
        ([3], "non-empty object"),
        ({"learning_rate": {"min": 0.1, "max": 1}}, "missing \\['scaling'\\]"),
        ({"learning_rate": {"min": 0.1, "max": 1, "scaling": "log", "step": 2}}, "unknown"),
        ({"learning_rate": {"min": 1, "max": 0.1, "scaling": "log"}}, "min 1 > max"),
        ({"weight_decay": {"min": 0.0, "max": 1, "scaling": "log"}}, "log scaling needs"),
        ({"beta1": {"min": 0.5, "max": 1.0, "scaling": "linear"}}, "outside"),
        ({"dropout_rate": {"feasible_points": []}}, "non-empty list"),
        ({"x": {"feasible_points": [1], "min": 0}}, "cannot be combined"),
        ({"x": {"min": 0, "max": 1, "scaling": "exp"}}, "scaling must be"),
        ({"1x": {"feasible_points": [1]}}, "not a valid identifier"),
        ("lr", "expected a list"),
    ],
)
def test_bad_search_spaces_are_rejected(space, message):
    with pytest.raises(SearchSpaceError, match=message):
        search_space.validate(space)


def test_load_reports_missing_and_malformed_files(tmp_path):
    with pytest.raises(SearchSpaceError, match="does not exist"):
        search_space.load(str(tmp_path / "none.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("[{")
    with pytest.raises(SearchSpaceError, match="not valid JSON"):
        search_space.load(str(bad))
    good = tmp_path / "good.json"
    good.write_text(json.dumps([{"learning_rate": 0.01}]))
    assert search_space.load(str(good)) == [{"learning_rate": 0.01}]


scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=3),
                    st.floats(allow_nan=True, allow_infinity=True))
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(["min", "max", "scaling", "feasible_points", "learning_rate",
                             "beta2", "x", "", "log", "linear"]),
            inner, max_size=4,
        ),
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(json_values, st.integers(1, 4))
def test_fuzzed_search_spaces_raise_only_search_space_errors(space, trials):
    try:
        search_space.validate(space)
        points = search_space.points(space, trials)
    except SearchSpaceError:
        return
    for p in points:
        search_space.as_hyperparameters(p)
        assert all(not isinstance(v, float) or math.isfinite(v) for v in p.values())
