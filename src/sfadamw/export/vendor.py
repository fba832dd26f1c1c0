"""Copy the sfadamw modules a submission needs into a package of its own, imports made relative.

Starting from entry modules (e.g. ``sfadamw.algoperf.pytorch_submission``), every
``from sfadamw... import ...`` statement, at any depth (module level or inside
functions), is followed to the module it names; the set reached is the closure
that gets copied. Each copied module's ``from sfadamw.<a>.<b> import n`` becomes
the relative ``from ..<b> import n`` (as many dots as the two modules' packages
require), so the copy works under any package name and never imports an
installed ``sfadamw``. ``import sfadamw...`` statements (which cannot be made
relative) are refused.

A package's ``__init__.py`` is copied only when a statement imports names from it
that are not its submodules (``from sfadamw.torch import ScheduleFreeAdamW``);
otherwise it is replaced by a one-line docstring, so that e.g. the workload
discovery of ``sfadamw/workloads/__init__.py`` does not travel with
``sfadamw.workloads.base``. The root ``__init__.py`` is always the caller's
(it carries the provenance).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from sfadamw.errors import UserError

ROOT_PACKAGE = "sfadamw"


@dataclass(frozen=True)
class SourceModule:
    """A module of the source package: ``name`` (dotted) and its file."""

    name: str
    path: Path

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"

    @property
    def package(self) -> str:
        """The package relative imports in this module resolve against."""
        return self.name if self.is_package else self.name.rpartition(".")[0]


def _find(source_root: Path, name: str) -> SourceModule | None:
    """The module ``name`` under ``source_root`` (the folder holding ``sfadamw/``)."""
    base = source_root.joinpath(*name.split("."))
    if (base / "__init__.py").is_file():
        return SourceModule(name, base / "__init__.py")
    if base.with_suffix(".py").is_file():
        return SourceModule(name, base.with_suffix(".py"))
    return None


def _ours(module: str | None) -> bool:
    return module is not None and (module == ROOT_PACKAGE or module.startswith(ROOT_PACKAGE + "."))


def _imports(module: SourceModule) -> list[ast.ImportFrom]:
    """The ``from sfadamw... import`` statements of ``module``; refuses ``import sfadamw``."""
    tree = ast.parse(module.path.read_text(encoding="utf-8"), filename=str(module.path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(_ours(a.name) for a in node.names):
            raise UserError(
                f"{module.name} line {node.lineno}: 'import {ROOT_PACKAGE}...' cannot be vendored; "
                f"write 'from {ROOT_PACKAGE}... import name'"
            )
        if isinstance(node, ast.ImportFrom) and node.level == 0 and _ours(node.module):
            found.append(node)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            raise UserError(
                f"{module.name} line {node.lineno}: relative imports in the sources are not "
                "supported by the exporter; import from sfadamw"
            )
    return sorted(found, key=lambda n: (n.lineno, n.col_offset))


def closure(source_root: Path, entries: list[str]) -> tuple[dict[str, SourceModule], set[str]]:
    """The modules ``entries`` need, and the packages whose ``__init__`` must be copied.

    Returns ``(modules, full_inits)``: ``modules`` maps dotted names to sources
    (packages on the way included, their ``__init__`` listed under the package
    name); ``full_inits`` names the packages imported for their own attributes.
    """
    modules: dict[str, SourceModule] = {}
    full_inits: set[str] = set()
    todo = list(entries)

    def need(name: str) -> SourceModule:
        found = _find(source_root, name)
        if found is None:
            raise UserError(f"module {name} not found under {source_root}")
        if name not in modules:
            modules[name] = found
            todo.append(name)
        parent = name.rpartition(".")[0]
        while parent:  # every enclosing package exists in the copy
            if parent not in modules:
                modules[parent] = _find(source_root, parent)
            parent = parent.rpartition(".")[0]
        return found

    for entry in entries:
        need(entry)
    while todo:
        current = modules[todo.pop()]
        if current.is_package and current.name not in full_inits:
            continue  # a stub package: its own imports do not travel
        for node in _imports(current):
            target = need(node.module)
            if target.is_package:
                for alias in node.names:
                    if _find(source_root, f"{node.module}.{alias.name}") is not None:
                        need(f"{node.module}.{alias.name}")
                    elif target.name == ROOT_PACKAGE:
                        raise UserError(
                            f"{current.name} line {node.lineno}: 'from {ROOT_PACKAGE} import "
                            f"{alias.name}' cannot be vendored (the root package is generated); "
                            "import it from its module"
                        )
                    elif target.name not in full_inits:
                        full_inits.add(target.name)
                        todo.append(target.name)
    return modules, full_inits


def relative_module(from_package: str, target: str) -> str:
    """The relative form of absolute module ``target`` as seen from ``from_package``.

    >>> relative_module("sfadamw.algoperf", "sfadamw.torch")
    '..torch'
    >>> relative_module("sfadamw.algoperf", "sfadamw")
    '..'
    >>> relative_module("sfadamw.torch", "sfadamw.torch.kernels")
    '.kernels'
    """
    here, there = from_package.split("."), target.split(".")
    common = 0
    while common < min(len(here), len(there)) and here[common] == there[common]:
        common += 1
    return "." * (len(here) - common + 1) + ".".join(there[common:])


_FROM = re.compile(r"from\s+(" + ROOT_PACKAGE + r"(?:\.\w+)*)\b")


def rewrite(module: SourceModule) -> str:
    """The text of ``module``, every ``from sfadamw...`` made relative; nothing else changes."""
    text = module.path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    for node in reversed(_imports(module)):
        line = lines[node.lineno - 1]
        match = _FROM.match(line, node.col_offset)
        if match is None or match.group(1) != node.module:
            raise UserError(f"{module.name} line {node.lineno}: cannot rewrite {line.strip()!r}")
        new = "from " + relative_module(module.package, node.module)
        lines[node.lineno - 1] = line[: match.start()] + new + line[match.end() :]
    return "".join(lines)


def vendor(source_root: Path, entries: list[str], header: str, root_init: str) -> dict[str, str]:
    """The files of the vendored package: ``{path relative to the package: text}``.

    ``header`` (comment lines, ``{source}`` replaced by the source file's path
    relative to ``source_root``'s parent) starts every copied file; stub package
    ``__init__`` files get it too; ``root_init`` is the root ``__init__.py``.
    """
    modules, full_inits = closure(source_root, entries)
    files: dict[str, str] = {"__init__.py": root_init}
    for name, module in sorted(modules.items()):
        if name == ROOT_PACKAGE:
            continue
        relative = module.path.relative_to(source_root / ROOT_PACKAGE).as_posix()
        source = f"{source_root.name}/{ROOT_PACKAGE}/{relative}"
        head = header.format(source=source)
        if module.is_package and name not in full_inits:
            files[relative] = f'{head}"""Vendored subset of {name}: only the modules imported."""\n'
        else:
            files[relative] = head + rewrite(module)
    return dict(sorted(files.items()))
