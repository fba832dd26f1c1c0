"""Writing scoring results: CSV tables and the performance-profile plot, atomically.

Every file is written to a temporary name in its folder and renamed into place,
so a reader never sees a half-written result.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from sfadamw.errors import UserError
from sfadamw.scoring.rules import MAX_TAU, Result, scores


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` and rename ``tmp`` to ``path``; ``tmp`` is removed on failure."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_csv(frame: pd.DataFrame | pd.Series, path: Path, index: bool = True) -> None:
    """A table as CSV (floats with full precision; ``inf``; NaN as an empty cell)."""
    atomic_write(path, lambda tmp: frame.to_csv(tmp, index=index))


def plot_profile(profile: pd.DataFrame, paths: list[Path], title: str = "") -> None:
    """Step plot of rho(tau) per submission, saved to each path (format from the suffix).

    The legend lists submissions by score (the normalised area under the curve).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
    for submission, score in scores(profile).sort_values(ascending=False).items():
        ax.step(profile.columns, profile.loc[submission], where="post",
                label=f"{submission} ({score:.4f})")
    ax.set(xlim=(1, MAX_TAU), ylim=(-0.02, 1.02), xlabel=r"$\tau$ (time / best time)",
           ylabel=r"fraction of workloads within $\tau$", title=title)
    ax.grid(alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small",
              title="submission (score)")
    for path in paths:
        fmt = path.suffix[1:]
        metadata = {"CreationDate": None} if fmt == "pdf" else None  # reproducible files
        atomic_write(path, lambda tmp, fmt=fmt, metadata=metadata: fig.savefig(
            tmp, format=fmt, dpi=150, metadata=metadata))
    plt.close(fig)


def write_result(result: Result, output_dir: str | os.PathLike, profiles: bool,
                 title: str = "") -> list[Path]:
    """Write the tables (and, with ``profiles``, the profile CSV and plots); returns the paths."""
    out = Path(output_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create --output_dir {out} ({e.strerror})") from None
    written = [out / "time_to_targets.csv", out / "study_times.csv", out / "scores.csv"]
    write_csv(result.time_to_targets, written[0])
    write_csv(result.studies, written[1], index=False)
    write_csv(result.scores.rename_axis("submission"), written[2])
    if profiles:
        plots = [out / "performance_profile.png", out / "performance_profile.pdf"]
        write_csv(result.profile.rename_axis("submission"), out / "performance_profile.csv")
        plot_profile(result.profile, plots, title)
        written += [out / "performance_profile.csv", *plots]
    return written
