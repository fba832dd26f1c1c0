"""Train a small flax model on one device and on a 1-D mesh; save both results.

Run as ``python tests/jax_mesh_check.py OUT.npz`` with
``XLA_FLAGS=--xla_force_host_platform_device_count=2`` set before JAX starts
(tests/test_jax_mesh.py does this in a subprocess). The mesh run follows the
AlgoPerf v0.6 JAX model: ``jax.jit`` with a 1-D mesh over all devices (axis
"batch"), params and optimizer state replicated, batches sharded on the batch
axis. It also runs the optimizer alone on a fixed gradient sequence, on one
device and replicated on the mesh. Saves y, x, z and v of all four runs
(flattened leaves), the device count and whether the mesh outputs are fully
replicated.
"""

from __future__ import annotations

import sys

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

import sfadamw.jax as sfj

STEPS = 20
BATCH = 16


class Net(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Dense(32)(x))
        return nn.Dense(3)(x)


def main(out_path: str) -> None:
    rng = np.random.default_rng(7)
    inputs = rng.normal(size=(STEPS, BATCH, 5)).astype(np.float32)
    labels = rng.integers(0, 3, size=(STEPS, BATCH))
    model = Net()
    init_params = model.init(jax.random.PRNGKey(0), inputs[0])
    tx = sfj.schedule_free_adamw(preset="algoperf_v2", lr=0.01, warmup_steps=5)

    def train_step(params, state, x, y):
        def loss(p):
            logits = model.apply(p, x)
            return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

        updates, state = tx.update(jax.grad(loss)(params), state, params)
        return optax.apply_updates(params, updates), state

    def run(step, put_params, put_batch):
        params = put_params(init_params)
        state = put_params(tx.init(init_params))
        for k in range(STEPS):
            params, state = step(params, state, put_batch(inputs[k]), put_batch(labels[k]))
        return params, state

    single = run(jax.jit(train_step), lambda t: t, jnp.asarray)

    mesh = Mesh(np.array(jax.devices()), ("batch",))
    replicated = NamedSharding(mesh, PartitionSpec())
    sharded = NamedSharding(mesh, PartitionSpec("batch"))
    mesh_step = jax.jit(
        train_step,
        in_shardings=(replicated, replicated, sharded, sharded),
        out_shardings=(replicated, replicated),
    )
    meshed = run(
        mesh_step,
        lambda t: jax.device_put(t, replicated),
        lambda b: jax.device_put(b, sharded),
    )

    # The optimizer alone, fed the same (replicated) gradients in both runs.
    grads = [
        jax.tree_util.tree_map(lambda p: rng.normal(size=p.shape).astype(np.float32), init_params)
        for _ in range(STEPS)
    ]

    def opt_step(params, state, g):
        updates, state = tx.update(g, state, params)
        return optax.apply_updates(params, updates), state

    def run_optimizer(step, put):
        params, state = put(init_params), put(tx.init(init_params))
        for g in grads:
            params, state = step(params, state, put(g))
        return params, state

    opt_single = run_optimizer(jax.jit(opt_step), lambda t: t)
    opt_meshed = run_optimizer(
        jax.jit(opt_step, in_shardings=replicated, out_shardings=replicated),
        lambda t: jax.device_put(t, replicated),
    )

    arrays = {"device_count": np.asarray(jax.device_count())}
    all_replicated = True
    runs = {"single": single, "mesh": meshed, "opt_single": opt_single, "opt_mesh": opt_meshed}
    for tag, (params, state) in runs.items():
        trees = {"y": params, "x": sfj.eval_params(state, params), "z": state.z, "v": state.v}
        for key, tree in trees.items():
            for i, leaf in enumerate(jax.tree_util.tree_leaves(tree)):
                arrays[f"{tag}/{key}/{i}"] = np.asarray(leaf)
        if tag in ("mesh", "opt_mesh"):
            for leaf in jax.tree_util.tree_leaves((params, state)):
                all_replicated &= leaf.sharding.is_fully_replicated
                all_replicated &= len(leaf.sharding.device_set) == jax.device_count()
    arrays["mesh_replicated"] = np.asarray(all_replicated)
    np.savez(out_path, **arrays)


if __name__ == "__main__":
    main(sys.argv[1])
