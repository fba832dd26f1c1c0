"""``sfadamw export``: every variant exported, deterministic, self-contained, and it trains.

The folders are run by tests/export_driver.py with the interpreter of a fresh
virtual environment (``python -m venv --without-pip``) whose site-packages holds
one ``.pth`` line naming this environment's site-packages: torch, jax and the other
third-party packages import, but that directory's own ``.pth`` files, among them the
editable ``sfadamw`` hook, are not processed, so ``sfadamw`` is not installed there
(the driver checks). The runner and the workloads come from ``src`` by path, after
every folder has been imported and behind a guard that fails any ``sfadamw`` import
made from inside the export. Each folder's 2 steps and eval must give exactly the
metrics of the repository's own module of that variant: PyTorch without ``algoperf``
(as ``sfadamw run`` sees it), JAX with a stand-in ``algoperf.spec`` (as the harness).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import sfadamw
from sfadamw.algoperf import variants
from sfadamw.cli import main as cli_main
from sfadamw.errors import UserError
from sfadamw.export import folder, vendor
from sfadamw.workload_settings import batch_size

ROOT = Path(__file__).resolve().parents[1]
DRIVER = Path(__file__).with_name("export_driver.py")
EXPECTED = sorted(
    [(r, "pytorch", v) for v, r in variants.VARIANTS]
    + [(r, "jax", "schedule_free_adamw") for r in folder.RULESETS]
)


def _export(out: Path) -> None:
    assert cli_main(["export", "--all", "--output_dir", str(out)]) == 0


def _folders(out: Path) -> dict[tuple[str, str, str], Path]:
    return {
        (r, f, v): out / "submissions" / f"{r}_tuning" / folder.default_name(v, f)
        for r, f, v in EXPECTED
    }


def _tree(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in path.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export_a")
    _export(out)
    return out


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory) -> str:
    venv = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    paths = sysconfig.get_paths()
    site = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    lines = sorted({paths["purelib"], paths["platlib"]})
    Path(site, "_third_party.pth").write_text("\n".join(lines) + "\n")
    return str(venv / "bin" / "python")


def _drive(python: str, cwd: Path, *args: str, timeout: int = 600) -> dict:
    """Run the driver; one thread each (2 shared cores), JAX compilations cached on disk
    so that a folder and the repository module it mirrors (same programs) compile once."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(
        OMP_NUM_THREADS="1",
        PYTHONDONTWRITEBYTECODE="1",
        JAX_PLATFORMS="cpu",
        XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
        JAX_COMPILATION_CACHE_DIR=str(cwd.parent / "jax_cache"),
        JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
        JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0",
    )
    proc = subprocess.run(
        [python, str(DRIVER), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-3000:] + proc.stderr[-5000:]
    return json.loads(lines[-1][len("RESULT ") :])


def test_every_variant_is_exported_with_its_files(exported):
    assert folder.available(ROOT) == EXPECTED
    for (ruleset, framework, variant), path in _folders(exported).items():
        files = set(_tree(path))
        required = {"__init__.py", "submission.py", "submission_info.yml", "README.md"}
        assert required <= files, path
        assert ("tuning_search_space.json" in files) == (ruleset == "external")
        assert not any(f.startswith("requirements") for f in files)
        if ruleset == "external":
            source = ROOT / "submissions" / "external_tuning" / variant / "tuning_search_space.json"
            assert (path / "tuning_search_space.json").read_bytes() == source.read_bytes()
        info = _read_info(path / "submission_info.yml")
        assert info["submission_folder"] == f"submissions/{ruleset}_tuning/{path.name}"
        assert info["ruleset"] == {"self": "self-tuning", "external": "external-tuning"}[ruleset]
        assert info["framework"] == {"pytorch": "PyTorch", "jax": "JAX"}[framework]
        assert info["version"] == sfadamw.__version__
        assert info["authors"] and info["description"] and info["submission_name"]
        other = "jax" if framework == "pytorch" else "torch"
        assert not any(f.startswith(f"_sfadamw/{other}/") for f in files)


def _read_info(path: Path) -> dict[str, str]:
    """submission_info.yml: each line ``key: <JSON string>`` (valid YAML), comments aside."""
    text = path.read_text(encoding="utf-8")
    info = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.partition(": ")
        info[key] = json.loads(value)
    try:
        import yaml
    except ImportError:
        return info
    assert yaml.safe_load(text) == info
    return info


def test_metadata_flags_override(tmp_path):
    argv = [
        "export",
        "--ruleset",
        "external",
        "--framework",
        "jax",
        "--variant",
        "schedule_free_adamw",
        "--name",
        "my_sf",
        "--authors",
        "A. Author, B. Author",
        "--affiliations",
        'Lab: "X"',
        "--submission_version",
        "2.1",
        "--description",
        "Line one.",
        "--output_dir",
        str(tmp_path),
    ]
    assert cli_main(argv) == 0
    info = _read_info(
        tmp_path / "submissions" / "external_tuning" / "my_sf" / "submission_info.yml"
    )
    assert info["authors"] == "A. Author, B. Author"
    assert info["affiliations"] == 'Lab: "X"'
    assert info["version"] == "2.1"
    assert info["description"] == "Line one."
    assert info["submission_folder"] == "submissions/external_tuning/my_sf"


def test_export_is_deterministic(exported, tmp_path):
    _export(tmp_path)
    first, second = _tree(exported), _tree(tmp_path)
    assert sorted(first) == sorted(second)
    assert [k for k in first if first[k] != second[k]] == []


def test_no_absolute_paths(exported):
    needles = {str(exported), str(ROOT), str(ROOT.resolve()), str(Path(sys.prefix)), "/tmp/"}
    home = os.path.expanduser("~")
    needles |= {home + os.sep} if home not in ("", os.sep) else set()
    for name, data in _tree(exported).items():
        text = data.decode("utf-8")
        assert not [n for n in needles if n in text], name


def _resolve(node: ast.ImportFrom, package: str) -> str:
    if node.level == 0:
        return node.module or ""
    return importlib.util.resolve_name("." * node.level + (node.module or ""), package)


def test_vendored_code_never_imports_sfadamw_nor_leaves_the_folder(exported):
    for path in _folders(exported).values():
        for file in path.rglob("*.py"):
            relative = file.relative_to(path.parent).with_suffix("")
            parts = list(relative.parts)
            package = ".".join(parts if parts[-1] == "__init__" else parts[:-1])
            package = package.removesuffix(".__init__")
            for node in ast.walk(ast.parse(file.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    names = [_resolve(node, package)]
                    if node.level:  # stays inside the submission folder
                        assert names[0].split(".")[0] == path.name, (file, ast.unparse(node))
                for name in names:
                    assert name.split(".")[0] != "sfadamw", (file, ast.unparse(node))


def test_vendored_modules_are_the_sources(exported):
    """Each copied module is its source with ``from sfadamw.x`` imports written relatively.

    Checked on syntax trees: resolving the copy's relative imports (importlib) and
    renaming the vendored package back to ``sfadamw`` gives the source's tree.
    """
    path = _folders(exported)[("self", "pytorch", "schedule_free_adamw")]
    for file in sorted((path / "_sfadamw").rglob("*.py")):
        relative = file.relative_to(path / "_sfadamw")
        source = ROOT / "src" / "sfadamw" / relative
        tree = ast.parse(file.read_text())
        if relative.name == "__init__.py" and len(tree.body) <= 3:
            continue  # generated: the root (provenance) or a stub package
        package = ".".join(("sfadamw", *relative.parent.parts))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                node.module, node.level = _resolve(node, package), 0
        assert ast.dump(tree) == ast.dump(ast.parse(source.read_text())), relative


def test_folders_import_without_sfadamw_or_algoperf(exported, fresh_python):
    cases = [{"ruleset": r, "name": folder.default_name(v, f)} for r, f, v in EXPECTED]
    out = _drive(fresh_python, exported, "import", json.dumps(cases))
    assert out["sfadamw_importable"] is False
    assert out["algoperf_importable"] is False
    assert out["sfadamw_loaded"] == []
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    for r, f, v in EXPECTED:
        case = out["cases"][f"{folder.default_name(v, f)}/{r}"]
        assert case["harness_spec"] is False  # the vendored fallback definitions
        assert case["batch_size_mnist"] == batch_size(
            "mnist", variants.get_variant(v, r).batch_sizes
        )
        assert case["version"] == sfadamw.__version__
        assert case["commit"].removesuffix("+dirty") == commit


@pytest.mark.slow
@pytest.mark.parametrize("framework", folder.FRAMEWORKS)
def test_folders_train_and_evaluate_like_the_repository_modules(exported, fresh_python, framework):
    cases = []
    for r, f, v in EXPECTED:
        if f != framework:
            continue
        name = folder.default_name(v, f)
        compare = framework == "pytorch" or r == "self"  # JAX: one comparison (compile time)
        cases.append(
            {
                "key": f"{name}/{r}",
                "ruleset": r,
                "framework": f,
                "name": name,
                "path": f"submissions/{r}_tuning/{name}",
                "load": "module",
                "compare": str(folder.thin_module(ROOT, r, v, f).relative_to(ROOT))
                if compare
                else None,
            }
        )
    if framework == "pytorch":  # loaded from its file path, as `sfadamw run` does
        cases.append(dict(cases[-1], key="file", load="file", compare=None))
    # PyTorch as under `sfadamw run` (no algoperf); JAX with algoperf.spec, as under the harness
    standin = "standin" if framework == "jax" else "none"
    src, repo = str(ROOT / "src"), str(ROOT)
    out = _drive(fresh_python, exported, "train", json.dumps(cases), src, repo, standin)
    assert out["sfadamw_importable_at_start"] is False
    assert out["algoperf_importable_at_start"] is False
    assert out["sfadamw_loaded_by_imports"] == []
    assert out["guard_works"] is True
    assert out["sfadamw_spec_harness"] is (framework == "jax")
    assert out["sfadamw_spec_is_reference"] is True
    assert out["violations"] == []
    assert out["foreign_references"] == []
    for case in cases:
        result = out["cases"][case["key"]]
        assert result["shares_spec"] is True
        assert result["export"]["global_step"] == 2 and result["export"]["eval_step"] == 2
        assert result["export"]["finite"]
        assert "validation/accuracy" in result["export"]["metrics"]
        if case["compare"]:
            assert result["export"]["metrics"] == result["repository"]["metrics"], case["key"]
    if framework == "pytorch":
        assert out["cases"]["file"]["export"] == out["cases"][cases[-2]["key"]]["export"]


def test_cli_errors(tmp_path, capsys):
    base = ["export", "--output_dir", str(tmp_path)]
    assert (
        cli_main(
            [
                *base,
                "--ruleset",
                "self",
                "--framework",
                "jax",
                "--variant",
                "schedule_free_adamw_v2",
            ]
        )
        == 2
    )
    assert "no jax self-tuning submission of 'schedule_free_adamw_v2'" in capsys.readouterr().err
    assert cli_main([*base, "--ruleset", "self"]) == 2
    assert "pass --framework, --variant (or --all)" in capsys.readouterr().err
    assert cli_main([*base, "--all", "--name", "x"]) == 2
    assert (
        cli_main(
            [
                *base,
                "--ruleset",
                "self",
                "--framework",
                "jax",
                "--variant",
                "schedule_free_adamw",
                "--name",
                "my-sf",
            ]
        )
        == 2
    )
    assert "must be a Python identifier" in capsys.readouterr().err
    one = [*base, "--ruleset", "self", "--framework", "jax", "--variant", "schedule_free_adamw"]
    assert cli_main(one) == 0
    dest = tmp_path / "submissions" / "self_tuning" / "sfadamw_jax"
    (dest / "stale.txt").write_text("old")
    capsys.readouterr()
    assert cli_main(one) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert cli_main([*one, "--overwrite"]) == 0
    assert not (dest / "stale.txt").exists() and (dest / "submission.py").is_file()
    assert [p.name for p in dest.parent.iterdir()] == ["sfadamw_jax"]  # no temporaries left


def _source_tree(tmp_path: Path, body: str) -> Path:
    package = tmp_path / "src" / "sfadamw"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "presets.py").write_text("X = 1\n")
    (package / "entry.py").write_text(body)
    return tmp_path / "src"


@pytest.mark.parametrize(
    "body,message",
    [
        ("import sfadamw.presets\n", "cannot be vendored"),
        ("from sfadamw import X\n", "the root package is generated"),
        ("from . import presets\n", "relative imports in the sources"),
        ("from sfadamw.missing import X\n", "module sfadamw.missing not found"),
    ],
)
def test_vendor_refuses_what_it_cannot_rewrite(tmp_path, body, message):
    with pytest.raises(UserError, match=message):
        vendor.vendor(_source_tree(tmp_path, body), ["sfadamw.entry"], "", "")


def test_vendor_rewrites_nested_and_multiline_imports(tmp_path):
    body = "def f():\n    from sfadamw.presets import (\n        X,\n    )\n    return X\n"
    files = vendor.vendor(_source_tree(tmp_path, body), ["sfadamw.entry"], "# h {source}\n", "R\n")
    assert files == {
        "__init__.py": "R\n",
        "entry.py": "# h src/sfadamw/entry.py\n"
        + body.replace("from sfadamw.presets", "from .presets"),
        "presets.py": "# h src/sfadamw/presets.py\nX = 1\n",
    }
