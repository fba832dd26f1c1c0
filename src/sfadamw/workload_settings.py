"""Per-workload settings that submissions share, in one place.

``BATCH_SIZES`` maps a workload name to the global batch size the submissions
in this project use on it (our Schedule-Free submissions and the NAdamW
baseline alike, so comparisons are at equal batch size). The embedded CPU
workloads are listed here; the official AlgoPerf workloads are added beside
them.
"""

from __future__ import annotations

#: Global batch sizes of the embedded CPU workloads (sfadamw.workloads).
EMBEDDED_BATCH_SIZES: dict[str, int] = {
    "digits_resnet": 128,
    "digits_vit": 128,
    "synth_dlrm": 512,
    "phantom_unet": 16,
    "motif_gnn": 64,
    "numbers_transformer": 64,
    "synth_conformer": 32,
    "pystdlib_gpt": 32,
}

BATCH_SIZES: dict[str, int] = {**EMBEDDED_BATCH_SIZES}


def get_batch_size(workload_name: str) -> int:
    """The global batch size for ``workload_name``.

    Raises ValueError (not KeyError) for an unknown name: the harness then retries
    with the base workload name (``imagenet_resnet_silu`` -> ``imagenet_resnet``).
    """
    if workload_name not in BATCH_SIZES:
        raise ValueError(f"no batch size for workload {workload_name!r}")
    return BATCH_SIZES[workload_name]
