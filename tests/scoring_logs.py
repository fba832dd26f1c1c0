"""Helpers for scoring tests: tiny experiment folders in the harness layout."""

from __future__ import annotations

from pathlib import Path

from sfadamw.scoring import Targets

#: Two embedded-style workloads with their own targets (one maximised, one minimised).
TARGETS = Targets.from_mapping({"tiny": ("accuracy", 0.5), "small": ("loss", 0.3)}, num_studies=1)


def write_trial(
    root: Path,
    submission: str,
    study: str,
    folder: str,
    trial: str,
    times: list[float],
    values: list[float],
    metric: str = "accuracy",
) -> Path:
    """Write one ``eval_measurements.csv`` (columns as the harness writes them)."""
    trial_dir = root / submission / study / folder / trial
    trial_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        f"global_step,score,accumulated_submission_time,validation/{metric},"
        f"test/{metric},preemption_count"
    ]
    rows = enumerate(zip(times, values, strict=True))
    lines += [f"{10 * i},{t!r},{t!r},{v!r},{v!r},0" for i, (t, v) in rows]
    path = trial_dir / "eval_measurements.csv"
    path.write_text("\n".join(lines) + "\n")
    return path
