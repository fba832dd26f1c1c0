"""Checkpoints of a trial: model, model state, optimizer state, step, times, schedule.

One file per trial, written atomically (:func:`sfadamw.runner.logs.atomic_write_bytes`)
and loaded without unpickling arbitrary objects:

* PyTorch, ``checkpoint.pt``: ``torch.save`` of a dict of state dicts, as the
  harness's checkpoints hold them (the model's ``state_dict()``; every value of
  a dict optimizer state through its ``state_dict()``, or as is when it has
  none), plus ``torch.get_rng_state()``; loaded with
  ``torch.load(weights_only=True)``.
* JAX, ``checkpoint.npz``: the leaves of ``(params, model_state, opt_state)``
  as numpy arrays (an optimizer state ``(opt_state, update_fn)`` saves
  ``opt_state``); loaded with ``np.load(allow_pickle=False)`` and unflattened
  into the tree structure of freshly initialised state, shapes checked.

Both carry ``meta``: a JSON document with the global step, the accumulated
times, the goal flags, the eval results so far, the eval schedule state, the
number of train batches consumed and the number of log rows written.
"""

from __future__ import annotations

import io
import json
import os
import pickle

import numpy as np

from sfadamw.errors import ExperimentError
from sfadamw.runner.logs import atomic_write_bytes


def path_for(folder: str, framework: str) -> str:
    return os.path.join(folder, "checkpoint.pt" if framework == "pytorch" else "checkpoint.npz")


def _unwrap(model):
    return getattr(model, "module", model)


def save(folder: str, framework: str, params, model_state, optimizer_state, meta: dict) -> None:
    """Write the checkpoint of ``folder`` atomically."""
    buffer = io.BytesIO()
    if framework == "pytorch":
        import torch

        if isinstance(optimizer_state, dict):
            opt = {
                k: v.state_dict() if hasattr(v, "state_dict") else v
                for k, v in optimizer_state.items()
            }
        else:
            opt = optimizer_state.state_dict()
        torch.save(
            {
                "params": _unwrap(params).state_dict(),
                "model_state": model_state,
                "optimizer_state": opt,
                "torch_rng": torch.get_rng_state(),
                "meta": json.dumps(meta),
            },
            buffer,
        )
    else:
        leaves = _jax_leaves(params, model_state, optimizer_state)
        arrays = {}
        dtypes = []
        for i, leaf in enumerate(leaves):
            arr = np.asarray(leaf)
            dtypes.append(str(arr.dtype))
            if arr.dtype.kind not in "biufc":  # e.g. bfloat16: store the raw bits
                arr = arr.view(f"uint{8 * arr.dtype.itemsize}")
            arrays[f"leaf_{i}"] = arr
        meta = {**meta, "leaf_dtypes": dtypes}
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        np.savez(buffer, **arrays)
    atomic_write_bytes(path_for(folder, framework), buffer.getvalue())


def _jax_opt(optimizer_state):
    if isinstance(optimizer_state, tuple) and len(optimizer_state) == 2 and callable(
        optimizer_state[1]
    ):
        return optimizer_state[0]
    return optimizer_state


def _jax_leaves(params, model_state, optimizer_state) -> list:
    import jax

    return jax.tree_util.tree_leaves((params, model_state, _jax_opt(optimizer_state)))


def load(folder: str, framework: str, params, model_state, optimizer_state):
    """``(params, model_state, optimizer_state, meta)`` restored into fresh state, or None."""
    path = path_for(folder, framework)
    if not os.path.exists(path):
        return None
    try:
        if framework == "pytorch":
            return _load_torch(path, params, model_state, optimizer_state)
        return _load_jax(path, params, model_state, optimizer_state)
    except pickle.UnpicklingError:
        raise ExperimentError(
            f"cannot resume from {path}: it holds objects other than arrays and plain data "
            "(checkpoints are loaded without unpickling code); remove it or use --overwrite"
        ) from None
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ExperimentError(f"cannot resume from {path}: {first}") from None


def _load_torch(path, params, model_state, optimizer_state):
    import torch

    saved = torch.load(path, weights_only=True, map_location="cpu")
    _unwrap(params).load_state_dict(saved["params"])
    if isinstance(optimizer_state, dict):
        for key, value in list(optimizer_state.items()):
            if hasattr(value, "load_state_dict"):
                value.load_state_dict(saved["optimizer_state"][key])
            else:
                optimizer_state[key] = saved["optimizer_state"][key]
    else:
        optimizer_state.load_state_dict(saved["optimizer_state"])
    torch.set_rng_state(saved["torch_rng"])
    return params, saved["model_state"], optimizer_state, json.loads(saved["meta"])


def _load_jax(path, params, model_state, optimizer_state):
    import jax
    import jax.numpy as jnp

    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(bytes(data["meta"]).decode())
        fresh, treedef = jax.tree_util.tree_flatten(
            (params, model_state, _jax_opt(optimizer_state))
        )
        dtypes = meta.pop("leaf_dtypes")
        if len(dtypes) != len(fresh):
            raise ValueError(f"checkpoint has {len(dtypes)} arrays, the state has {len(fresh)}")
        leaves = []
        for i, (old, dtype) in enumerate(zip(fresh, dtypes, strict=True)):
            arr = data[f"leaf_{i}"]
            if str(arr.dtype) != dtype:
                arr = arr.view(jnp.dtype(dtype))
            if tuple(arr.shape) != tuple(np.shape(old)):
                raise ValueError(f"array {i} has shape {arr.shape}, expected {np.shape(old)}")
            leaves.append(jnp.asarray(arr))
    params, model_state, opt = jax.tree_util.tree_unflatten(treedef, leaves)
    if _jax_opt(optimizer_state) is not optimizer_state:
        opt = (opt, optimizer_state[1])
    return params, model_state, opt, meta
