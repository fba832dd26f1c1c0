"""Per-workload settings the submissions share, in one table read by both frameworks.

``BATCH_SIZES[workload][column]`` is the global batch size. Columns:

``ours``
    our Schedule-Free submissions and the NAdamW baseline (equal batch sizes make
    the embedded comparisons fair): the v0.5 winner's sizes, which the v2
    self-tuning entry kept, plus finewebedu_lm at 64 (v2 self-tuning).
``v05``, ``v2_external``, ``v2_self``, ``jax``
    the published entries' sizes (../shared/docs/schedule-free-adamw.md), used by
    the reproduction modules.

Variants of a base workload use the base's sizes unless listed
(imagenet_resnet_gelu/_silu at 512). An unknown name raises ValueError (not
KeyError): the harness then retries with the base workload name.
"""

from __future__ import annotations

COLUMNS = ("ours", "v05", "v2_external", "v2_self", "jax")


def _row(v05, v2_external, v2_self, jax, ours=None) -> dict[str, int | None]:
    return dict(ours=ours or v05, v05=v05, v2_external=v2_external, v2_self=v2_self, jax=jax)


#: Official AlgoPerf workloads (global batch sizes of the published entries).
OFFICIAL_BATCH_SIZES: dict[str, dict[str, int | None]] = {
    "criteo1tb": _row(262144, 262144, 262144, 262144),
    "fastmri": _row(16, 16, 16, 32),
    "imagenet_resnet": _row(1024, 768, 1024, 1024),
    "imagenet_resnet_gelu": _row(512, 512, 512, 512),
    "imagenet_resnet_silu": _row(512, 512, 512, 512),
    "imagenet_vit": _row(1024, 1024, 1024, 1024),
    "librispeech_conformer": _row(224, 128, 224, 256),
    "librispeech_deepspeech": _row(128, 256, 128, 128),
    "ogbg": _row(512, 512, 512, 512),
    "wmt": _row(128, 128, 128, 128),
    "finewebedu_lm": _row(None, None, 64, 32, ours=64),
    # development workloads
    "mnist": _row(1024, 1024, 1024, 1024),
    "cifar": _row(128, 128, 128, 128),
}

#: Embedded CPU workloads (sfadamw.workloads): one size for every column, the batch
#: size each workload's targets were calibrated at (results/calibration/,
#: results/benchmarks/calibrate_workloads_b.json).
EMBEDDED_BATCH_SIZES: dict[str, int] = {
    "digits_resnet": 128,
    "digits_vit": 64,
    "synth_dlrm": 1024,
    "phantom_unet": 16,
    "motif_gnn": 128,
    "numbers_transformer": 64,
    "synth_conformer": 32,
    "pystdlib_gpt": 32,
}

BATCH_SIZES: dict[str, dict[str, int | None]] = {
    **OFFICIAL_BATCH_SIZES,
    **{name: dict.fromkeys(COLUMNS, size) for name, size in EMBEDDED_BATCH_SIZES.items()},
}


def batch_size(workload_name: str, column: str = "ours") -> int:
    """The global batch size of ``workload_name`` in ``column``.

    Raises ValueError for an unknown workload or one the column has no size for.
    """
    if column not in COLUMNS:
        raise ValueError(f"unknown batch-size column {column!r}; choose one of {COLUMNS}")
    size = BATCH_SIZES.get(workload_name, {}).get(column)
    if size is None:
        raise ValueError(f"no {column} batch size for workload {workload_name!r}")
    return size


def get_batch_size(workload_name: str) -> int:
    """Our global batch size for ``workload_name`` (column ``ours``)."""
    return batch_size(workload_name, "ours")
