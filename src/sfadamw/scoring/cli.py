"""``sfadamw score``: score experiment logs by the AlgoPerf rules.

Flags follow the official scorer (``scoring/score_submissions.py``):

    sfadamw score --submission_directory logs/self_tuning --version v05 \\
        --self_tuning_ruleset --compute_performance_profiles --output_dir out/

or, for a compact leaderboard table of ``shared/data/algoperf_leaderboards``,
``--table v05_self_tuning.csv.gz`` instead of ``--submission_directory``.
``--workload_targets`` replaces the version's target file (official format, or
a file of the embedded workloads' own targets, see :mod:`sfadamw.scoring.targets`).

Problems in the logs are printed as warnings (each naming the file and what was
assumed); with ``--strict`` the first one is an error (exit code 2).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from sfadamw.scoring.logs import Issues, check_counts, read_experiment_dir, read_table
from sfadamw.scoring.output import write_result
from sfadamw.scoring.rules import Result, score_logs
from sfadamw.scoring.targets import VERSIONS, version_targets


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sfadamw score", description=__doc__.split("\n")[0])
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--submission_directory", help="ruleset folder: one folder per "
                        "submission, <submission>/<study>/<workload>_<framework>/trial_<k>/")
    source.add_argument("--table", help="compact leaderboard table (.csv or .csv.gz)")
    p.add_argument("--version", choices=list(VERSIONS), default="current",
                   help="benchmark rules: v05 (5 studies, held-out variants) or current "
                        "(3 studies, no held-out variants); default current")
    p.add_argument("--workload_targets", help="target file to use instead of the version's")
    p.add_argument("--self_tuning_ruleset", action="store_true",
                   help="self-tuning logs: 1 trial per study is expected (external: 5)")
    p.add_argument("--strict", action="store_true",
                   help="any problem in the logs is an error (exit code 2)")
    p.add_argument("--output_dir", help="write the CSV tables (and plots) here")
    p.add_argument("--compute_performance_profiles", action="store_true",
                   help="also write performance_profile.csv, .png and .pdf")
    return p


def format_result(result: Result) -> str:
    """The scores and the time-to-target table (seconds) as text."""
    scores = result.scores.sort_values(ascending=False)
    times = result.time_to_targets.loc[scores.index].T.apply(
        lambda column: column.map(lambda t: "" if np.isnan(t) else f"{t:.1f}"))
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        return (scores.map("{:.4f}".format).to_frame().to_string()
                + "\n\ntime to target (s):\n" + times.to_string())


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    targets = version_targets(args.version, args.workload_targets)
    issues = Issues(strict=args.strict)
    if args.table:
        logs = read_table(args.table, targets, issues)
    else:
        logs = read_experiment_dir(args.submission_directory, targets, issues)
    check_counts(logs, targets, args.self_tuning_ruleset, issues)
    for message in issues.messages:
        print(f"sfadamw score: warning: {message}", file=sys.stderr)
    result = score_logs(logs, targets)
    print(format_result(result))
    if args.output_dir:
        title = f"{Path(logs.origin).name} ({targets.name})"
        for path in write_result(result, args.output_dir, args.compute_performance_profiles,
                                 title):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
