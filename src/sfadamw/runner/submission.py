"""Import a submission module (AlgoPerf API) by file path or module path."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from types import ModuleType

from sfadamw.errors import UserError

REQUIRED = ("get_batch_size", "init_optimizer_state", "update_params", "data_selection")


def load(path: str) -> ModuleType:
    """The submission at ``path``: a ``.py`` file, a folder with ``submission.py``, or a
    dotted module path. Its folder goes first on ``sys.path`` so helper modules
    beside it import. Raises UserError if it is missing or lacks an API function."""
    if path.endswith(".py") or os.sep in path or os.path.isdir(path):
        file = os.path.join(path, "submission.py") if os.path.isdir(path) else path
        if not os.path.isfile(file):
            raise UserError(f"submission path {path!r} does not exist (expected a submission.py)")
        file = os.path.abspath(file)
        folder = os.path.dirname(file)
        if folder not in sys.path:
            sys.path.insert(0, folder)
        name = "sfadamw_submission_" + str(abs(hash(file)))
        spec = importlib.util.spec_from_file_location(name, file)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(path)
        except ModuleNotFoundError as e:
            raise UserError(f"submission module {path!r} cannot be imported: {e}") from None
    missing = [f for f in REQUIRED if not callable(getattr(module, f, None))]
    if missing:
        raise UserError(f"submission {path!r} does not define {', '.join(missing)}")
    return module


def default_experiment_name(path: str) -> str:
    """The submission's folder name (``.../nadamw/pytorch/submission.py`` -> ``nadamw``)."""
    folder = os.path.dirname(os.path.abspath(path)) if path.endswith(".py") else path
    parts = [p for p in folder.replace(".", os.sep).split(os.sep) if p]
    if parts and parts[-1] in ("pytorch", "jax"):
        parts = parts[:-1]
    return parts[-1] if parts else "experiment"
