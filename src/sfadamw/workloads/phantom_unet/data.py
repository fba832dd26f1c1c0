"""Phantom images, undersampled k-space and SSIM (framework-neutral, numpy).

Images (``IMAGE_SIZE`` square, values in [0, 1]): half of them start from
scikit-image's Shepp-Logan phantom (``skimage.data.shepp_logan_phantom``,
which ships with scikit-image), randomly flipped and scaled in intensity; the
other half from a random "head" ellipse. Onto each, 3 to 6 random ellipses
(random centre, semi-axes, rotation and intensity in [-0.3, 0.4]) are added,
and the result is clipped to [0, 1]. Ellipses are rasterised at pixel
centres. Every split is drawn from its own fixed seed, so the data is identical on
every machine.

Undersampling (as fastMRI's 4x Cartesian masks; Zbontar et al. 2018): the
centred orthonormal 2-D FFT of the image is kept on ``1/ACCELERATION`` of the
phase-encoding columns: the ``CENTER_LINES`` central ones plus columns drawn
at random per example; the input is the magnitude of the zero-filled inverse
FFT. The model maps it to the image.

Metric: SSIM (Wang et al. 2004) per image, with a 7x7 uniform window,
``K1 = 0.01``, ``K2 = 0.03``, sample (co)variances and ``data_range`` the
target image's maximum, averaged over the valid windows and then over images
(the fastMRI evaluation's settings of ``skimage.metrics.structural_similarity``).
"""

from __future__ import annotations

import functools

import numpy as np

IMAGE_SIZE = 32
ACCELERATION = 4
CENTER_LINES = 4
SPLIT_SIZES = {"train": 4096, "validation": 512, "test": 512}
NUM_EVAL_TRAIN = 512
_SPLIT_SEEDS = {"train": 1, "validation": 2, "test": 3}


@functools.cache
def _shepp_logan() -> np.ndarray:
    from skimage.data import shepp_logan_phantom
    from skimage.transform import resize

    return resize(shepp_logan_phantom(), (IMAGE_SIZE, IMAGE_SIZE), anti_aliasing=True)


def _ellipses(rng: np.random.Generator, n: int, count: int, head: bool) -> np.ndarray:
    """Sum of ``count`` random ellipses per image, ``(n, IMAGE_SIZE, IMAGE_SIZE)``."""
    grid = (np.arange(IMAGE_SIZE) + 0.5) / IMAGE_SIZE * 2.0 - 1.0
    y, x = np.meshgrid(grid, grid, indexing="ij")
    if head:
        centre = rng.uniform(-0.1, 0.1, (n, count, 2))
        axes = rng.uniform(0.6, 0.9, (n, count, 2))
        value = rng.uniform(0.6, 1.0, (n, count))
    else:
        centre = rng.uniform(-0.5, 0.5, (n, count, 2))
        axes = rng.uniform(0.05, 0.3, (n, count, 2))
        value = rng.uniform(-0.3, 0.4, (n, count))
    angle = rng.uniform(0.0, np.pi, (n, count))
    out = np.empty((n, IMAGE_SIZE, IMAGE_SIZE))
    for start in range(0, n, 128):  # chunks keep the (chunk, count, size, size) arrays small
        part = slice(start, start + 128)
        cos = np.cos(angle[part])[..., None, None].astype(np.float32)
        sin = np.sin(angle[part])[..., None, None].astype(np.float32)
        dy = (y - centre[part, :, 0, None, None]).astype(np.float32)
        dx = (x - centre[part, :, 1, None, None]).astype(np.float32)
        u, v = cos * dx + sin * dy, cos * dy - sin * dx
        ay, ax = axes[part, :, 0, None, None], axes[part, :, 1, None, None]
        inside = (u / ax) ** 2 + (v / ay) ** 2 <= 1.0
        out[part] = np.einsum("nkyx,nk->nyx", inside.astype(np.float32), value[part])
    return out


