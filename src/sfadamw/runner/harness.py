"""Official AlgoPerf workloads: hand over to the harness's submission_runner.

The embedded runner only knows the embedded CPU workloads. For an official
workload name (base workloads and their variants) it runs the harness's
``submission_runner.py`` with the same flags when the harness (``algoperf``) is
installed, and otherwise says so and lists the embedded workloads.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

from sfadamw.errors import WorkloadError

BASE_WORKLOADS = (
    "criteo1tb", "fastmri", "imagenet_resnet", "imagenet_vit", "librispeech_conformer",
    "librispeech_deepspeech", "ogbg", "wmt", "finewebedu_lm", "mnist", "cifar",
)
VARIANTS = (
    "criteo1tb_test", "criteo1tb_layernorm", "criteo1tb_resnet", "criteo1tb_embed_init",
    "fastmri_model_size", "fastmri_tanh", "fastmri_layernorm",
    "imagenet_resnet_silu", "imagenet_resnet_gelu", "imagenet_resnet_large_bn_init",
    "imagenet_vit_glu", "imagenet_vit_post_ln", "imagenet_vit_map",
    "librispeech_conformer_attention_temperature", "librispeech_conformer_layernorm",
    "librispeech_conformer_gelu", "librispeech_deepspeech_tanh",
    "librispeech_deepspeech_no_resnet", "librispeech_deepspeech_norm_and_spec_aug",
    "ogbg_gelu", "ogbg_silu", "ogbg_model_size", "wmt_post_ln", "wmt_attention_temp",
    "wmt_glu_tanh",
)
OFFICIAL_WORKLOADS = BASE_WORKLOADS + VARIANTS
#: Flags only the embedded runner has; not passed to the harness.
EMBEDDED_ONLY_FLAGS = ("eval_every_steps", "progress")


def is_official(name: str) -> bool:
    return name in OFFICIAL_WORKLOADS


def harness_runner() -> str | None:
    """The path of the harness's submission_runner.py, or None if the harness is absent.

    ``$ALGOPERF_DIR/submission_runner.py`` if set, else the one at the root of the
    checkout that ``algoperf`` is installed from (pip install -e).
    """
    if importlib.util.find_spec("algoperf") is None:
        return None
    root = os.environ.get("ALGOPERF_DIR")
    if not root:
        package = importlib.util.find_spec("algoperf").submodule_search_locations
        root = os.path.dirname(list(package)[0]) if package else ""
    path = os.path.join(root, "submission_runner.py")
    return path if os.path.isfile(path) else None


def harness_argv(flag_values: dict[str, object]) -> list[str]:
    """``--name=value`` for every flag that has a value, without the embedded-only ones."""
    out = []
    for name, value in flag_values.items():
        if value is None or name in EMBEDDED_ONLY_FLAGS:
            continue
        out.append(f"--{name}={str(value).lower() if isinstance(value, bool) else value}")
    return out


def hand_over(name: str, flag_values: dict[str, object], embedded: str) -> int:
    """Run the harness on official workload ``name``; its exit code."""
    runner = harness_runner()
    if runner is None:
        raise WorkloadError(
            f"{name!r} is an official AlgoPerf workload, but the AlgoPerf harness is not "
            "installed (clone mlcommons/algorithmic-efficiency and pip install -e it, or set "
            f"ALGOPERF_DIR); embedded workloads: {embedded}"
        )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), env.get("PYTHONPATH")]))
    command = [sys.executable, runner, *harness_argv(flag_values)]
    print("sfadamw run: handing over to the AlgoPerf harness: " + " ".join(command),
          file=sys.stderr)
    return subprocess.call(command, env=env)
