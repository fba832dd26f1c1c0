"""How long ``sfadamw score`` takes on the whole v0.5 self-tuning leaderboard.

The compact table is first expanded into the harness layout (399 trials, 63,080
evals; untimed), then ``sfadamw score`` runs on that folder, as on the official
logs, with profiles and plots written; then on the compact table itself. Each
is timed ``--repeats`` times in this process (imports excluded); wall-clock min
and median and the CPU time are printed (CPU time is less sensitive to a busy
machine).

    python benchmarks/score_speed.py            # needs the shared data (SFADAMW_SHARED_DIR)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import tempfile
import time
from pathlib import Path

from sfadamw import cli
from sfadamw.scoring.logs import write_harness_layout
from sfadamw.scoring.targets import leaderboard_dir


def timed(argv: list[str], repeats: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds of each run."""
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            assert cli.main(argv) == 0
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data = leaderboard_dir()
    table = data / "v05_self_tuning.csv.gz"
    with tempfile.TemporaryDirectory() as tmp:
        logs = Path(tmp) / "self_tuning"
        trials = write_harness_layout(table, logs)
        common = ["--version", "v05", "--workload_targets",
                  str(data / "targets" / "workload_targets_v05.json"), "--self_tuning_ruleset",
                  "--compute_performance_profiles"]
        runs = {
            f"harness layout ({trials} trials)": ["score", "--submission_directory", str(logs),
                                                  "--output_dir", f"{tmp}/out1", *common],
            "compact table": ["score", "--table", str(table), "--output_dir", f"{tmp}/out2",
                              *common],
        }
        for name, argv in runs.items():
            wall, cpu = timed(argv, args.repeats)
            print(f"sfadamw score, v0.5 self-tuning, {name}: wall min {min(wall):.2f} s, "
                  f"median {statistics.median(wall):.2f} s; CPU min {min(cpu):.2f} s "
                  f"({len(wall)} runs)")


if __name__ == "__main__":
    main()
