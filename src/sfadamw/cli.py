"""The ``sfadamw`` command: one subcommand per job, each in its own module.

    sfadamw run     train a workload with a submission (embedded runner, or the harness)
    sfadamw score   score experiment directories (time to target, profiles, scores)
    sfadamw bench   benchmarks (e.g. ``sfadamw bench step``)
    sfadamw suite   plan and run the whole benchmark, then score it
    sfadamw export  write submission folders for mlcommons/submissions_algorithms

Each subcommand module has ``main(argv) -> int``; user errors
(:class:`sfadamw.errors.UserError`) become one line on stderr and exit code 2.
"""

from __future__ import annotations

import importlib
import sys

from sfadamw.errors import UserError

SUBCOMMANDS = {
    "run": ("sfadamw.runner.cli", "train a workload with a submission"),
    "score": ("sfadamw.scoring.cli", "score experiment directories"),
    "bench": ("sfadamw.bench", "run a benchmark (bench step)"),
    "suite": ("sfadamw.suite", "run the whole benchmark and score it"),
    "export": ("sfadamw.export", "export MLCommons submission folders"),
}


def _usage() -> str:
    lines = ["usage: sfadamw <command> [flags]", "", "commands:"]
    lines += [f"  {name:<8} {help_}" for name, (_, help_) in SUBCOMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    command, rest = argv[0], argv[1:]
    if command not in SUBCOMMANDS:
        print(f"sfadamw: unknown command {command!r}\n{_usage()}", file=sys.stderr)
        return 2
    try:
        module = importlib.import_module(SUBCOMMANDS[command][0])
    except ModuleNotFoundError as e:
        print(f"sfadamw {command}: not available ({e})", file=sys.stderr)
        return 2
    try:
        return int(module.main(rest) or 0)
    except UserError as e:
        print(f"sfadamw {command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