def _images(rng: np.random.Generator, n: int) -> np.ndarray:
    base = _ellipses(rng, n, 1, head=True)
    from_phantom = rng.random(n) < 0.5
    phantom = np.broadcast_to(_shepp_logan(), base.shape).copy()
    flip = rng.random(n) < 0.5
    phantom[flip] = phantom[flip, :, ::-1]
    phantom *= rng.uniform(0.6, 1.0, (n, 1, 1))
    base[from_phantom] = phantom[from_phantom]
    count = rng.integers(3, 7, n)
    extra = np.zeros_like(base)
    for k in range(3, 7):
        chosen = count == k
        extra[chosen] = _ellipses(rng, int(chosen.sum()), k, head=False)
    return np.clip(base + extra * (base > 0.05), 0.0, 1.0)


def column_masks(rng: np.random.Generator, n: int) -> np.ndarray:
    """``(n, IMAGE_SIZE)`` 0/1 masks of kept k-space columns (centred spectrum)."""
    keep = IMAGE_SIZE // ACCELERATION
    masks = np.zeros((n, IMAGE_SIZE), np.float32)
    centre = slice(IMAGE_SIZE // 2 - CENTER_LINES // 2, IMAGE_SIZE // 2 + CENTER_LINES // 2)
    masks[:, centre] = 1.0
    outer = np.setdiff1d(np.arange(IMAGE_SIZE), np.arange(IMAGE_SIZE)[centre])
    for i in range(n):
        masks[i, rng.choice(outer, keep - CENTER_LINES, replace=False)] = 1.0
    return masks


def zero_filled(images: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """``|IFFT(mask * FFT(image))|`` with centred orthonormal 2-D FFTs."""
    kspace = np.fft.fftshift(np.fft.fft2(images, norm="ortho"), axes=(-2, -1))
    kept = kspace * masks[:, None, :]
    return np.abs(np.fft.ifft2(np.fft.ifftshift(kept, axes=(-2, -1)), norm="ortho"))


@functools.cache
def _generate(split: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(200 + _SPLIT_SEEDS[split])
    images = _images(rng, SPLIT_SIZES[split])
    inputs = zero_filled(images, column_masks(rng, len(images)))
    return inputs.astype(np.float32), images.astype(np.float32)


def split_arrays(split: str) -> dict[str, np.ndarray]:
    """``{'inputs': (N, 32, 32) zero-filled magnitudes, 'targets': (N, 32, 32) images}``."""
    name = "train" if split == "eval_train" else split
    if name not in SPLIT_SIZES:
        raise ValueError(f"unknown split {split!r}; expected train, eval_train, validation, test")
    inputs, targets = _generate(name)
    if split == "eval_train":
        inputs, targets = inputs[:NUM_EVAL_TRAIN], targets[:NUM_EVAL_TRAIN]
    return {"inputs": inputs, "targets": targets}


def _box_mean(x: np.ndarray, win: int) -> np.ndarray:
    """Means over every ``win`` x ``win`` window inside ``(N, H, W)`` (summed-area table)."""
    c = np.pad(x, ((0, 0), (1, 0), (1, 0))).cumsum(1).cumsum(2)
    return (c[:, win:, win:] - c[:, :-win, win:] - c[:, win:, :-win] + c[:, :-win, :-win]) / (
        win * win
    )


def ssim(pred: np.ndarray, target: np.ndarray, win: int = 7) -> np.ndarray:
    """Per-image SSIM of ``(N, H, W)`` arrays (settings in the module docstring)."""
    pred, target = pred.astype(np.float64), target.astype(np.float64)
    data_range = target.reshape(len(target), -1).max(1)[:, None, None]
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    ux, uy = _box_mean(pred, win), _box_mean(target, win)
    dof = win * win / (win * win - 1.0)  # sample (co)variances
    vx = (_box_mean(pred * pred, win) - ux**2) * dof
    vy = (_box_mean(target * target, win) - uy**2) * dof
    vxy = (_box_mean(pred * target, win) - ux * uy) * dof
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))
    return s.mean((1, 2))


def metric_sums(outputs: np.ndarray, batch: dict[str, np.ndarray]) -> dict[str, float]:
    """Summed per-image ``ssim`` and mean-absolute-error ``loss`` over valid images."""
    weights = batch.get("weights", np.ones(len(outputs), np.float32))
    valid = weights > 0
    out, target = outputs[valid], batch["targets"][valid]
    mae = np.abs(out.astype(np.float64) - target).mean((1, 2))
    return {"ssim": float(ssim(out, target).sum()), "loss": float(mae.sum())}
