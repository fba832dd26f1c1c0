"""One submission folder for mlcommons/submissions_algorithms, generated from this repository.

The folder (``submissions/<ruleset>_tuning/<name>/`` in that repository) holds:

``__init__.py``, ``submission.py``
    the AlgoPerf v0.6 API; ``submission.py`` takes the five functions from the
    vendored package, as the repository's thin module
    ``submissions/<ruleset>_tuning/<variant>/<framework>/submission.py`` does from
    ``sfadamw``.
``_sfadamw/``
    the modules of ``src/sfadamw`` the submission imports (:mod:`sfadamw.export.vendor`),
    every ``from sfadamw...`` made relative. The AlgoPerf harness imports a submission
    by module path (``submission_runner.py`` turns ``--submission_path a/b/submission.py``
    into ``a.b.submission`` and calls ``importlib.import_module``; the working group
    mounts the leaderboard repository under a prefix of its own), so relative
    imports work wherever the folder sits, while absolute ones would tie it to one
    path or to ``sys.path``. Loaded from its file path instead (``sfadamw run
    --submission_path .../submission.py``), ``submission.py`` first registers its
    folder as a package under a name derived from the path.
``tuning_search_space.json`` (external tuning)
    copied byte for byte from ``submissions/external_tuning/<variant>/``.
``submission_info.yml``, ``README.md``
    metadata and a short description.

No requirements file: the PyTorch folder needs torch, the JAX folder jax and optax
(only APIs present in optax 0.2.2, the harness's pin), both in the harness image.

Every generated file carries the sfadamw version and the git commit it came from
(``+dirty`` when an exported source differs from that commit); nothing depends
on time or on absolute paths, so exporting twice gives identical bytes.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import sfadamw
from sfadamw.errors import UserError
from sfadamw.export import vendor

RULESETS = ("external", "self")
FRAMEWORKS = ("pytorch", "jax")
FRAMEWORK_NAMES = {"pytorch": "PyTorch", "jax": "JAX"}
VENDOR_PACKAGE = "_sfadamw"
DEFAULT_AUTHORS = "sfadamw developers"


@dataclass(frozen=True)
class Provenance:
    """Where exported code comes from: the package version and the git commit."""

    version: str
    commit: str


@dataclass(frozen=True)
class ExportSpec:
    """What to export and the metadata of ``submission_info.yml``."""

    ruleset: str
    framework: str
    variant: str
    name: str
    authors: str = DEFAULT_AUTHORS
    affiliations: str = ""
    submission_name: str | None = None  # default: from the thin module's docstring
    description: str | None = None  # default: its first paragraph
    version: str | None = None  # default: the sfadamw version


def repo_root() -> Path:
    """The checkout holding ``src/sfadamw`` and ``submissions/`` (exports need both)."""
    root = Path(sfadamw.__file__).resolve().parents[2]
    if not (root / "submissions").is_dir() or not (root / "src" / "sfadamw").is_dir():
        raise UserError(
            "sfadamw export needs the repository checkout (src/sfadamw and submissions/); "
            f"sfadamw is imported from {Path(sfadamw.__file__).parent}, which is not one"
        )
    return root


def default_name(variant: str, framework: str) -> str:
    """``schedule_free_adamw_v2`` in JAX -> ``sfadamw_v2_jax`` (not a leaderboard folder name)."""
    return variant.replace("schedule_free_adamw", "sfadamw", 1) + f"_{framework}"


def thin_module(root: Path, ruleset: str, variant: str, framework: str) -> Path:
    return root / "submissions" / f"{ruleset}_tuning" / variant / framework / "submission.py"


def available(root: Path) -> list[tuple[str, str, str]]:
    """Every ``(ruleset, framework, variant)`` the repository has a submission module for."""
    found = []
    for ruleset in RULESETS:
        for path in sorted((root / "submissions" / f"{ruleset}_tuning").glob("*/*/submission.py")):
            variant, framework = path.parts[-3], path.parts[-2]
            if framework in FRAMEWORKS:
                found.append((ruleset, framework, variant))
    return sorted(found)


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def provenance(root: Path, sources: list[Path]) -> Provenance:
    """The sfadamw version and the commit; ``+dirty`` if any of ``sources`` differs from it."""
    commit = _git(root, "rev-parse", "HEAD") or "unknown"
    if commit != "unknown":
        relative = [p.relative_to(root).as_posix() for p in sources]
        status = _git(root, "status", "--porcelain", "--", *relative)
        if status is None or status:
            commit += "+dirty"
    return Provenance(sfadamw.__version__, commit)


def _docstring_parts(path: Path) -> tuple[str, str]:
    """The thin module's title (first paragraph up to its parenthesis) and first paragraph."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    first = " ".join(doc.split("\n\n")[0].split())
    title = first.split(" (")[0].rstrip(".")
    return title, first


