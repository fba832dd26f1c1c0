"""Fixtures shared by the Docker-script and suite tests: a fake harness layout on disk.

The harness is not installed here; these tests check what our scripts would run,
against the harness's conventions written out in the tests, with temp directories
standing in for /data, /experiment_runs, /logs and the harness checkout.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Dataset folder of each base workload, from the harness's Docker entry
# (docker/scripts/startup.sh): ImageNet is per framework.
DATASET_DIRS = {
    "criteo1tb": "criteo1tb",
    "fastmri": "fastmri",
    "imagenet_resnet": "imagenet/{framework}",
    "imagenet_vit": "imagenet/{framework}",
    "librispeech_conformer": "librispeech",
    "librispeech_deepspeech": "librispeech",
    "ogbg": "ogbg",
    "wmt": "wmt",
}


def make_layout(tmp: Path) -> dict[str, str]:
    """Temp root/data/harness folders; the environment that points the scripts at them."""
    root, data, harness = tmp / "root", tmp / "data", tmp / "algoperf"
    for ruleset in ("external", "self"):
        for framework in ("pytorch", "jax"):
            folder = root / "submissions" / f"{ruleset}_tuning" / "schedule_free_adamw" / framework
            folder.mkdir(parents=True)
            (folder / "submission.py").write_text("# stand-in\n")
    (root / "tuning_search_space.json").write_text('{"learning_rate": {"feasible_points": [1]}}')
    for sub in ("criteo1tb", "fastmri", "librispeech", "ogbg", "wmt", "mnist"):
        (data / sub).mkdir(parents=True)
    for framework in ("pytorch", "jax"):
        (data / "imagenet" / framework).mkdir(parents=True)
    harness.mkdir()
    (harness / "submission_runner.py").write_text("# stand-in\n")
    return {
        "SFADAMW_ROOT": str(root),
        "SFADAMW_DATA_DIR": str(data),
        "SFADAMW_EXPERIMENT_DIR": str(tmp / "experiment_runs"),
        "SFADAMW_LOG_DIR": str(tmp / "logs"),
        "ALGOPERF_DIR": str(harness),
        "PYTHON": sys.executable,
    }
