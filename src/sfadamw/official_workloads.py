"""The official AlgoPerf workloads: what each one reads, how long it may train, which
runs a benchmark version asks for.

One table, read by the Docker entry (:mod:`sfadamw.suite.launch`), the suite planner
(:mod:`sfadamw.suite.plan`) and anything else that needs these facts.

Sources (facts, not code): the harness ``mlcommons/algorithmic-efficiency``
(``docker/scripts/startup.sh`` for the dataset folders and the per-dataset flags,
``algoperf/workloads/*`` for ``max_allowed_runtime_sec``, 2025 main branch) and the
official scoring code in ``mlcommons/submissions_algorithms`` (base and held-out
workloads per version, studies and trials per study); see
``shared/docs/algoperf-harness.md`` and ``shared/data/algoperf_leaderboards/scoring_rules.md``.

Budgets: a trial stops at its first eval after ``max_allowed_runtime_sec`` of
submission time (external tuning), ``1.5 x`` that for self-tuning (``3 x`` in v0.5).
A held-out variant has the budget of its base workload.
"""

from __future__ import annotations

from dataclasses import dataclass

from sfadamw.errors import WorkloadError

FRAMEWORKS = ("pytorch", "jax")
RULESETS = ("external", "self")


@dataclass(frozen=True)
class OfficialWorkload:
    """One harness workload: its dataset folder under the data root and its budget."""

    name: str
    base: str
    dataset: str
    max_allowed_runtime_sec: int


# Base workloads: dataset folder, max_allowed_runtime_sec (2025 main branch).
_BASES = {
    "criteo1tb": ("criteo1tb", 7703),
    "fastmri": ("fastmri", 4430),
    "imagenet_resnet": ("imagenet", 66159),
    "imagenet_vit": ("imagenet", 69768),
    "librispeech_conformer": ("librispeech", 58015),
    "librispeech_deepspeech": ("librispeech", 44405),
    "ogbg": ("ogbg", 12011),
    "wmt": ("wmt", 43336),
}
BASE_WORKLOADS = tuple(_BASES)

# Variants: same data and budget as the base workload whose name prefixes theirs.
_VARIANTS = {
    "criteo1tb": ("criteo1tb_layernorm", "criteo1tb_resnet", "criteo1tb_embed_init"),
    "fastmri": ("fastmri_model_size", "fastmri_tanh", "fastmri_layernorm"),
    "imagenet_resnet": (
        "imagenet_resnet_silu",
        "imagenet_resnet_gelu",
        "imagenet_resnet_large_bn_init",
    ),
    "imagenet_vit": ("imagenet_vit_glu", "imagenet_vit_post_ln", "imagenet_vit_map"),
    "librispeech_conformer": (
        "librispeech_conformer_attention_temperature",
        "librispeech_conformer_layernorm",
        "librispeech_conformer_gelu",
    ),
    "librispeech_deepspeech": (
        "librispeech_deepspeech_tanh",
        "librispeech_deepspeech_no_resnet",
        "librispeech_deepspeech_norm_and_spec_aug",
    ),
    "ogbg": ("ogbg_gelu", "ogbg_silu", "ogbg_model_size"),
    "wmt": ("wmt_post_ln", "wmt_attention_temp", "wmt_glu_tanh"),
}


def _table() -> dict[str, OfficialWorkload]:
    table = {}
    for base, (dataset, budget) in _BASES.items():
        for name in (base, *_VARIANTS[base]):
            table[name] = OfficialWorkload(name, base, dataset, budget)
    # The harness's development workload (tfds MNIST, 60 s budget): a smoke test.
    table["mnist"] = OfficialWorkload("mnist", "mnist", "mnist", 60)
    return table


WORKLOADS: dict[str, OfficialWorkload] = _table()

# Held-out variants that gate the base workloads in v0.5 scoring (scoring_rules.md).
HELD_OUT_V05 = (
    "criteo1tb_embed_init",
    "fastmri_tanh",
    "imagenet_resnet_large_bn_init",
    "librispeech_conformer_layernorm",
    "ogbg_model_size",
    "wmt_glu_tanh",
)


@dataclass(frozen=True)
class BenchmarkVersion:
    """What a full benchmark run of one version consists of."""

    name: str
    workloads: tuple[str, ...]
    studies: int
    self_tuning_budget_factor: float
    hardware: str

    def trials_per_study(self, ruleset: str) -> int:
        """5 tuning trials per study under external tuning, 1 under self-tuning."""
        check_ruleset(ruleset)
        return 5 if ruleset == "external" else 1

    def budget_factor(self, ruleset: str) -> float:
        """Multiplier on ``max_allowed_runtime_sec`` for the ruleset."""
        check_ruleset(ruleset)
        return 1.0 if ruleset == "external" else self.self_tuning_budget_factor


VERSIONS = {
    "v0.5": BenchmarkVersion("v0.5", BASE_WORKLOADS + HELD_OUT_V05, 5, 3.0, "8x NVIDIA V100 16 GB"),
    # v0.6 rules (the current scoring code with the 8 base workloads of the pinned
    # harness; finewebedu_lm of the 2026 main branch is not in it).
    "current": BenchmarkVersion("current", BASE_WORKLOADS, 3, 1.5, "8x NVIDIA V100 16 GB"),
}


def check_ruleset(ruleset: str) -> None:
    if ruleset not in RULESETS:
        raise WorkloadError(f"unknown tuning ruleset {ruleset!r}; use external or self")


def get_version(name: str) -> BenchmarkVersion:
    if name not in VERSIONS:
        raise WorkloadError(f"unknown benchmark version {name!r}; use one of {', '.join(VERSIONS)}")
    return VERSIONS[name]


def is_official(name: str) -> bool:
    return name in WORKLOADS


def get(name: str) -> OfficialWorkload:
    if name not in WORKLOADS:
        raise WorkloadError(f"unknown official workload {name!r}")
    return WORKLOADS[name]


def dataset_subdir(workload: str, framework: str) -> str:
    """Folder of the workload's data relative to the data root.

    ``<dataset>``, except ImageNet, which the harness prepares once per framework
    (TFDS records for JAX, an ImageFolder tree for PyTorch): ``imagenet/<framework>``.
    """
    dataset = get(workload).dataset
    return f"{dataset}/{framework}" if dataset == "imagenet" else dataset


def dataset_flags(workload: str, data_dir: str) -> list[str]:
    """submission_runner flags a dataset needs beyond --data_dir (as the harness's entry)."""
    dataset = get(workload).dataset
    if dataset == "imagenet":
        return [f"--imagenet_v2_data_dir={data_dir}"]
    if dataset == "librispeech":
        return [f"--librispeech_tokenizer_vocab_path={data_dir}/spm_model.vocab"]
    return []


def budget_seconds(version: str, ruleset: str) -> dict[str, float]:
    """Per-trial training budget (seconds of submission time) of each workload of a version."""
    v = get_version(version)
    factor = v.budget_factor(ruleset)
    return {w: WORKLOADS[w].max_allowed_runtime_sec * factor for w in v.workloads}


def gpu_hours(version: str, ruleset: str, gpus: int) -> float:
    """Upper bound on the accelerator time of a full run of a version and ruleset.

    ``sum_w budget_w x studies x trials_per_study x gpus / 3600``: every trial
    trains for its whole budget (a trial that reaches both targets stops earlier),
    evals, compilation and data loading not counted.
    """
    v = get_version(version)
    per_trial = sum(budget_seconds(version, ruleset).values())
    return per_trial * v.studies * v.trials_per_study(ruleset) * gpus / 3600.0
