"""``sfadamw export``: self-contained submission folders for mlcommons/submissions_algorithms.

:mod:`sfadamw.export.vendor` copies the modules a submission needs, imports made
relative; :mod:`sfadamw.export.folder` builds and writes one folder;
:mod:`sfadamw.export.cli` is the command.
"""

from sfadamw.export.cli import main

__all__ = ["main"]
