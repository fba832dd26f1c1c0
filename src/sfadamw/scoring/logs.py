"""Reading AlgoPerf experiment logs into one in-memory structure, :class:`Logs`.

Two sources give the same structure:

* :func:`read_experiment_dir`: a ruleset folder in the harness's layout,
  ``<ruleset dir>/<submission>/<study>/<workload>_<framework>/trial_<k>/eval_measurements.csv``
  (the official leaderboard logs, or the embedded runner's);
* :func:`read_table`: a compact table of ``shared/data/algoperf_leaderboards``
  (one row per eval, keyed by submission, study, workload folder and trial);
  :func:`write_harness_layout` expands such a table into the harness layout.

Only what the score uses is kept: per eval its position in the file (the eval
index), ``score`` (the accumulated submission time) and the validation value of
the workload's target metric. Cells are read as text and parsed exactly (as
Python's ``float``, :func:`parse_floats`): pandas' default parser before 3.0 is
sometimes 1 ULP off, and the official scorer's times carry those errors.

Bad logs have defined behaviour (each case reported through :class:`Issues`,
naming the file and what was assumed; with ``strict`` the first one raises
:class:`sfadamw.errors.LogError`):

=========================================  =============================================
problem                                    assumed
=========================================  =============================================
stray file where a folder is expected      ignored
workload folder without ``_jax``/          workload name = the folder name
``_pytorch`` suffix
workload without a target / not scored     ignored
folder not named ``trial_<k>``             ignored
no ``eval_measurements.csv``, empty,       trial skipped (as if absent)
unreadable CSV, missing column
header only                                the trial does not reach the target
last line without newline (truncated)      that line dropped
non-numeric / NaN metric or time           that eval cannot reach the target
missing workload, study count or trial     median over the studies present; a
count different from the rules             workload with no runs is not reached
=========================================  =============================================

Sibling folders ``<submission>-YYYY-MM-DD-HH-MM-SS`` (the harness's resumed
runs) are merged into ``<submission>``, as the official scorer does.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from sfadamw.errors import LogError, UserError
from sfadamw.scoring.targets import Target, Targets

EVAL_FILE = "eval_measurements.csv"
FRAMEWORK_SUFFIXES = ("_jax", "_pytorch")
TRIAL_RE = re.compile(r"trial_\d+")
TIMESTAMP_RE = re.compile(r"-\d{4}(-\d{2}){5}$")
TABLE_KEYS = ["submission", "study", "workload", "trial"]

#: Columns of a rebuilt eval file (``accumulated_submission_time`` repeats ``score``).
LAYOUT_COLUMNS = ["global_step", "score", "accumulated_submission_time", "preemption_count"]


@dataclass
class Issues:
    """Problems found in logs: kept as warnings, or with ``strict`` raised at the first one."""

    strict: bool = False
    messages: list[str] = field(default_factory=list)

    def __call__(self, where: object, problem: str, assumed: str) -> None:
        if self.strict:
            raise LogError(f"{where}: {problem} (--strict; without it: {assumed})")
        message = f"{where}: {problem}; {assumed}"
        if message not in self.messages:
            self.messages.append(message)


@dataclass
class Logs:
    """Experiment logs: one row per trial read, and one row per eval of those trials.

    ``trials``: submission, study, workload (framework suffix removed), folder
    (the workload folder name), trial, source (a unique name of the trial's file).
    ``evals``: source, eval_index (row position in the file, from 0), score
    (seconds), value (validation value of the workload's target metric; NaN if missing).
    """

    trials: pd.DataFrame
    evals: pd.DataFrame
    origin: str  #: the folder or table read
    prefix: str  #: ``origin`` and its separator, to name places in it

    def where(self, *parts: str) -> str:
        """Name a place in the logs, e.g. ``logs/self_tuning/baseline/study_0``."""
        return self.prefix + "/".join(parts)


def _listing(folder: Path, issues: Issues) -> list[Path]:
    """Entries of ``folder`` in name order (none, reported, if it cannot be listed)."""
    try:
        return sorted(folder.iterdir())
    except OSError as e:
        issues(folder, f"cannot be listed ({e.strerror})", "ignored")
        return []


def _entries(folder: Path, kind: str, issues: Issues) -> Iterator[Path]:
    """Sub-folders of ``folder`` in name order; stray files are reported and ignored."""
    for entry in _listing(folder, issues):
        if entry.is_dir():
            yield entry
        else:
            issues(entry, f"stray file where a {kind} folder was expected", "ignored")


def _workload_name(folder: str, where: object, targets: Targets, issues: Issues) -> str | None:
    """The workload of a ``<workload>_<framework>`` folder, or None if it is not scored."""
    for suffix in FRAMEWORK_SUFFIXES:
        if folder.endswith(suffix):
            workload = folder.removesuffix(suffix)
            break
    else:
        workload = folder
        issues(where, "folder name has no _jax or _pytorch suffix", f"workload {workload!r}")
    if workload not in targets.scored:
        issues(where, f"workload {workload!r} is not scored by targets {targets.name}", "ignored")
        return None
    return workload


def _read_csv(path: Path, issues: Issues) -> pd.DataFrame | None:
    """An eval file as a DataFrame, or None (reported) if there is nothing usable."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        issues(path.parent, f"no {EVAL_FILE}", "trial skipped")
        return None
    except OSError as e:
        issues(path, f"cannot be read ({e.strerror})", "trial skipped")
        return None
    if data and not data.endswith(b"\n"):
        issues(path, "last line has no newline (truncated file)", "that line dropped")
        data = data[: data.rfind(b"\n") + 1]
    if not data.strip():
        issues(path, "empty file", "trial skipped")
        return None
    try:
        return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    except (ValueError, UnicodeDecodeError) as e:  # pandas' ParserError is a ValueError
        reason = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        issues(path, f"not a readable CSV ({reason})", "trial skipped")
        return None


def parse_floats(text: pd.Series) -> tuple[np.ndarray, int]:
    """Exactly rounded floats of CSV cells (as Python's ``float``): empty cells are NaN.

    Returns the values and the number of non-numeric cells (also NaN).
    """
    cells = text.to_numpy(dtype=object)
    cells = np.where(pd.isna(cells) | (cells == ""), "nan", cells)
    try:
        return cells.astype(np.float64), 0
    except (ValueError, TypeError):
        values = np.array([_float_or_nan(c) for c in cells], dtype=np.float64)
        return values, sum(not _is_float(c) for c in cells)


def _is_float(cell: object) -> bool:
    try:
        float(cell)
    except (ValueError, TypeError):
        return False
    return True


def _float_or_nan(cell: object) -> float:
    return float(cell) if _is_float(cell) else np.nan


def _numeric(raw: pd.DataFrame, column: str, where: object, issues: Issues) -> np.ndarray:
    """A column as float64; non-numeric and missing cells become NaN (reported)."""
    values, bad = parse_floats(raw[column])
    if bad:
        issues(where, f"{bad} non-numeric values in column {column}", "read as NaN")
    missing = int(np.isnan(values).sum())
    if missing:
        issues(where, f"{missing} of {len(values)} evals have no {column} value (NaN)",
               "those evals do not reach the target")
    return values


def _trial_evals(raw: pd.DataFrame, where: object, target: Target,
                 issues: Issues) -> pd.DataFrame | None:
    """Eval index, time and target-metric value of one trial, or None if unusable."""
    missing = [c for c in ("score", target.column) if c not in raw.columns]
    if missing:
        issues(where, f"missing column {', '.join(missing)}", "trial skipped")
        return None
    if raw.empty:
        issues(where, "no evals (header only)", "the trial does not reach the target")
    return pd.DataFrame({
        "eval_index": np.arange(len(raw)),
        "score": _numeric(raw, "score", where, issues),
        "value": _numeric(raw, target.column, where, issues),
    })


class TrialEntry(NamedTuple):
    """A trial found by a reader, where its parts are (to name them), and how to load it."""

    submission: str
    study: str
    folder: str
    trial: str
    folder_at: str
    trial_at: str
    file_at: str
    load: Callable[[], pd.DataFrame | None]


def _collect(entries: Iterator[TrialEntry], targets: Targets, issues: Issues,
             origin: str, prefix: str) -> Logs:
    """Validate the trials of a reader and assemble :class:`Logs`."""
    rows, frames = [], []
    for e in entries:
        workload = _workload_name(e.folder, e.folder_at, targets, issues)
        if workload is None:
            continue
        if not TRIAL_RE.fullmatch(e.trial):
            issues(e.trial_at, "not a trial_<k> folder", "ignored")
            continue
        raw = e.load()
        evals = None if raw is None else _trial_evals(raw, e.file_at,
                                                      targets.workloads[workload], issues)
        if evals is None:
            continue
        rows.append((TIMESTAMP_RE.sub("", e.submission), e.study, workload, e.folder, e.trial,
                     e.file_at))
        frames.append(evals.assign(source=e.file_at))
    if not rows:
        raise LogError(f"{origin}: no readable trials; nothing to score")
    trials = pd.DataFrame(rows, columns=["submission", "study", "workload", "folder", "trial",
                                         "source"])
    evals = pd.concat(frames, ignore_index=True)
    return Logs(trials, evals[["source", "eval_index", "score", "value"]], origin, prefix)


def read_experiment_dir(ruleset_dir: str | os.PathLike, targets: Targets,
                        issues: Issues | None = None) -> Logs:
    """Read ``<ruleset_dir>/<submission>/<study>/<workload>_<framework>/trial_<k>/``."""
    root = Path(ruleset_dir)
    if not root.is_dir():
        raise UserError(f"{root} is not a folder; pass the folder that holds one folder "
                        "per submission (e.g. .../logs/self_tuning)")
    issues = issues if issues is not None else Issues()

    def entries() -> Iterator[TrialEntry]:
        for sub in _entries(root, "submission", issues):
            for study in _entries(sub, "study", issues):
                for wl in _entries(study, "workload", issues):
                    for trial in _listing(wl, issues):
                        path = trial / EVAL_FILE
                        if not trial.is_dir():
                            issues(trial, "stray file where a trial folder was expected",
                                   "ignored")
                            continue
                        yield TrialEntry(sub.name, study.name, wl.name, trial.name, str(wl),
                                         str(trial), str(path),
                                         lambda path=path: _read_csv(path, issues))

    return _collect(entries(), targets, issues, str(root), f"{root}/")


def _read_table_text(path: str | os.PathLike) -> pd.DataFrame:
    """A compact table, every cell as its text."""
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise UserError(f"table {path} not found; pass an existing --table") from None
    except (ValueError, OSError, EOFError, zlib.error) as e:
        raise UserError(f"table {path} cannot be read ({e})") from None
    missing = [c for c in (*TABLE_KEYS, "score") if c not in table.columns]
    if missing:
        raise UserError(f"table {path} lacks columns {', '.join(missing)}; expected the "
                        "compact leaderboard format (see shared/data/algoperf_leaderboards)")
    return table


def read_table(path: str | os.PathLike, targets: Targets,
               issues: Issues | None = None) -> Logs:
    """Read a compact leaderboard table (``*.csv.gz``) into :class:`Logs`."""
    table = _read_table_text(path)
    table = table[[c for c in table.columns if c in (*TABLE_KEYS, "score")
                   or c.startswith("validation/")]]
    issues = issues if issues is not None else Issues()

    def entries() -> Iterator[TrialEntry]:
        for (submission, study, folder, trial), group in table.groupby(TABLE_KEYS, sort=False):
            at = f"{path}:{submission}/{study}/{folder}"
            yield TrialEntry(submission, study, folder, trial, at, f"{at}/{trial}",
                             f"{at}/{trial}", lambda group=group: group)

    return _collect(entries(), targets, issues, str(path), f"{path}:")


def write_harness_layout(table_path: str | os.PathLike, out_dir: str | os.PathLike) -> int:
    """Expand a compact table into ``<out_dir>/<submission>/<study>/<workload>/<trial>/``.

    Cells are copied as text, so the files parse to exactly what the source logs
    did. The tree is built beside ``out_dir`` and renamed into place at the end.
    Returns the number of trials written.
    """
    out = Path(out_dir)
    if out.exists():
        raise UserError(f"{out} exists; choose a new --output_dir")
    table = _read_table_text(table_path)
    metrics = [c for c in table.columns if c.startswith(("validation/", "test/"))]
    table["accumulated_submission_time"] = table["score"]
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    try:
        count = 0
        for keys, group in table.groupby(TABLE_KEYS, sort=False):
            trial_dir = tmp.joinpath(*keys)
            trial_dir.mkdir(parents=True)
            group[LAYOUT_COLUMNS + metrics].to_csv(trial_dir / EVAL_FILE, index=False)
            count += 1
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return count


def check_counts(logs: Logs, targets: Targets, self_tuning: bool, issues: Issues) -> None:
    """Report missing workloads, and study and trial counts that differ from the rules.

    The rules: every scored workload run by each submission, ``targets.num_studies``
    studies per workload, 5 trials per study (external tuning) or 1 (self-tuning).
    """
    trials = logs.trials
    for submission, group in trials.groupby("submission"):
        for workload in sorted(set(targets.scored) - set(group["workload"])):
            issues(logs.where(submission), f"no runs of workload {workload}",
                   "not reached")
    studies = trials.groupby(["submission", "workload"])["study"].nunique()
    if targets.num_studies is not None:
        for (submission, workload), n in studies.items():
            if n != targets.num_studies:
                issues(logs.where(submission, workload),
                       f"{n} studies, the rules have {targets.num_studies}",
                       f"median over the {n} present")
    expected = 1 if self_tuning else 5
    per_study = trials.groupby(["submission", "study", "workload"])
    for (submission, study, workload), group in per_study:
        if group["folder"].nunique() > 1:
            issues(logs.where(submission, study),
                   f"workload {workload} has folders {', '.join(sorted(set(group['folder'])))}",
                   "their trials are pooled")
        if len(group) != expected:
            issues(logs.where(submission, study, workload),
                   f"{len(group)} trials, the {'self' if self_tuning else 'external'}-tuning "
                   f"rules have {expected}", f"scored with the {len(group)} present")
