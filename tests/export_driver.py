"""Runs exported submission folders in a process where ``sfadamw`` is not installed.

Started by tests/test_export.py with the interpreter of a fresh virtual environment
whose only extra path is the third-party site-packages (its ``.pth`` files, among them
the editable ``sfadamw`` hook, are not processed), and with the export's root
(holding ``submissions/...``) as the working directory. Prints one JSON line
``RESULT {...}`` at the end. Two modes:

``import``
    neither ``sfadamw`` nor ``algoperf`` is importable (checked): every folder is
    imported as the harness imports it, by module path
    (``submissions.<ruleset>_tuning.<name>.submission``); reports which ``spec`` the
    vendored code uses and each folder's batch size for ``mnist``.
``train``
    optionally (``standin``) first stands in for the harness's ``algoperf.spec``
    (below); imports every folder by module path, still without ``sfadamw``; only then puts the
    repository's ``src`` on ``sys.path`` for the embedded runner and its workloads,
    with an import guard that fails any ``sfadamw`` import made by a module inside
    the export; trains each folder for 2 steps on ``digits_resnet`` and evaluates,
    and does the same with the repository's own submission module of the same
    variant, for comparison. The ``file`` cases load ``submission.py`` by file path
    through the runner's loader instead (no parent package).

The stand-in for ``algoperf.spec``: under the real harness the runner, the
workloads and the submission all use ``algoperf.spec``, so their enums and
``TrainingCompleteError`` are one set of classes. Here the definitions
``sfadamw.spec`` falls back to without the harness are loaded once, from the
repository's ``src/sfadamw/spec.py`` file, under the module name ``algoperf.spec``
(while it runs, its own ``from algoperf.spec import ...`` finds the partly
initialised module, fails, and takes the fallback branch); both ``sfadamw.spec`` and
the vendored ``spec`` then re-export those classes, as under the harness. Without
it, the vendored copies and ``sfadamw.spec`` share the classes of the first copy
loaded (see ``sfadamw.spec``), which is what ``sfadamw run`` on an exported folder
relies on.
"""

from __future__ import annotations

import builtins
import importlib
import importlib.util
import json
import math
import os
import sys
import types

TIMING_KEYS = ("score", "total_duration", "accumulated_submission_time")


def _module_path(case: dict) -> str:
    return f"submissions.{case['ruleset']}_tuning.{case['name']}.submission"


def _inside(path: str | None, folder: str) -> bool:
    return path is not None and os.path.abspath(path).startswith(folder + os.sep)


