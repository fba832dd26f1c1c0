"""Per-trial and per-step random keys, for either framework.

The harness derives every random input of a trial from one seed: it splits the
trial key into data, model-init and optimizer-init keys, then folds the step
number into the remaining key at each step and splits the result into
data-selection, update, prepare-for-eval and eval keys. We do the same:

* JAX: ``jax.random.PRNGKey`` / ``fold_in`` / ``split`` (raw ``uint32[2]`` keys,
  as the harness uses).
* PyTorch: keys are ``numpy.uint32[2]`` arrays; ``fold_in(key, d)`` and
  ``split(key, n)`` hash ``(key, d)`` with :class:`numpy.random.SeedSequence`.
  Keys depend only on the seed and the step, so a resumed run gets the same keys.
"""

from __future__ import annotations

import numpy as np


def _np_key(entropy: list[int]) -> np.ndarray:
    return np.random.SeedSequence(entropy).generate_state(2, dtype=np.uint32)


class Prng:
    """``key``, ``fold_in`` and ``split`` for ``framework`` ('pytorch' or 'jax')."""

    def __init__(self, framework: str) -> None:
        self.jax = framework == "jax"

    def key(self, seed: int):
        if self.jax:
            import jax

            return jax.random.PRNGKey(seed)
        return _np_key([0, int(seed)])

    def fold_in(self, key, data: int):
        if self.jax:
            import jax

            return jax.random.fold_in(key, data)
        return _np_key([1, *map(int, np.asarray(key)), int(data)])

    def split(self, key, num: int = 2) -> list:
        if self.jax:
            import jax

            return list(jax.random.split(key, num))
        base = [2, *map(int, np.asarray(key))]
        return [_np_key([*base, i]) for i in range(num)]


def key_to_int(key) -> int:
    """A non-negative int from a key (for ``torch.manual_seed``)."""
    return int(np.asarray(key).astype(np.uint64)[-1])
