"""Byte-level language-model data from the Python standard library's own source.

The corpus is a fixed, sorted list of stdlib modules read from the running
interpreter's ``sysconfig.get_paths()['stdlib']``, so it is the same on every
machine for one Python version (the files change a little between versions;
the calibration in :mod:`.workload` used CPython 3.11.7). Train, validation and
test use disjoint files. Tokens are the UTF-8 bytes (vocabulary 256).

Each split's files are concatenated (in list order, separated by a NUL byte) and
cut into non-overlapping windows of ``CONTEXT + 1`` bytes; ``inputs`` are a
window's first ``CONTEXT`` bytes and ``targets`` its last ``CONTEXT`` (the next
byte at each position). The validation and test sets and eval_train are
``EVAL_SEQUENCES`` windows spread evenly over their stream (to keep eval cheap);
train uses every window. Both frameworks read these numpy batches.
"""

from __future__ import annotations

import functools
import os
import sysconfig

import numpy as np

from sfadamw.errors import WorkloadError
from sfadamw.workloads._shared_b import ArrayDataset

VOCAB_SIZE = 256
CONTEXT = 64
EVAL_SEQUENCES = 64
FILES = {
    "train": (
        "argparse.py", "ast.py", "calendar.py", "configparser.py", "csv.py",
        "dataclasses.py", "difflib.py", "enum.py", "fractions.py", "functools.py",
        "gettext.py", "inspect.py", "ipaddress.py", "optparse.py", "pickle.py",
        "pprint.py", "random.py", "shutil.py", "statistics.py", "string.py",
        "subprocess.py", "tarfile.py", "threading.py", "tokenize.py", "traceback.py",
        "typing.py", "uuid.py", "warnings.py",
    ),
    "validation": ("shlex.py", "textwrap.py"),
    "test": ("fnmatch.py", "heapq.py", "sched.py"),
}  # fmt: skip


@functools.cache
def windows(split: str) -> np.ndarray:
    """All ``(n, CONTEXT + 1)`` uint8 windows of the split's byte stream."""
    root = sysconfig.get_paths()["stdlib"]
    parts = []
    for name in FILES[split]:
        path = os.path.join(root, name)
        try:
            with open(path, "rb") as f:
                parts.append(f.read())
        except OSError as e:
            raise WorkloadError(
                f"pystdlib_gpt needs the standard library source file {path} ({e}); "
                "use a Python installation that ships its .py files"
            ) from e
    stream = np.frombuffer(b"\0".join(parts), dtype=np.uint8)
    n = len(stream) // (CONTEXT + 1)
    return stream[: n * (CONTEXT + 1)].reshape(n, CONTEXT + 1)


@functools.cache
def split_windows(split: str) -> np.ndarray:
    """The windows a split uses: all for train, ``EVAL_SEQUENCES`` evenly spaced otherwise."""
    source = windows("train" if split == "eval_train" else split)
    if split == "train":
        return source
    picks = np.linspace(0, len(source) - 1, EVAL_SEQUENCES).round().astype(np.int64)
    return source[picks]


def dataset(split: str) -> ArrayDataset:
    """Batches: ``inputs`` and ``targets``, (B, CONTEXT) int32 byte ids."""
    data = split_windows(split)

    def collate(indices: np.ndarray) -> dict[str, np.ndarray]:
        rows = data[indices].astype(np.int32)
        return {"inputs": rows[:, :-1], "targets": rows[:, 1:]}

    return ArrayDataset(num_examples=len(data), collate=collate)