def _standin_spec(src: str) -> types.ModuleType:
    parent = types.ModuleType("algoperf")
    parent.__path__ = []
    sys.modules["algoperf"] = parent
    spec = importlib.util.spec_from_file_location(
        "algoperf.spec", os.path.join(src, "sfadamw", "spec.py")
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["algoperf.spec"] = module
    spec.loader.exec_module(module)
    parent.spec = module
    return module


class ImportGuard:
    """Fails (ImportError) and records any ``sfadamw`` import made from inside ``folder``.

    Wraps ``builtins.__import__`` (every import statement, cached modules included)
    and ``importlib.import_module``; the importer is the module whose globals the
    statement runs in, or the caller's frame for ``import_module``.
    """

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.violations: list[str] = []
        self._import = builtins.__import__
        self._import_module = importlib.import_module

    def _check(self, name: str, importer_globals: dict | None, level: int) -> None:
        g = importer_globals or {}
        if not _inside(g.get("__file__"), self.folder):
            return
        if level:
            name = importlib.util.resolve_name("." * level + name, g.get("__package__") or "")
        if name == "sfadamw" or name.startswith("sfadamw."):
            message = f"{g.get('__name__')} ({g.get('__file__')}) imports {name}"
            self.violations.append(message)
            raise ImportError(f"export imports sfadamw: {message}")

    def install(self) -> None:
        def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
            self._check(name, globals, level)
            return self._import(name, globals, locals, fromlist, level)

        def guarded_import_module(name, package=None):
            absolute = importlib.util.resolve_name(name, package) if name.startswith(".") else name
            self._check(absolute, sys._getframe(1).f_globals, 0)
            return self._import_module(name, package)

        builtins.__import__ = guarded_import
        importlib.import_module = guarded_import_module


def _foreign_references(folder: str) -> list[str]:
    """Objects from ``sfadamw`` held by modules loaded from ``folder`` (after the runs)."""
    found = []
    for name, module in list(sys.modules.items()):
        if not _inside(getattr(module, "__file__", None), folder):
            continue
        for attr, value in vars(module).items():
            owner = value.__name__ if isinstance(value, types.ModuleType) else None
            owner = owner or getattr(value, "__module__", None)
            if isinstance(owner, str) and (owner == "sfadamw" or owner.startswith("sfadamw.")):
                found.append(f"{name}.{attr} -> {owner}")
    return found


def _metrics(result) -> dict:
    step, metrics = result.eval_results[-1]
    return {
        "global_step": result.global_step,
        "eval_step": step,
        "metrics": {
            k: v for k, v in metrics.items() if k.split("/")[0] in ("train", "validation", "test")
        },
        "finite": all(math.isfinite(v) for k, v in metrics.items() if k not in TIMING_KEYS),
    }


def run_import(folder: str, cases: list[dict]) -> dict:
    out = {
        "sfadamw_importable": importlib.util.find_spec("sfadamw") is not None,
        "algoperf_importable": importlib.util.find_spec("algoperf") is not None,
        "cases": {},
    }
    sys.path.insert(0, os.getcwd())
    for case in cases:
        module = importlib.import_module(_module_path(case))
        vendored_spec = sys.modules[module.__package__ + "._sfadamw.spec"]
        out["cases"][case["name"] + "/" + case["ruleset"]] = {
            "file": os.path.relpath(module.__file__, folder),
            "harness_spec": vendored_spec.HARNESS,
            "batch_size_mnist": module.get_batch_size("mnist"),
            "version": module.VERSION,
            "commit": module.COMMIT,
        }
    out["sfadamw_loaded"] = sorted(m for m in sys.modules if m.split(".")[0] == "sfadamw")
    return out


def run_train(folder: str, cases: list[dict], src: str, repo: str, standin: bool) -> dict:
    out = {
        "sfadamw_importable_at_start": importlib.util.find_spec("sfadamw") is not None,
        "algoperf_importable_at_start": importlib.util.find_spec("algoperf") is not None,
    }
    algoperf_spec = _standin_spec(src) if standin else None
    sys.path.insert(0, os.getcwd())
    modules = {}
    for case in cases:
        if case["load"] == "module":
            modules[case["key"]] = importlib.import_module(_module_path(case))
    out["sfadamw_loaded_by_imports"] = sorted(
        m for m in sys.modules if m.split(".")[0] == "sfadamw"
    )

    guard = ImportGuard(folder)
    guard.install()
    probe = compile("import sfadamw.spec", os.path.join(folder, "_probe.py"), "exec")
    try:
        exec(probe, {"__name__": "_probe", "__file__": os.path.join(folder, "_probe.py")})
        out["guard_works"] = False
    except ImportError:
        out["guard_works"] = True
    guard.violations.clear()

    sys.path.insert(0, src)
    from sfadamw.runner import loop
    from sfadamw.runner import submission as loader
    from sfadamw.runner.search_space import as_hyperparameters
    from sfadamw.workloads import get_workload

    sfadamw_spec = sys.modules["sfadamw.spec"]
    out["sfadamw_spec_harness"] = sfadamw_spec.HARNESS
    reference = algoperf_spec or sfadamw_spec
    out["sfadamw_spec_is_reference"] = sfadamw_spec.ForwardPassMode is reference.ForwardPassMode
    out["cases"] = {}
    for case in cases:
        framework = case["framework"]
        if case["load"] == "module":
            module = modules[case["key"]]
        else:
            module = loader.load(os.path.join(folder, case["path"], "submission.py"))
        hparams = None
        if case["ruleset"] == "external":
            with open(os.path.join(folder, case["path"], "tuning_search_space.json")) as f:
                hparams = as_hyperparameters(json.load(f)[0])
        cfg = loop.TrialConfig(
            framework=framework,
            tuning_ruleset=case["ruleset"],
            hyperparameters=hparams,
            rng_seed=0,
            folder=None,
            max_global_steps=2,
            eval_every_steps=2,
            save_checkpoints=False,
            show_progress=False,
        )
        workload = get_workload("digits_resnet", framework)
        result = {"export": _metrics(loop.train_once(workload, module, cfg))}
        vendored_spec = sys.modules[module._VENDORED.__name__ + ".spec"]
        result["shares_spec"] = all(
            getattr(vendored_spec, n) is getattr(reference, n)
            for n in ("ForwardPassMode", "LossType", "TrainingCompleteError")
        )
        if case.get("compare"):
            thin = loader.load(os.path.join(repo, case["compare"]))
            workload = get_workload("digits_resnet", framework)
            result["repository"] = _metrics(loop.train_once(workload, thin, cfg))
        out["cases"][case["key"]] = result
    out["violations"] = guard.violations
    out["foreign_references"] = _foreign_references(folder)
    return out


def main() -> None:
    mode, cases_json = sys.argv[1], sys.argv[2]
    folder = os.path.abspath(os.getcwd())
    cases = json.loads(cases_json)
    if mode == "import":
        out = run_import(folder, cases)
    else:
        out = run_train(folder, cases, sys.argv[3], sys.argv[4], sys.argv[5] == "standin")
    print("RESULT " + json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
