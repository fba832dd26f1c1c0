"""pystdlib_gpt in JAX (flax.linen): the same GPT and the same numpy batches as PyTorch.

Parameter names mirror the PyTorch model's (``tok_embed``, ``blocks_<i>/attn/q``,
``head``...); ``model_fn`` takes ``dropout_rate`` as a Python float (static under
``jax.jit``) and draws dropout masks from ``rng`` in TRAIN mode.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from typing import Any, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from sfadamw import spec
from sfadamw.workloads._shared_b import input_queue, seed_from_rng
from sfadamw.workloads.base import Workload
from sfadamw.workloads.pystdlib_gpt import data
from sfadamw.workloads.pystdlib_gpt.workload import PyStdlibGPTSettings

P = spec.ParameterType


class _Attention(nn.Module):
    dim: int
    heads: int
    init: Any

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        b, t, _ = x.shape
        dense = functools.partial(nn.Dense, self.dim, kernel_init=self.init)
        q, k, v = (
            dense(name=n)(x).reshape(b, t, self.heads, self.dim // self.heads) for n in "qkv"
        )
        y = jax.nn.dot_product_attention(q, k, v, is_causal=True)
        return dense(name="out")(y.reshape(b, t, self.dim))


class _Block(nn.Module):
    dim: int
    heads: int
    init: Any

    @nn.compact
    def __call__(self, x: jax.Array, train: bool, rate: float) -> jax.Array:
        drop = nn.Dropout(rate, deterministic=not train)
        x = x + drop(
            _Attention(self.dim, self.heads, self.init, name="attn")(
                nn.LayerNorm(epsilon=1e-5, name="ln_attn")(x)
            )
        )
        h = nn.LayerNorm(epsilon=1e-5, name="ln_mlp")(x)
        h = nn.Dense(4 * self.dim, kernel_init=self.init, name="mlp_in")(h)
        h = drop(nn.gelu(h, approximate=False))
        h = nn.Dense(self.dim, kernel_init=self.init, name="mlp_out")(h)
        return x + drop(h)


class GPT(nn.Module):
    dim: int
    heads: int
    layers: int
    init_std: float

    @nn.compact
    def __call__(self, tokens: jax.Array, train: bool, dropout_rate: float) -> jax.Array:
        init = nn.initializers.normal(self.init_std)
        x = nn.Embed(data.VOCAB_SIZE, self.dim, embedding_init=init, name="tok_embed")(tokens)
        pos = nn.Embed(data.CONTEXT, self.dim, embedding_init=init, name="pos_embed")
        x = x + pos(jnp.arange(tokens.shape[1]))
        x = nn.Dropout(dropout_rate, deterministic=not train)(x)
        for i in range(self.layers):
            x = _Block(self.dim, self.heads, init, name=f"blocks_{i}")(x, train, dropout_rate)
        x = nn.LayerNorm(epsilon=1e-5, name="ln_final")(x)
        return nn.Dense(data.VOCAB_SIZE, kernel_init=init, name="head")(x)


def jax_param_types(params) -> Any:
    """A pytree of ``spec.ParameterType`` matching ``params``, from each leaf's path."""

    def leaf_type(path, _):
        names = [p.key for p in path]
        leaf, owner = names[-1], names[-2]
        if owner.startswith("ln_"):
            return P.LAYER_NORM_SCALE if leaf == "scale" else P.LAYER_NORM_BIAS
        if leaf == "embedding":
            return P.EMBEDDING
        if len(names) >= 3 and names[-3] == "attn":
            if leaf == "bias":
                return P.ATTENTION_BIAS
            return {"q": P.ATTENTION_Q, "k": P.ATTENTION_K, "v": P.ATTENTION_V,
                    "out": P.ATTENTION_OUT}[owner]  # fmt: skip
        return P.BIAS if leaf == "bias" else P.WEIGHT

    return jax.tree_util.tree_map_with_path(leaf_type, params)


def _key(rng) -> jax.Array:
    if rng is None or isinstance(rng, int | np.integer):
        return jax.random.PRNGKey(0 if rng is None else int(rng))
    return rng


