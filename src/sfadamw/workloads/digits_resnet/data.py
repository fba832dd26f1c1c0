"""The digits image data, shared by digits_resnet and digits_vit (both frameworks).

Source: scikit-learn's ``load_digits`` (the UCI optical recognition of
handwritten digits test set: 1797 8x8 images, 17 grey levels, 10 classes),
which ships inside scikit-learn, so nothing is downloaded.

Splits: a fixed permutation (seed 0) gives 1197 train, 300 validation and 300
test images; ``eval_train`` is the first 300 train images.

Preprocessing: every image is resampled bilinearly to 16x16 (NHWC,
``(N, 16, 16, 1)`` float32), then standardised with the train pixel mean and
standard deviation. Train batches are augmented with a random affine map per
image (rotation within +-12 degrees, scale in [0.9, 1.1], shift within +-1.5
output pixels), sampled from the 8x8 original in the same bilinear pass, so
the network rarely sees the same image twice. Eval images use the identity map.
"""

from __future__ import annotations

import functools

import numpy as np

IMAGE_SIZE = 16
NUM_CLASSES = 10
_SPLIT_SIZES = {"train": 1197, "validation": 300, "test": 300}
NUM_EVAL_TRAIN = 300
_MAX_ROTATION = np.deg2rad(12.0)
_MAX_SHIFT = 1.5


def affine_resample(images: np.ndarray, matrices: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Bilinearly sample ``(N, h, w)`` images on an ``IMAGE_SIZE`` square output grid.

    Output pixel centre ``p`` (in units of source pixels, centred on the image
    centre) reads the source at ``A p + b`` with ``A = matrices[i]`` (2x2) and
    ``b = offsets[i]``; points outside the source read 0 (the background).
    """
    n, h, w = images.shape
    scale = h / IMAGE_SIZE
    grid = (np.arange(IMAGE_SIZE) + 0.5) * scale - h / 2.0
    py, px = np.meshgrid(grid, grid, indexing="ij")
    points = np.stack([py.ravel(), px.ravel()])  # (2, P)
    src = np.einsum("nij,jp->nip", matrices, points) + offsets[:, :, None]
    sy, sx = src[:, 0] + h / 2.0 - 0.5, src[:, 1] + w / 2.0 - 0.5
    y0, x0 = np.floor(sy).astype(np.int64), np.floor(sx).astype(np.int64)
    fy, fx = sy - y0, sx - x0
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    rows = np.arange(n)[:, None]

    def at(yy, xx):
        inside = (yy >= -1) & (yy <= h) & (xx >= -1) & (xx <= w)
        return padded[rows, np.clip(yy + 1, 0, h + 1), np.clip(xx + 1, 0, w + 1)] * inside

    out = (
        at(y0, x0) * (1 - fy) * (1 - fx)
        + at(y0, x0 + 1) * (1 - fy) * fx
        + at(y0 + 1, x0) * fy * (1 - fx)
        + at(y0 + 1, x0 + 1) * fy * fx
    )
    return out.reshape(n, IMAGE_SIZE, IMAGE_SIZE).astype(np.float32)


def _identity(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.broadcast_to(np.eye(2), (n, 2, 2)), np.zeros((n, 2))


@functools.cache
def _raw() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.images.astype(np.float32) / 16.0
    order = np.random.default_rng(0).permutation(len(images))
    splits, start = {}, 0
    for name, size in _SPLIT_SIZES.items():
        index = order[start : start + size]
        splits[name] = (images[index], digits.target[index].astype(np.int64))
        start += size
    return splits


@functools.cache
def _stats() -> tuple[float, float]:
    train = affine_resample(_raw()["train"][0], *_identity(_SPLIT_SIZES["train"]))
    return float(train.mean()), float(train.std())


def split_arrays(split: str) -> dict[str, np.ndarray]:
    """``{'inputs': (N, 16, 16, 1) float32 standardised, 'targets': (N,) int64}``.

    ``train`` holds the 8x8 originals under ``'source'`` as well, for
    :func:`augment`.
    """
    name = "train" if split == "eval_train" else split
    if name not in _SPLIT_SIZES:
        raise ValueError(f"unknown split {split!r}; expected train, eval_train, validation, test")
    images, labels = _raw()[name]
    if split == "eval_train":
        images, labels = images[:NUM_EVAL_TRAIN], labels[:NUM_EVAL_TRAIN]
    out = {
        "inputs": standardise(affine_resample(images, *_identity(len(images)))),
        "targets": labels,
    }
    if split == "train":
        out["source"] = images
    return out


def standardise(images: np.ndarray) -> np.ndarray:
    mean, std = _stats()
    return ((images - mean) / std)[..., None].astype(np.float32)


def augment(batch: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Replace ``inputs`` by random affine views of ``source`` (see the module docstring)."""
    source = batch["source"]
    n = len(source)
    angle = rng.uniform(-_MAX_ROTATION, _MAX_ROTATION, n)
    scale = rng.uniform(0.9, 1.1, n)
    cos, sin = np.cos(angle) / scale, np.sin(angle) / scale
    matrices = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], 1)
    offsets = rng.uniform(-_MAX_SHIFT, _MAX_SHIFT, (n, 2)) * (source.shape[1] / IMAGE_SIZE)
    return {
        "inputs": standardise(affine_resample(source, matrices, offsets)),
        "targets": batch["targets"],
    }


def metric_sums(logits: np.ndarray, batch: dict[str, np.ndarray]) -> dict[str, float]:
    """Summed ``accuracy`` and cross-entropy ``loss`` over the valid examples (numpy)."""
    weights = batch.get("weights", np.ones(len(logits), np.float32))
    logits = logits.astype(np.float64)
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    targets = batch["targets"]
    nll = -log_probs[np.arange(len(targets)), targets]
    correct = logits.argmax(-1) == targets
    return {"accuracy": float((correct * weights).sum()), "loss": float((nll * weights).sum())}
