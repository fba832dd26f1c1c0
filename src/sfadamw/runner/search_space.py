"""Tuning search spaces: load, validate, and turn into trial hyperparameters.

A search space is a JSON file in one of the harness's two forms:

* a list of explicit points ``[{"learning_rate": 0.003, ...}, ...]``: trial k
  uses point k;
* a dict ``{name: spec}`` where spec is ``{"min": a, "max": b, "scaling":
  "linear"|"log"}`` or ``{"feasible_points": [v, ...]}``: trial k uses the
  (k+1)-th point of a Halton sequence (radical inverse of k+1 in the d-th prime
  base for the d-th name in sorted order), mapped to ``a + u (b - a)``
  (linear), ``exp(log a + u (log b - log a))`` (log), or
  ``feasible_points[floor(u n)]``. The harness also samples quasi-randomly with
  Halton points; it scrambles them with the seed, we do not, so the same file
  gives the same trials on every run.

Each trial's hyperparameters are a namedtuple holding exactly the file's keys,
as the harness passes them. Anything malformed or out of range raises
:class:`sfadamw.errors.SearchSpaceError` with one line saying what and where.
"""

from __future__ import annotations

import collections
import json
import keyword
import math
import os
from typing import Any

from sfadamw.errors import SearchSpaceError

SCALINGS = ("linear", "log")

#: Ranges of well-known hyperparameter names: (low, high, low_open, high_open).
KNOWN_RANGES: dict[str, tuple[float, float, bool, bool]] = {
    "learning_rate": (0.0, math.inf, True, True),
    "lr": (0.0, math.inf, True, True),
    "eps": (0.0, math.inf, True, True),
    "epsilon": (0.0, math.inf, True, True),
    "beta1": (0.0, 1.0, True, True),
    "beta2": (0.0, 1.0, True, True),
    "one_minus_beta1": (0.0, 1.0, True, True),
    "one_minus_beta2": (0.0, 1.0, True, True),
    "weight_decay": (0.0, math.inf, False, True),
    "warmup_factor": (0.0, 1.0, False, False),
    "label_smoothing": (0.0, 1.0, False, True),
    "dropout_rate": (0.0, 1.0, False, True),
    "aux_dropout_rate": (0.0, 1.0, False, True),
}


def _check_name(name: Any, where: str) -> None:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise SearchSpaceError(f"{where}: hyperparameter name {name!r} is not a valid identifier")
    if name.startswith("_"):
        raise SearchSpaceError(f"{where}: hyperparameter name {name!r} starts with '_'")


def _check_value(name: str, value: Any, where: str) -> None:
    if isinstance(value, bool) or isinstance(value, str):
        if name in KNOWN_RANGES:
            raise SearchSpaceError(f"{where}: {name} must be a number, got {value!r}")
        return
    if not isinstance(value, int | float):
        raise SearchSpaceError(
            f"{where}: {name} must be a number, string or boolean, got {type(value).__name__}"
        )
    if not math.isfinite(value):
        raise SearchSpaceError(f"{where}: {name} must be finite, got {value!r}")
    if name in KNOWN_RANGES:
        low, high, low_open, high_open = KNOWN_RANGES[name]
        too_low = value <= low if low_open else value < low
        too_high = value >= high if high_open else value > high
        if too_low or too_high:
            lo, hi = ("(" if low_open else "["), (")" if high_open else "]")
            raise SearchSpaceError(
                f"{where}: {name}={value!r} is outside {lo}{low:g}, {high:g}{hi}"
            )


def _check_points(points: list, where: str) -> None:
    if not points:
        raise SearchSpaceError(f"{where}: the list of points is empty")
    keys = None
    for i, point in enumerate(points):
        at = f"{where}: point {i}"
        if not isinstance(point, dict) or not point:
            raise SearchSpaceError(f"{at} must be a non-empty object of hyperparameters")
        for name, value in point.items():
            _check_name(name, at)
            _check_value(name, value, at)
        if keys is None:
            keys = set(point)
        elif set(point) != keys:
            missing, extra = sorted(keys - set(point)), sorted(set(point) - keys)
            raise SearchSpaceError(
                f"{at} has different keys from point 0 (missing {missing}, extra {extra})"
            )