class PyStdlibGPTWorkload(PyStdlibGPTSettings, Workload):
    framework: ClassVar[str] = "jax"

    def __init__(self) -> None:
        super().__init__()
        self._model = GPT(self.model_dim, self.num_heads, self.num_layers, self.init_std)

    def _build_input_queue(
        self,
        data_rng,
        split: str,
        data_dir: str | None,
        global_batch_size: int,
        cache: bool | None = None,
        repeat_final_dataset: bool | None = None,
        num_batches: int | None = None,
        num_examples: int | None = None,
    ) -> Iterator[dict[str, np.ndarray]]:
        del data_dir, cache, repeat_final_dataset
        return input_queue(
            data.dataset(split), split, seed_from_rng(data_rng), global_batch_size,
            num_examples, num_batches,
        )  # fmt: skip

    def init_model_fn(self, rng) -> tuple[Any, None]:
        tokens = jnp.zeros((1, data.CONTEXT), dtype=jnp.int32)
        params = self._model.init(_key(rng), tokens, train=False, dropout_rate=0.0)["params"]
        self._param_shapes = jax.tree.map(lambda p: tuple(p.shape), params)
        self._param_types = jax_param_types(params)
        return params, None

    def is_output_params(self, param_key) -> bool:
        first = param_key if isinstance(param_key, str) else param_key[0]
        return getattr(first, "key", first) == "head"

    def model_fn(
        self,
        params,
        augmented_and_preprocessed_input_batch: dict[str, Any],
        model_state,
        mode,
        rng,
        update_batch_norm: bool,
        dropout_rate: float | None = None,
    ) -> tuple[jax.Array, Any]:
        del update_batch_norm
        rate = self.default_dropout_rate if dropout_rate is None else float(dropout_rate)
        train = mode == spec.ForwardPassMode.TRAIN
        logits = self._model.apply(
            {"params": params},
            jnp.asarray(augmented_and_preprocessed_input_batch["inputs"]),
            train=train,
            dropout_rate=rate,
            rngs={"dropout": _key(rng)} if train and rate > 0 else {},
        )
        return logits, model_state

    def loss_fn(self, label_batch, logits_batch, mask_batch=None, label_smoothing: float = 0.0):
        """Per-token softmax cross-entropy, as the PyTorch version (same formula):
        ``-sum_c q_c log softmax(z)_c`` with ``q = (1 - ls) onehot + ls / C``, times mask."""
        num_classes = logits_batch.shape[-1]
        targets = optax.smooth_labels(jax.nn.one_hot(label_batch, num_classes), label_smoothing)
        per_example = optax.softmax_cross_entropy(logits_batch, targets)
        mask = jnp.ones_like(per_example) if mask_batch is None else mask_batch
        per_example = per_example * mask
        return {"summed": per_example.sum(), "n_valid_examples": mask.sum(),
                "per_example": per_example}  # fmt: skip

    @functools.partial(jax.jit, static_argnums=0)
    def _eval_step(self, params, batch) -> tuple[jax.Array, jax.Array]:
        logits, _ = self.model_fn(params, batch, None, spec.ForwardPassMode.EVAL, None, False)
        loss = self.loss_fn(batch["targets"], logits)
        return loss["summed"], loss["n_valid_examples"]

    def _eval_model_on_split(
        self,
        split: str,
        num_examples: int,
        global_batch_size: int,
        params,
        model_state,
        rng,
        data_dir: str | None,
        global_step: int = 0,
    ) -> dict[str, float]:
        """The loss (mean next-byte NLL) and ppl = exp(loss) on ``split``."""
        del model_state, global_step
        summed, count = 0.0, 0.0
        for batch in self._build_input_queue(
            rng, split, data_dir, global_batch_size, num_examples=num_examples
        ):
            s, n = self._eval_step(params, batch)
            summed, count = summed + float(s), count + float(n)
        loss = summed / max(count, 1.0)
        return {"loss": loss, "ppl": math.exp(loss)}
