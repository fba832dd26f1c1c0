"""Synthetic click logs from a planted model (framework-neutral, numpy).

Each example has ``NUM_DENSE`` dense features and ``len(VOCAB_SIZES)``
categorical features, like a Criteo row (13 dense, 26 categorical):

* dense ``x ~ N(0, I)``;
* categorical feature ``f`` takes value ``i`` of ``V_f`` with Zipf-like
  probability ``p(i) ∝ (i + 1)^-1.1`` (a heavy head and a long tail, as in
  click logs);
* the planted click logit is
  ``z = b + w·x + sum_f a_f[c_f] + sum_{f<g} <u_f[c_f], u_g[c_g]> + <P x, sum_f u_f[c_f]>``
  with per-value biases ``a_f``, rank-4 per-value factors ``u_f`` (a
  factorisation machine; Rendle 2010) and a dense-categorical cross term;
  ``b`` is chosen so that about a quarter of examples are clicks;
* the label is ``y ~ Bernoulli(sigmoid(z))``.

The planted model and every split are drawn from fixed seeds
(``numpy.random.default_rng``), so the data is identical on every machine.
``bayes_log_loss(split)`` is the log-loss of the planted probabilities, the
floor no model can beat on average.

Metric: the mean binary log-loss ``-[y log p + (1-y) log(1-p)]``, ``p =
sigmoid(logit)``, over the split (AlgoPerf criteo1tb's ``loss``).
"""

from __future__ import annotations

import functools

import numpy as np

NUM_DENSE = 13
VOCAB_SIZES = (1000, 400, 200, 100, 50, 20, 10, 5)
RANK = 4
#: 2^21 training examples: the calibrated schedule (``settings.STEP_HINT`` steps of
#: 1024) sees each about 6 times, as the shorter schedule on 2^18 examples did;
#: more passes overfit the per-value embeddings (a 39-pass schedule on 2^18 ended at
#: a worse validation log-loss with every learning rate but the smallest).
SPLIT_SIZES = {"train": 1 << 21, "validation": 8192, "test": 8192}
#: Examples drawn per chunk when a split is generated (bounds the temporaries).
_CHUNK = 1 << 18
NUM_EVAL_TRAIN = 8192
_SPLIT_SEEDS = {"train": 1, "validation": 2, "test": 3}


@functools.cache
def _planted() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "w": rng.normal(0.0, 0.25, NUM_DENSE),
        "a": [rng.normal(0.0, 0.5, v) for v in VOCAB_SIZES],
        "u": [rng.normal(0.0, 0.35, (v, RANK)) for v in VOCAB_SIZES],
        "p": rng.normal(0.0, 0.2, (RANK, NUM_DENSE)),
        "b": -1.6,
    }


def planted_logits(dense: np.ndarray, categorical: np.ndarray) -> np.ndarray:
    """The planted click logit ``z`` of each row (see the module docstring)."""
    m = _planted()
    factors = np.stack([u[categorical[:, f]] for f, u in enumerate(m["u"])], 1)  # (N, F, R)
    total = factors.sum(1)
    pairwise = 0.5 * ((total**2).sum(-1) - (factors**2).sum((1, 2)))
    biases = sum(a[categorical[:, f]] for f, a in enumerate(m["a"]))
    cross = ((dense @ m["p"].T) * total).sum(-1)
    return m["b"] + dense @ m["w"] + biases + pairwise + cross


def _draw(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dense = rng.normal(size=(n, NUM_DENSE))
    categorical = np.empty((n, len(VOCAB_SIZES)), np.int64)
    for f, vocab in enumerate(VOCAB_SIZES):
        p = (np.arange(vocab) + 1.0) ** -1.1
        categorical[:, f] = rng.choice(vocab, size=n, p=p / p.sum())
    prob = 1.0 / (1.0 + np.exp(-planted_logits(dense, categorical)))
    labels = (rng.random(n) < prob).astype(np.float32)
    return dense, categorical, labels


@functools.cache
def _generate(split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The split's rows, drawn ``_CHUNK`` at a time from the split's own seed."""
    rng = np.random.default_rng(100 + _SPLIT_SEEDS[split])
    n = SPLIT_SIZES[split]
    chunks = [_draw(rng, min(_CHUNK, n - start)) for start in range(0, n, _CHUNK)]
    return tuple(np.concatenate(parts) for parts in zip(*chunks, strict=True))


def split_arrays(split: str) -> dict[str, np.ndarray]:
    """``{'inputs': (N, 13 + 8) float32, 'targets': (N,) float32 0/1}``.

    As in AlgoPerf's criteo1tb, ``inputs`` holds the dense features followed
    by the categorical indices (as floats, exact below 2**24).
    """
    name = "train" if split == "eval_train" else split
    if name not in SPLIT_SIZES:
        raise ValueError(f"unknown split {split!r}; expected train, eval_train, validation, test")
    dense, categorical, labels = _generate(name)
    if split == "eval_train":
        dense, categorical, labels = (a[:NUM_EVAL_TRAIN] for a in (dense, categorical, labels))
    inputs = np.concatenate([dense, categorical], axis=1).astype(np.float32)
    return {"inputs": inputs, "targets": labels}


def bayes_log_loss(split: str) -> float:
    """Mean log-loss of the planted probabilities on ``split`` (the attainable floor)."""
    dense, categorical, labels = _generate(split)
    z = planted_logits(dense, categorical)
    return float(np.mean(np.logaddexp(0.0, z) - labels * z))


def log_loss_sums(logits: np.ndarray, batch: dict[str, np.ndarray]) -> dict[str, float]:
    """Summed binary log-loss (``loss``) over the valid examples (numpy)."""
    z = logits.astype(np.float64).reshape(-1)
    y = batch["targets"].astype(np.float64)
    weights = batch.get("weights", np.ones(len(z), np.float32))
    per_example = np.logaddexp(0.0, z) - y * z  # -[y log s(z) + (1-y) log(1-s(z))]
    return {"loss": float((per_example * weights).sum())}