def _yaml_file(fields: dict[str, str]) -> str:
    """``key: "value"`` lines; JSON strings are valid YAML double-quoted scalars."""
    return "".join(f"{k}: {json.dumps(v, ensure_ascii=False)}\n" for k, v in fields.items())


def build(spec: ExportSpec, root: Path | None = None) -> dict[str, bytes]:
    """The files of the folder: ``{path relative to the folder: bytes}``, sorted."""
    root = root or repo_root()
    if (spec.ruleset, spec.framework, spec.variant) not in available(root):
        listing = ", ".join(f"{v} ({r}, {f})" for r, f, v in available(root))
        raise UserError(
            f"no {spec.framework} {spec.ruleset}-tuning submission of {spec.variant!r}; "
            f"available: {listing}"
        )
    thin = thin_module(root, spec.ruleset, spec.variant, spec.framework)
    space = root / "submissions" / "external_tuning" / spec.variant / "tuning_search_space.json"
    entries = [f"sfadamw.algoperf.{spec.framework}_submission", "sfadamw.algoperf.variants"]
    modules, _ = vendor.closure(root / "src", entries)
    sources = [m.path for m in modules.values()] + [thin]
    if spec.ruleset == "external":
        sources.append(space)
    prov = provenance(root, sorted(set(sources)))
    stamp = f"sfadamw {prov.version} (commit {prov.commit})"
    header = (
        f"# Vendored by `sfadamw export` from {{source}} of {stamp}.\n"
        "# Generated file: do not edit; change the source and export again.\n"
    )
    root_init = (
        f"# Generated by `sfadamw export` from {stamp}; do not edit.\n"
        f'"""Vendored subset of sfadamw {prov.version}: the modules this submission imports."""\n'
        f"\nVERSION = {prov.version!r}\nCOMMIT = {prov.commit!r}\n"
    )
    title, first = _docstring_parts(thin)
    framework = FRAMEWORK_NAMES[spec.framework]
    files: dict[str, str] = {
        f"{VENDOR_PACKAGE}/{path}": text
        for path, text in vendor.vendor(root / "src", entries, header, root_init).items()
    }
    files["__init__.py"] = f"# Generated by `sfadamw export` from {stamp}; do not edit.\n"
    files["submission.py"] = _submission_py(spec, stamp, first)
    info = {
        "submission_name": spec.submission_name or f"{title} ({framework})",
        "submission_folder": f"submissions/{spec.ruleset}_tuning/{spec.name}",
        "authors": spec.authors,
        "affiliations": spec.affiliations,
        "version": spec.version or prov.version,
        "ruleset": f"{spec.ruleset}-tuning",
        "framework": framework,
        "description": spec.description or first,
    }
    files["submission_info.yml"] = f"# Generated by `sfadamw export` from {stamp}.\n" + _yaml_file(
        info
    )
    files["README.md"] = _readme(spec, info, prov)
    out = {path: text.encode("utf-8") for path, text in files.items()}
    if spec.ruleset == "external":
        out["tuning_search_space.json"] = space.read_bytes()
    return dict(sorted(out.items()))


def _submission_py(spec: ExportSpec, stamp: str, first: str) -> str:
    return f'''# Generated by `sfadamw export` from {stamp}.
# Do not edit: change the sources in the sfadamw repository and export again.
"""{first}

AlgoPerf v0.6 submission API, {spec.ruleset}-tuning ruleset, {FRAMEWORK_NAMES[spec.framework]}.
The five functions come from ``{VENDOR_PACKAGE}/algoperf/{spec.framework}_submission.py``
beside this file, for the variant
``{VENDOR_PACKAGE}.algoperf.variants.VARIANTS[("{spec.variant}", "{spec.ruleset}")]``.

The harness imports this file as a package module, e.g.
``submissions.{spec.ruleset}_tuning.{spec.name}.submission``, under whatever prefix the
folder sits, and the vendored package is imported relative to it. Loaded from its file
path instead (no parent package), the folder is first registered as a package under a
name derived from its path.
"""

import importlib


def _package() -> str:
    """The package this folder is imported as."""
    if __package__:
        return __package__
    import hashlib
    import importlib.util
    import os
    import sys

    folder = os.path.dirname(os.path.abspath(__file__))
    name = "_sfadamw_export_" + hashlib.sha256(folder.encode()).hexdigest()[:16]
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, os.path.join(folder, "__init__.py"), submodule_search_locations=[folder]
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return name


_VENDORED = importlib.import_module(f"{{_package()}}.{VENDOR_PACKAGE}")
_API = importlib.import_module(f"{{_VENDORED.__name__}}.algoperf.{spec.framework}_submission")
_VARIANTS = importlib.import_module(f"{{_VENDORED.__name__}}.algoperf.variants")

VERSION = _VENDORED.VERSION
COMMIT = _VENDORED.COMMIT

_SUBMISSION = _API.make_submission(_VARIANTS.get_variant("{spec.variant}", "{spec.ruleset}"))

get_batch_size = _SUBMISSION.get_batch_size
init_optimizer_state = _SUBMISSION.init_optimizer_state
update_params = _SUBMISSION.update_params
prepare_for_eval = _SUBMISSION.prepare_for_eval
data_selection = _SUBMISSION.data_selection
'''


