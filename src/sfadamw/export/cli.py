"""``sfadamw export``: write submission folders ready for mlcommons/submissions_algorithms.

    sfadamw export --ruleset self --framework pytorch --variant schedule_free_adamw \\
        --output_dir out [--name NAME] [--authors "A, B"] [--affiliations "X, Y"]
    sfadamw export --all --output_dir out          # every ruleset x framework x variant

Each folder goes to ``<output_dir>/submissions/<ruleset>_tuning/<name>/``, the path
it takes in that repository, so ``cp -r <output_dir>/submissions <fork>/`` places
it (see :mod:`sfadamw.export.folder` for the contents). ``--all`` exports every
combination the repository has a submission module for, narrowed by whichever of
``--ruleset/--framework/--variant`` are given, under the default names.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from sfadamw.errors import UserError
from sfadamw.export import folder

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sfadamw export",
        description="Write self-contained AlgoPerf submission folders "
        "(mlcommons/submissions_algorithms layout).",
    )
    p.add_argument("--ruleset", choices=folder.RULESETS)
    p.add_argument("--framework", choices=folder.FRAMEWORKS)
    p.add_argument("--variant", help="schedule_free_adamw (ours), schedule_free_adamw_v05, _v2")
    p.add_argument("--output_dir", required=True, help="folders go to DIR/submissions/...")
    p.add_argument("--name", help="folder name (default: sfadamw[_v05|_v2]_<framework>)")
    p.add_argument("--all", action="store_true", help="every available ruleset/framework/variant")
    p.add_argument("--authors", default=folder.DEFAULT_AUTHORS)
    p.add_argument("--affiliations", default="")
    p.add_argument("--submission_name", help="display name (default: from the module docstring)")
    p.add_argument("--description", help="default: the submission module's first paragraph")
    p.add_argument("--submission_version", help="submission_info.yml version (default: sfadamw's)")
    p.add_argument("--overwrite", action="store_true", help="replace existing folders")
    return p


def _selection(args: argparse.Namespace, root: Path) -> list[tuple[str, str, str]]:
    available = folder.available(root)
    if args.all:
        if args.name:
            raise UserError("--name names one folder; with --all the default names are used")
        chosen = [
            (r, f, v)
            for r, f, v in available
            if args.ruleset in (None, r)
            and args.framework in (None, f)
            and args.variant in (None, v)
        ]
        if not chosen:
            raise UserError("no submission matches the given --ruleset/--framework/--variant")
        return chosen
    missing = [f"--{k}" for k in ("ruleset", "framework", "variant") if getattr(args, k) is None]
    if missing:
        raise UserError(f"pass {', '.join(missing)} (or --all)")
    return [(args.ruleset, args.framework, args.variant)]


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.name is not None and not _NAME.fullmatch(args.name):
        raise UserError(f"--name {args.name!r} must be a Python identifier (it is a module path)")
    root = folder.repo_root()
    out = Path(args.output_dir)
    if not args.affiliations:
        print("sfadamw export: note: no --affiliations; left empty", file=sys.stderr)
    for ruleset, framework, variant in _selection(args, root):
        spec = folder.ExportSpec(
            ruleset=ruleset,
            framework=framework,
            variant=variant,
            name=args.name or folder.default_name(variant, framework),
            authors=args.authors,
            affiliations=args.affiliations,
            submission_name=args.submission_name,
            description=args.description,
            version=args.submission_version,
        )
        files = folder.build(spec, root)
        dest = out / "submissions" / f"{ruleset}_tuning" / spec.name
        folder.write(files, dest, overwrite=args.overwrite)
        print(f"wrote {dest} ({len(files)} files)")
    return 0
