"""Numpy helpers shared by motif_gnn, numbers_transformer, synth_conformer and pystdlib_gpt.

Framework-free on purpose: the data pipelines and metrics of these workloads are
numpy, so a PyTorch and a JAX version of one workload read the same batches.

* :func:`seed_from_rng` turns whatever rng a runner passes (an int, a JAX key,
  a ``uint32`` array as the harness's ``prng.PRNGKey`` gives) into an int seed.
* :class:`ArrayDataset` and :func:`input_queue` implement the harness's input
  queue semantics: ``'train'`` is shuffled and repeats forever (a new
  permutation each epoch), the eval splits are one finite pass in stored order
  (``'eval_train'`` is the first ``num_eval_train_examples`` training examples).
* :func:`edit_distance` is the Levenshtein distance used by the WER metric.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sfadamw.errors import UserError

SPLITS = ("train", "eval_train", "validation", "test")


def seed_from_rng(rng: Any) -> int:
    """A non-negative int seed from ``rng``: an int, a JAX key or a uint32 array.

    Arrays are hashed with :class:`numpy.random.SeedSequence`, so two different
    keys (e.g. the two halves of a ``jax.random.split``) give different seeds.
    """
    if rng is None:
        return 0
    if isinstance(rng, int | np.integer):
        return int(rng)
    try:  # typed JAX keys (jax.random.key) hold their bits in key_data
        import jax

        if jax.dtypes.issubdtype(rng.dtype, jax.dtypes.prng_key):
            rng = jax.random.key_data(rng)
    except (ImportError, AttributeError):
        pass
    words = np.asarray(rng).astype(np.uint64).ravel().tolist()
    return int(np.random.SeedSequence(words).generate_state(1)[0])


@dataclass(frozen=True)
class ArrayDataset:
    """``num_examples`` examples; ``collate(indices)`` builds one numpy batch dict."""

    num_examples: int
    collate: Callable[[np.ndarray], dict[str, Any]]


def input_queue(
    dataset: ArrayDataset,
    split: str,
    seed: int,
    global_batch_size: int,
    num_examples: int | None = None,
    num_batches: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Batches of ``dataset`` with the harness's semantics for ``split``.

    ``'train'``: an infinite stream, each epoch a fresh permutation drawn from
    ``seed``, every batch full (the tail of an epoch carries over). Eval splits:
    the first ``num_examples`` examples (all if None) once, in order; the last
    batch may be short. ``num_batches`` stops either after that many batches.
    """
    if split not in SPLITS:
        raise UserError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    if global_batch_size < 1:
        raise UserError(f"global_batch_size must be >= 1, got {global_batch_size}")
    n = dataset.num_examples if num_examples is None else min(num_examples, dataset.num_examples)
    if split == "train":
        batches = _train_indices(n, global_batch_size, np.random.default_rng(seed))
    else:
        batches = (
            np.arange(start, min(start + global_batch_size, n))
            for start in range(0, n, global_batch_size)
        )
    for count, indices in enumerate(batches):
        if num_batches is not None and count >= num_batches:
            return
        yield dataset.collate(indices)


def _train_indices(n: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    pending = np.empty(0, dtype=np.int64)
    while True:
        while len(pending) < batch_size:
            pending = np.concatenate([pending, rng.permutation(n)])
        yield pending[:batch_size]
        pending = pending[batch_size:]


def edit_distance(reference: Sequence[Any], hypothesis: Sequence[Any]) -> int:
    """Levenshtein distance (substitutions, insertions, deletions all cost 1)."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_item in enumerate(reference, start=1):
        current = [i]
        for j, hyp_item in enumerate(hypothesis, start=1):
            current.append(
                min(
                    previous[j] + 1,  # deletion
                    current[j - 1] + 1,  # insertion
                    previous[j - 1] + (ref_item != hyp_item),  # substitution / match
                )
            )
        previous = current
    return previous[-1]


def pad_sequences(sequences: Sequence[Sequence[int]], length: int, pad: int = 0) -> np.ndarray:
    """An int32 ``(len(sequences), length)`` array, each row right-padded with ``pad``."""
    out = np.full((len(sequences), length), pad, dtype=np.int32)
    for row, seq in enumerate(sequences):
        if len(seq) > length:
            raise ValueError(f"sequence of length {len(seq)} exceeds the padded length {length}")
        out[row, : len(seq)] = seq
    return out