def _readme(spec: ExportSpec, info: dict[str, str], prov: Provenance) -> str:
    folder = info["submission_folder"]
    search = (
        f"    --tuning_search_space={folder}/tuning_search_space.json \\\n"
        if spec.ruleset == "external"
        else ""
    )
    files = [
        "- `submission.py`: the AlgoPerf v0.6 API (`get_batch_size`, `init_optimizer_state`,",
        "  `update_params`, `prepare_for_eval`, `data_selection`).",
        f"- `{VENDOR_PACKAGE}/`: the sfadamw modules it needs (optimizer, schedule, submission",
        "  logic), imported relatively; nothing needs to be installed besides the harness.",
    ]
    if spec.ruleset == "external":
        files.append("- `tuning_search_space.json`: the external-tuning search space.")
    files.append("- `submission_info.yml`: the leaderboard metadata.")
    return (
        f"# {info['submission_name']}\n\n"
        f"{info['description']}\n\n"
        f"Ruleset: {info['ruleset']}. Framework: {info['framework']}. "
        "API: AlgoPerf v0.6 (`prepare_for_eval`, `train_state`).\n\n"
        f"Generated by `sfadamw export` from sfadamw {prov.version}, commit `{prov.commit}`\n"
        f"(variant `{spec.variant}`); do not edit. Regenerate with\n\n"
        "```bash\n"
        f"sfadamw export --ruleset {spec.ruleset} --framework {spec.framework} "
        f"--variant {spec.variant} --name {spec.name} --output_dir OUT\n"
        "```\n\n"
        "## Files\n\n" + "\n".join(files) + "\n\n"
        "## Run with the AlgoPerf harness\n\n"
        "From the root of mlcommons/algorithmic-efficiency, with this folder at the same\n"
        "relative path (no extra requirements: the harness provides "
        + ("torch" if spec.framework == "pytorch" else "jax and optax >= 0.2.2")
        + "):\n\n"
        "```bash\n"
        "python3 submission_runner.py \\\n"
        f"    --framework={spec.framework} --workload=mnist \\\n"
        f"    --submission_path={folder}/submission.py \\\n"
        f"    --tuning_ruleset={spec.ruleset} \\\n"
        f"{search}"
        "    --data_dir=$HOME/data --experiment_dir=$HOME/experiments \\\n"
        f"    --experiment_name={spec.name}\n"
        "```\n"
    )


def write(files: dict[str, bytes], dest: Path, overwrite: bool = False) -> None:
    """Write the folder atomically: into a temporary sibling, then one rename.

    Raises UserError if ``dest`` exists (unless ``overwrite``) or cannot be written.
    """
    if dest.exists() and not overwrite:
        raise UserError(f"{dest} exists; pass --overwrite to replace it")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    except OSError as e:
        raise UserError(f"cannot write {dest}: {e.strerror}") from None
    try:
        for relative, data in files.items():
            path = tmp / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        for directory in [tmp, *(p for p in tmp.rglob("*") if p.is_dir())]:
            os.chmod(directory, 0o755)
        for file in (p for p in tmp.rglob("*") if p.is_file()):
            os.chmod(file, 0o644)
        if dest.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old.", dir=dest.parent))
            os.replace(dest, old / dest.name)
            os.replace(tmp, dest)
            shutil.rmtree(old)
        else:
            os.replace(tmp, dest)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise UserError(f"cannot write {dest}: {e.strerror}") from None
