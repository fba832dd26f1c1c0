"""Framework-neutral batching of in-memory numpy datasets.

The embedded workloads generate (or load) their data once as numpy arrays and
share this batching between PyTorch and JAX, so both frameworks see the same
batches for the same ``data_rng``:

* ``train``: an infinite stream; each epoch is a fresh permutation drawn from a
  ``numpy.random.Generator`` seeded by ``data_rng``; the last incomplete batch
  of an epoch is dropped (as the harness's training pipelines do). An optional
  ``augment(batch, rng)`` is applied to each train batch.
* eval splits: one finite, ordered pass in batches of ``batch_size``; the last
  batch is padded to full size with zeros and carries ``weights`` (1 for real
  examples, 0 for padding), as the harness's eval pipelines do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import numpy as np

Batch = dict[str, np.ndarray]
Augment = Callable[[Batch, np.random.Generator], Batch]


def seed_from_rng(rng) -> int:
    """A non-negative integer seed from an int, a numpy/JAX PRNG key or a sequence of ints."""
    if rng is None:
        return 0
    if isinstance(rng, int | np.integer):
        return int(rng)
    key = np.asarray(rng)
    if key.dtype.kind not in "iu":  # new-style typed JAX keys
        import jax

        key = np.asarray(jax.random.key_data(rng))
    return int(np.sum(key.astype(np.uint64).ravel() * np.uint64(2654435761)) % (2**63))


def train_batches(
    arrays: Mapping[str, np.ndarray],
    batch_size: int,
    seed: int,
    augment: Augment | None = None,
) -> Iterator[Batch]:
    """Shuffled batches of ``arrays`` forever (a new permutation each epoch)."""
    n = len(next(iter(arrays.values())))
    if batch_size > n:
        raise ValueError(f"global_batch_size {batch_size} exceeds the {n} training examples")
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(n)
        for start in range(0, n - batch_size + 1, batch_size):
            index = order[start : start + batch_size]
            batch = {k: v[index] for k, v in arrays.items()}
            yield augment(batch, rng) if augment is not None else batch


def eval_batches(arrays: Mapping[str, np.ndarray], batch_size: int) -> Iterator[Batch]:
    """One ordered pass over ``arrays``; the last batch zero-padded, with ``weights``."""
    n = len(next(iter(arrays.values())))
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        batch = {}
        for key, value in arrays.items():
            chunk = value[start:stop]
            if stop - start < batch_size:
                pad = np.zeros((batch_size - (stop - start),) + chunk.shape[1:], chunk.dtype)
                chunk = np.concatenate([chunk, pad])
            batch[key] = chunk
        weights = np.zeros(batch_size, np.float32)
        weights[: stop - start] = 1.0
        batch["weights"] = weights
        yield batch
