"""Scoring targets: which metric each workload is scored on, and its target.

A :class:`Targets` holds, for each workload, the validation target the scorer
compares against (AlgoPerf scores **validation** targets only; test metrics play
no part), plus the benchmark's base workloads and held-out variants and the
expected study count (used only for warnings, or errors with ``--strict``).

Sources:

* the official target files (``workload_targets*.json``: ``base_workloads``,
  ``held_out_workloads``, ``workloads.<name>.target_metric_name`` and
  ``validation_target_value``), see ``shared/data/algoperf_leaderboards``;
* a plain mapping ``{workload: (metric_name, target[, lower_is_better])}``
  (:meth:`Targets.from_mapping`), which is how the embedded workloads bring
  their own targets; a JSON file may hold the same as
  ``{"workloads": {name: {"target_metric_name", "validation_target_value",
  "lower_is_better"?}}}``, and ``base_workloads`` defaults to all of them.

Whether lower is better, when not given, follows the AlgoPerf scorer's fixed
list of minimised metrics (``loss``, ``wer``, ``ppl``, ...); everything else is
maximised.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sfadamw.errors import UserError
from sfadamw.workloads.base import metric_is_minimized

#: Benchmark versions: (target file in the shared data, studies per workload).
#: v0.5 ran 5 studies and had 6 held-out variants (listed in its target file);
#: the current rules run 3 studies and have no held-out variants.
VERSIONS = {
    "v05": ("workload_targets_v05.json", 5),
    "current": ("workload_targets.json", 3),
}


@dataclass(frozen=True)
class Target:
    """The validation target of one workload."""

    metric: str  #: metric name without prefix, e.g. ``"accuracy"`` (column ``validation/accuracy``)
    value: float
    lower_is_better: bool

    @property
    def column(self) -> str:
        return f"validation/{self.metric}"


@dataclass(frozen=True)
class Targets:
    """Targets of a benchmark: per-workload targets, base workloads, held-out variants."""

    workloads: Mapping[str, Target]
    base: tuple[str, ...]
    held_out: tuple[str, ...] = ()
    num_studies: int | None = None  #: expected studies per workload (None: no check)
    name: str = "custom"

    def __post_init__(self) -> None:
        missing = [w for w in (*self.base, *self.held_out) if w not in self.workloads]
        if missing:
            raise UserError(f"targets {self.name}: no target given for {', '.join(missing)}")
        for variant in self.held_out:
            self.base_of(variant)  # raises if the variant has no base workload

    @property
    def scored(self) -> tuple[str, ...]:
        """The workloads whose times are computed: base workloads and held-out variants."""
        return tuple(sorted({*self.base, *self.held_out}))

    def base_of(self, variant: str) -> str:
        """The base workload a held-out variant belongs to (its name is contained in it)."""
        bases = [b for b in self.base if b in variant]
        if not bases:
            raise UserError(f"targets {self.name}: held-out {variant!r} matches no base workload")
        return max(bases, key=len)

    @classmethod
    def from_mapping(
        cls,
        mapping: Mapping[str, tuple],
        base: tuple[str, ...] | None = None,
        name: str = "custom",
        num_studies: int | None = None,
    ) -> Targets:
        """From ``{workload: (metric_name, target[, lower_is_better])}``; base defaults to all."""
        workloads = {}
        for workload, spec in mapping.items():
            metric, value, *rest = spec
            metric = metric.removeprefix("validation/")
            lower = bool(rest[0]) if rest and rest[0] is not None else metric_is_minimized(metric)
            workloads[workload] = Target(metric, float(value), lower)
        return cls(workloads, tuple(base) if base else tuple(sorted(workloads)),
                   name=name, num_studies=num_studies)


def load_targets(path: str | os.PathLike, num_studies: int | None = None) -> Targets:
    """Read a target file (official format, optionally with ``lower_is_better`` per workload)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        entries = data["workloads"]
        mapping = {
            w: (e["target_metric_name"], e["validation_target_value"], e.get("lower_is_better"))
            for w, e in entries.items()
        }
    except FileNotFoundError:
        raise UserError(f"targets file {path} not found; pass an existing --workload_targets"
                        ) from None
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise UserError(f"targets file {path} is not a valid target file ({e!r}); expected "
                        '{"workloads": {name: {"target_metric_name", "validation_target_value"}}}'
                        ) from None
    targets = Targets.from_mapping(mapping, data.get("base_workloads"), path.name, num_studies)
    return Targets(targets.workloads, targets.base, tuple(data.get("held_out_workloads") or ()),
                   num_studies, path.name)


def shared_dir() -> Path:
    """The project's shared data: ``$SFADAMW_SHARED_DIR``, else ``<repo root>/../shared``."""
    env = os.environ.get("SFADAMW_SHARED_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3].parent / "shared"


def leaderboard_dir() -> Path:
    """The AlgoPerf leaderboard data (tables, target files, expected outputs)."""
    return shared_dir() / "data" / "algoperf_leaderboards"


def version_targets(version: str, path: str | os.PathLike | None = None) -> Targets:
    """The targets of a benchmark version, optionally from another target file ``path``."""
    if version not in VERSIONS:
        raise UserError(f"unknown --version {version!r}; choose one of {', '.join(VERSIONS)}")
    filename, num_studies = VERSIONS[version]
    if path is None:
        path = leaderboard_dir() / "targets" / filename
        if not path.is_file():
            raise UserError(f"official target file {path} not found; set SFADAMW_SHARED_DIR "
                            "or pass --workload_targets")
    return load_targets(path, num_studies)


__all__ = ["Target", "Targets", "load_targets", "version_targets", "VERSIONS"]
