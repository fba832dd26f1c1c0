"""Regenerate results/leaderboards/ from the public AlgoPerf logs in the shared data.

For each leaderboard it runs ``sfadamw score`` on the compact table (its
warnings saved as warnings.txt next to the outputs), then writes
schedule_free_vs_baseline.csv: per workload, the time to target (median over
studies, before the held-out gate and 4x cut) of each Schedule-Free entry
against the baseline, their ratio where both reached the target (< 1:
Schedule-Free faster), and which of them reached it.

    python scripts/make_leaderboard_results.py [--output_dir results/leaderboards]
"""

from __future__ import annotations

import argparse
import contextlib
import io
from pathlib import Path

import numpy as np
import pandas as pd

from sfadamw import cli
from sfadamw.scoring.output import atomic_write, write_csv
from sfadamw.scoring.targets import leaderboard_dir

V06_TARGETS = "workload_targets_v06_8workloads_DERIVED.json"
#: output folder -> (table, version, target file, self-tuning)
LEADERBOARDS = {
    "v05_self_tuning": ("v05_self_tuning.csv.gz", "v05", "workload_targets_v05.json", True),
    "v06_external_tuning": ("v06_external_tuning.csv.gz", "current", V06_TARGETS, False),
    "v06_self_tuning": ("v06_self_tuning.csv.gz", "current", V06_TARGETS, True),
}
#: (leaderboard, Schedule-Free entry) against (leaderboard, baseline entry)
COMPARISONS = [
    (("v05_self_tuning", "schedule_free_adamw"), ("v05_self_tuning", "baseline")),
    (("v06_self_tuning", "schedule_free_adamw_v2"), ("v06_external_tuning", "baseline")),
]


def score(name: str, out: Path) -> None:
    table, version, targets, self_tuning = LEADERBOARDS[name]
    data = leaderboard_dir()
    argv = ["score", "--table", str(data / table), "--version", version,
            "--workload_targets", str(data / "targets" / targets),
            "--compute_performance_profiles", "--output_dir", str(out / name)]
    if self_tuning:
        argv.append("--self_tuning_ruleset")
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = cli.main(argv)
    if code:
        raise SystemExit(f"sfadamw {' '.join(argv)} failed:\n{stderr.getvalue()}")
    warnings = stderr.getvalue().replace(str(data) + "/", "")
    atomic_write(out / name / "warnings.txt", lambda tmp: tmp.write_text(warnings))
    print(f"== {name}\n{stdout.getvalue()}")


def comparison(out: Path) -> pd.DataFrame:
    rows = []
    for (sf_board, sf), (base_board, base) in COMPARISONS:
        sf_times = pd.read_csv(out / sf_board / "time_to_targets.csv", index_col=0).loc[sf]
        base_times = pd.read_csv(out / base_board / "time_to_targets.csv", index_col=0).loc[base]
        for workload in sf_times.index.intersection(base_times.index):
            s, b = sf_times[workload], base_times[workload]
            reached = {(True, True): "both", (True, False): "schedule_free only",
                       (False, True): "baseline only", (False, False): "neither"}
            rows.append({"schedule_free_leaderboard": sf_board, "schedule_free": sf,
                         "baseline_leaderboard": base_board, "workload": workload,
                         "schedule_free_time_s": s, "baseline_time_s": b,
                         "ratio": s / b if np.isfinite(s) and np.isfinite(b) else np.nan,
                         "reached": reached[bool(np.isfinite(s)), bool(np.isfinite(b))]})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output_dir", default="results/leaderboards")
    out = Path(parser.parse_args().output_dir)
    for name in LEADERBOARDS:
        score(name, out)
    table = comparison(out)
    write_csv(table, out / "schedule_free_vs_baseline.csv", index=False)
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
