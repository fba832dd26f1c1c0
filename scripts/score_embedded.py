"""Score an embedded-suite experiment directory and tabulate ours against the baseline.

    PYTHONPATH=src python scripts/score_embedded.py EXPERIMENT_DIR OUT_DIR

EXPERIMENT_DIR holds one folder per submission (as `sfadamw suite` writes them:
<submission>/study_<s>/<workload>_pytorch/trial_1/). Runs `sfadamw score` with the
embedded workloads' own targets (self-tuning rules, current version) into OUT_DIR,
then writes OUT_DIR/comparison.md: per workload, each study's time to target of
both submissions, the median (the workload's time) and the ratio.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import pandas as pd

from sfadamw.suite import score_step
from sfadamw.workloads import available


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--ours", default="schedule_free_adamw")
    parser.add_argument("--baseline", default="nadamw")
    args = parser.parse_args(argv)
    workloads = tuple(n for n, f in available().items() if "pytorch" in f)
    rc = score_step.score("self", "current", workloads, "pytorch", args.experiment_dir,
                          args.out_dir, [])
    if rc != 0:
        return rc
    studies = pd.read_csv(args.out_dir / "study_times.csv")
    times = pd.read_csv(args.out_dir / "time_to_targets.csv", index_col=0)
    lines = [
        f"| workload | {args.ours}: per study (s) | median | {args.baseline}: per study (s) "
        "| median | ratio (ours / baseline) |",
        "|---|---|---:|---|---:|---:|",
    ]

    def per_study(submission: str, workload: str) -> str:
        rows = studies[(studies["submission"] == submission) & (studies["workload"] == workload)]
        if rows.empty:
            return "not run"
        return ", ".join("inf" if math.isinf(t) else f"{t:.1f}" for t in rows["time"])

    for workload in workloads:
        ours = times.loc[args.ours, workload] if workload in times else float("nan")
        base = times.loc[args.baseline, workload] if (
            workload in times and args.baseline in times.index) else float("nan")
        ratio = ours / base if math.isfinite(ours) and math.isfinite(base) else float("nan")
        lines.append(
            f"| {workload} | {per_study(args.ours, workload)} | {ours:.1f} "
            f"| {per_study(args.baseline, workload)} | {base:.1f} | "
            f"{'-' if math.isnan(ratio) else f'{ratio:.2f}'} |"
        )
    (args.out_dir / "comparison.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
