"""The harness's experiment layout and log files, written safely.

Layout (as the AlgoPerf submission_runner writes it)::

    <experiment_dir>/<experiment_name>/<workload>_<framework>/trial_<k>/
        hparams.json            the trial's hyperparameters (external tuning)
        meta_data_<n>.json      workload, framework, seed, software, hardware
        flags_<n>.json          the flag values of the run
        measurements.csv        rows the submission logs during training, and a
                                final {score} row written by the runner
        eval_measurements.csv   one row per eval: train/*, validation/*, test/*
                                metrics, score, total_duration,
                                accumulated_submission_time,
                                accumulated_eval_time, accumulated_logging_time,
                                global_step, preemption_count
        checkpoint.pt | checkpoint.npz   (with --save_checkpoints)

``n`` is the preemption count (0 for the first run, +1 per resume).
JSON files and checkpoints are written to a temporary file and renamed over the
target (``os.replace``), so a reader sees the old or the new file, never half
of one. CSV rows are appended and flushed to disk (``fsync``) as they are
written; a row with a new column rewrites the file atomically with the union
of the columns.
"""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import sys
import tempfile
from collections.abc import Mapping
from typing import Any

EVAL_FILE = "eval_measurements.csv"
TRAIN_FILE = "measurements.csv"


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp_" + os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_json(path: str, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, default=str) + "\n").encode())


def trial_dir(experiment_path: str, trial: int) -> str:
    """``<experiment_dir>/<experiment_name>/<workload>_<framework>/trial_<trial>``."""
    return os.path.join(experiment_path, f"trial_{trial}")


def _format(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    return "" if value is None else str(value)


class CsvLog:
    """Append-only CSV file of metric rows; the header is the union of all keys seen."""

    def __init__(self, path: str) -> None:
        self.path = path

    def rows(self) -> list[dict[str, str]]:
        if not os.path.exists(self.path):
            return []
        with open(self.path, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))

    def _header(self) -> list[str] | None:
        if not os.path.exists(self.path):
            return None
        with open(self.path, newline="", encoding="utf-8") as f:
            return next(csv.reader(f), None)

    def _rewrite(self, header: list[str], rows: list[Mapping[str, Any]]) -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _format(row.get(k)) for k in header})
        atomic_write_bytes(self.path, buffer.getvalue().encode())

    def append(self, row: Mapping[str, Any]) -> None:
        header = self._header()
        if header is None or not set(row) <= set(header):
            old = self.rows()
            union = list(header or []) + [k for k in row if k not in (header or [])]
            self._rewrite(union, [*old, row])
            return
        with open(self.path, "a", newline="", encoding="utf-8") as f:
            csv.writer(f, lineterminator="\n").writerow([_format(row.get(k)) for k in header])
            f.flush()
            os.fsync(f.fileno())

    def truncate(self, keep: int) -> None:
        """Keep only the first ``keep`` rows (used on resume: drop rows after the checkpoint)."""
        header = self._header()
        if header is None:
            return
        rows = self.rows()
        if len(rows) > keep:
            self._rewrite(header, rows[:keep])


class MetricsLogger:
    """The harness's ``MetricLogger`` interface: ``append_scalar_metrics``.

    Attached to the workload (``workload.metrics_logger``) so submissions can log
    training metrics; the runner logs eval rows with ``is_eval=True``. Rows carry
    ``global_step`` and ``preemption_count`` as the last two columns.
    """

    def __init__(self, folder: str, preemption_count: int) -> None:
        self.train = CsvLog(os.path.join(folder, TRAIN_FILE))
        self.eval = CsvLog(os.path.join(folder, EVAL_FILE))
        self.preemption_count = preemption_count

    def append_scalar_metrics(
        self,
        metrics: Mapping[str, Any],
        global_step: int,
        preemption_count: int | None = None,
        is_eval: bool = False,
    ) -> None:
        row = {k: _scalar(v) for k, v in metrics.items()}
        row["global_step"] = int(global_step)
        row["preemption_count"] = (
            self.preemption_count if preemption_count is None else int(preemption_count)
        )
        (self.eval if is_eval else self.train).append(row)


def _scalar(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return value


def meta_data(workload_name: str, framework: str, rng_seed: int, trial: int) -> dict[str, Any]:
    """What the harness records in meta_data_<n>.json (workload, seed, software, hardware)."""
    software = {"python_version": sys.version.split()[0], "os_platform": platform.platform()}
    for package in ("sfadamw", "torch", "jax", "optax", "flax", "numpy"):
        module = sys.modules.get(package)
        if module is not None:
            software[f"{package}_version"] = getattr(module, "__version__", "")
    return {
        "workload": workload_name,
        "framework": framework,
        "trial": trial,
        "rng_seed": rng_seed,
        "runner": "sfadamw embedded runner",
        "system_software_info": software,
        "system_hardware_info": {
            "cpu_model_name": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
        },
    }