def _check_spec(name: str, spec: Any, where: str) -> None:
    at = f"{where}: {name}"
    if not isinstance(spec, dict):
        raise SearchSpaceError(f"{at} must be an object with min/max/scaling or feasible_points")
    keys = set(spec)
    if "feasible_points" in keys:
        if keys != {"feasible_points"}:
            others = sorted(keys - {"feasible_points"})
            raise SearchSpaceError(f"{at}: feasible_points cannot be combined with {others}")
        points = spec["feasible_points"]
        if not isinstance(points, list) or not points:
            raise SearchSpaceError(f"{at}: feasible_points must be a non-empty list")
        for value in points:
            _check_value(name, value, at)
        return
    if keys != {"min", "max", "scaling"}:
        missing = sorted({"min", "max", "scaling"} - keys)
        unknown = sorted(keys - {"min", "max", "scaling"})
        raise SearchSpaceError(
            f"{at} needs exactly min, max and scaling (missing {missing}, unknown {unknown})"
        )
    if spec["scaling"] not in SCALINGS:
        raise SearchSpaceError(f"{at}: scaling must be 'linear' or 'log', got {spec['scaling']!r}")
    for bound in ("min", "max"):
        value = spec[bound]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SearchSpaceError(f"{at}: {bound} must be a number, got {value!r}")
        _check_value(name, value, f"{at} {bound}")
    if spec["min"] > spec["max"]:
        raise SearchSpaceError(f"{at}: min {spec['min']!r} > max {spec['max']!r}")
    if spec["scaling"] == "log" and spec["min"] <= 0:
        raise SearchSpaceError(f"{at}: log scaling needs min > 0, got {spec['min']!r}")


def validate(space: Any, where: str = "search space") -> None:
    """Raise SearchSpaceError unless ``space`` is a well-formed, in-range search space."""
    if isinstance(space, list):
        _check_points(space, where)
    elif isinstance(space, dict):
        if not space:
            raise SearchSpaceError(f"{where}: the search space is empty")
        for name, spec in space.items():
            _check_name(name, where)
            _check_spec(name, spec, where)
    else:
        raise SearchSpaceError(
            f"{where}: expected a list of points or an object of ranges, got {type(space).__name__}"
        )


def load(path: str) -> list[dict[str, Any]] | dict[str, Any]:
    """The validated search space stored in the JSON file ``path``."""
    if not os.path.isfile(path):
        raise SearchSpaceError(f"search space file {path!r} does not exist")
    try:
        with open(path, encoding="utf-8") as f:
            space = json.load(f)
    except (OSError, UnicodeDecodeError) as e:
        raise SearchSpaceError(f"cannot read search space {path!r}: {e}") from None
    except json.JSONDecodeError as e:
        raise SearchSpaceError(f"search space {path!r} is not valid JSON: {e}") from None
    validate(space, path)
    return space


def _primes(n: int) -> list[int]:
    primes: list[int] = []
    candidate = 2
    while len(primes) < n:
        if all(candidate % p for p in primes if p * p <= candidate):
            primes.append(candidate)
        candidate += 1
    return primes


def halton(index: int, base: int) -> float:
    """The radical inverse of ``index`` in ``base``: digits mirrored after the point."""
    result, fraction = 0.0, 1.0 / base
    while index > 0:
        index, digit = divmod(index, base)
        result += digit * fraction
        fraction /= base
    return result


def _sample(spec: dict[str, Any], u: float) -> Any:
    if "feasible_points" in spec:
        points = spec["feasible_points"]
        return points[min(int(u * len(points)), len(points) - 1)]
    low, high = float(spec["min"]), float(spec["max"])
    if spec["scaling"] == "log":
        return math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
    return low + u * (high - low)


def points(space: list | dict, num_trials: int) -> list[dict[str, Any]]:
    """The hyperparameter dicts of trials 0..num_trials-1 of a validated ``space``."""
    if num_trials < 1:
        raise SearchSpaceError(f"--num_tuning_trials must be >= 1, got {num_trials}")
    if isinstance(space, list):
        if num_trials > len(space):
            raise SearchSpaceError(
                f"the search space has {len(space)} points; --num_tuning_trials={num_trials}"
            )
        return [dict(p) for p in space[:num_trials]]
    names = sorted(space)
    bases = _primes(len(names))
    return [
        {n: _sample(space[n], halton(k + 1, b)) for n, b in zip(names, bases, strict=True)}
        for k in range(num_trials)
    ]


def as_hyperparameters(point: dict[str, Any]):
    """The namedtuple the harness passes to submissions (fields in the point's order)."""
    return collections.namedtuple("Hyperparameters", list(point))(**point)
