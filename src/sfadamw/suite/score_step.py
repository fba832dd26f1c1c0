"""The suite's last step: score its experiment directory with ``sfadamw score``.

The scorer reads ``--submission_directory`` (one folder per submission, as the suite
writes them), applies the rules of ``--version`` (``v05`` or ``current``) and, for
self-tuning, expects one trial per study. Official workloads are scored against the
version's target file; embedded workloads bring their own targets, which are written
to ``<out_dir>/workload_targets.json`` (the official file format, plus
``lower_is_better``) and passed as ``--workload_targets``.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

from sfadamw import official_workloads as official

SCORER_VERSIONS = {"v0.5": "v05", "current": "current"}


def _workload(name: str, framework: str):
    if ":" in name:
        module, cls = name.split(":", 1)
        return getattr(importlib.import_module(module), cls)()
    from sfadamw.workloads import get_workload

    return get_workload(name, framework)


def embedded_targets(workloads: tuple[str, ...], framework: str) -> dict:
    """Target file content for the embedded workloads (by the runner's folder names)."""
    entries = {}
    for name in workloads:
        w = _workload(name, framework)
        entries[w.name] = {
            "target_metric_name": w.target_metric_name,
            "validation_target_value": float(w.validation_target_value),
            "lower_is_better": bool(w.target_metric_lower_is_better),
        }
    return {"base_workloads": sorted(entries), "held_out_workloads": [], "workloads": entries}


def scorer_argv(
    ruleset: str, version: str, experiment_dir: Path, out_dir: Path, targets: Path | None
) -> list[str]:
    argv = [
        f"--submission_directory={experiment_dir}",
        f"--version={SCORER_VERSIONS[version]}",
        f"--output_dir={out_dir}",
        "--compute_performance_profiles",
    ]
    if ruleset == "self":
        argv.append("--self_tuning_ruleset")
    if targets is not None:
        argv.append(f"--workload_targets={targets}")
    return argv


def score(
    ruleset: str,
    version: str,
    workloads: tuple[str, ...],
    framework: str,
    experiment_dir: Path,
    out_dir: Path,
    extra: list[str],
) -> int:
    """Run the scorer; its exit status (2 with a message when it is not installed)."""
    try:
        from sfadamw.scoring import cli as scoring_cli
    except ModuleNotFoundError:
        print(
            "sfadamw suite: the scorer (sfadamw.scoring) is not installed; score later with: "
            f"sfadamw score --submission_directory={experiment_dir}",
            file=sys.stderr,
        )
        return 2
    targets = None
    embedded = tuple(w for w in workloads if not official.is_official(w))
    if embedded:
        out_dir.mkdir(parents=True, exist_ok=True)
        targets = out_dir / "workload_targets.json"
        tmp = targets.with_name(f".{targets.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(embedded_targets(embedded, framework), indent=1) + "\n")
        tmp.replace(targets)
    argv = scorer_argv(ruleset, version, experiment_dir, out_dir, targets) + extra
    print("sfadamw score " + " ".join(argv), flush=True)
    return int(scoring_cli.main(argv) or 0)
