"""Embedded CPU workloads, one per AlgoPerf workload family.

Each workload is a subpackage ``sfadamw.workloads.<name>`` whose ``__init__``
defines ``FRAMEWORKS = {"pytorch": "module:Class", "jax": "module:Class"}``
(only the frameworks it exists in). They are discovered, not listed here, so
adding one touches no other file.
"""

from __future__ import annotations

import importlib
import pkgutil

from sfadamw.errors import WorkloadError
from sfadamw.workloads.base import Workload

DEFAULT_WORKLOAD = "digits_resnet"


def available() -> dict[str, dict[str, str]]:
    """``{workload name: {framework: "module:Class"}}`` for every embedded workload."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        if not info.ispkg:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        frameworks = getattr(module, "FRAMEWORKS", None)
        if frameworks:
            found[info.name] = dict(frameworks)
    return dict(sorted(found.items()))


def get_workload(name: str, framework: str) -> Workload:
    """An instance of the embedded workload ``name`` in ``framework``."""
    workloads = available()
    if name not in workloads:
        listing = ", ".join(f"{n} ({'/'.join(f)})" for n, f in workloads.items())
        raise WorkloadError(f"unknown workload {name!r}; embedded workloads: {listing}")
    if framework not in workloads[name]:
        raise WorkloadError(
            f"workload {name!r} exists in {', '.join(workloads[name])}, not {framework!r}"
        )
    module_name, class_name = workloads[name][framework].split(":")
    return getattr(importlib.import_module(module_name), class_name)()


__all__ = ["DEFAULT_WORKLOAD", "Workload", "available", "get_workload"]
