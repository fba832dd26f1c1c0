"""The Schedule-Free AdamW submissions we ship, as data: ours and the two published entries.

A :class:`Variant` says which optimizer preset a submission uses, its
self-tuning hyperparameters, its warmup rule, which batch-size column of
:mod:`sfadamw.workload_settings` it reads, and how BatchNorm statistics are
kept for evaluation at x:

``"recompute_at_x"`` (ours)
    training forwards do not touch the statistics' meaning: they run at y and
    update them as usual; ``prepare_for_eval`` moves the parameters to x and
    recomputes the statistics exactly (cumulative average) from the last
    ``bn_batches`` training batches. Cost: ``bn_batches`` forwards per eval.
``"train_forward"`` (AlgoPerf v0.5 entry)
    statistics come from the training forwards at y and are used at x (the
    mismatch that kept its ResNet-50 from the target).
``"extra_forward_mod3"`` (AlgoPerf v2 entry)
    training forwards use ``update_batch_norm=False``; on steps where
    ``global_step % 3 != 0`` (external tuning; ``== 0`` for self-tuning) an extra
    no-grad forward at x with ``update_batch_norm=True`` refreshes them.

Sources: ../shared/docs/schedule-free-adamw.md; the entries in
mlcommons/submissions_algorithms (previous_leaderboards/algoperf_v05, _v06).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

#: Self-tuning hyperparameters of the AlgoPerf v0.5 winner (also used by v2).
ALGOPERF_SELF_TUNING = {
    "learning_rate": 0.0025,
    "one_minus_beta1": 0.1,
    "beta2": 0.9955159689799007,
    "weight_decay": 0.08121616522670176,
    "warmup_factor": 0.02,
    "label_smoothing": 0.2,
    "r": 0.75,
    "weight_lr_power": 2.0,
}

#: Names every external-tuning point must set (no silent fallback to defaults).
REQUIRED_HPARAMS = frozenset(
    {"learning_rate", "one_minus_beta1", "beta2", "weight_decay", "warmup_factor"}
)
#: Hyperparameter names a search-space point may set.
HPARAM_NAMES = frozenset(ALGOPERF_SELF_TUNING) | {"dropout_rate"}

BatchNormMode = Literal["recompute_at_x", "train_forward", "extra_forward_mod3"]


@dataclass(frozen=True)
class Variant:
    """One Schedule-Free AdamW submission (see the module docstring)."""

    name: str
    ruleset: Literal["external", "self"]
    preset: str
    batch_sizes: str  # a column of sfadamw.workload_settings
    warmup_step_hint_fraction: float  # warmup = int(warmup_factor * step_hint * this)
    batchnorm: BatchNormMode
    defaults: dict = field(default_factory=lambda: dict(ALGOPERF_SELF_TUNING))
    # r and weight_lr_power fixed by the entry (not searched)
    fixed: dict = field(default_factory=dict)
    bn_batches: int = 4
    pass_dropout: bool = True
    label_smoothing_softmax_only: bool = True
    reset_heuristic: bool = False


def _v05_v2_common(ruleset: str) -> dict:
    return dict(ruleset=ruleset, label_smoothing_softmax_only=False)


VARIANTS: dict[tuple[str, str], Variant] = {
    ("schedule_free_adamw", "self"): Variant(
        "schedule_free_adamw", "self", "paper", "ours", 0.75, "recompute_at_x"
    ),
    ("schedule_free_adamw", "external"): Variant(
        "schedule_free_adamw", "external", "paper", "ours", 0.75, "recompute_at_x"
    ),
    # The v0.5 entry (2024 leaderboard). Dropout: workload defaults (never passed).
    ("schedule_free_adamw_v05", "self"): Variant(
        "schedule_free_adamw_v05",
        preset="algoperf_v05",
        batch_sizes="v05",
        warmup_step_hint_fraction=0.75,
        batchnorm="train_forward",
        pass_dropout=False,
        reset_heuristic=True,
        fixed={"r": 0.75, "weight_lr_power": 2.0},
        **_v05_v2_common("self"),
    ),
    ("schedule_free_adamw_v05", "external"): Variant(
        "schedule_free_adamw_v05",
        preset="algoperf_v05",
        batch_sizes="v05",
        warmup_step_hint_fraction=1.0,
        batchnorm="train_forward",
        fixed={"r": 0.75, "weight_lr_power": 2.0},
        **_v05_v2_common("external"),
    ),
    # The v2 entry (v0.6 harness). Its external module read dropout_rate but never
    # passed it to model_fn; reproduced as published.
    ("schedule_free_adamw_v2", "self"): Variant(
        "schedule_free_adamw_v2",
        preset="algoperf_v2",
        batch_sizes="v2_self",
        warmup_step_hint_fraction=0.75,
        batchnorm="extra_forward_mod3",
        pass_dropout=False,
        fixed={"r": 0.0, "weight_lr_power": 2.0},
        **_v05_v2_common("self"),
    ),
    ("schedule_free_adamw_v2", "external"): Variant(
        "schedule_free_adamw_v2",
        preset="algoperf_v2",
        batch_sizes="v2_external",
        warmup_step_hint_fraction=0.75,
        batchnorm="extra_forward_mod3",
        pass_dropout=False,
        fixed={"r": 0.0, "weight_lr_power": 2.0},
        **_v05_v2_common("external"),
    ),
}


def get_variant(name: str, ruleset: str) -> Variant:
    try:
        return VARIANTS[(name, ruleset)]
    except KeyError:
        known = ", ".join(f"{n} ({r})" for n, r in VARIANTS)
        raise ValueError(
            f"unknown submission variant {name!r} ({ruleset}); known: {known}"
        ) from None


def check_point(point: dict) -> None:
    """Raise ValueError for a search-space point with unknown or missing names."""
    unknown = sorted(set(point) - HPARAM_NAMES)
    if unknown:
        raise ValueError(
            f"unknown hyperparameters {unknown}; a point may set {sorted(HPARAM_NAMES)}"
        )
    missing = sorted(REQUIRED_HPARAMS - set(point))
    if missing:
        raise ValueError(f"missing hyperparameters {missing}; every point must set them")


def resolve_hyperparameters(variant: Variant, hyperparameters) -> dict:
    """The hyperparameters a trial runs with, as a dict.

    Self-tuning: ``hyperparameters`` is None (the harness's own fake-data test
    passes ``{}``): the variant's defaults. External tuning: a namedtuple (or
    mapping) of one search-space point, checked by :func:`check_point` and laid
    over the defaults (for the optional names). Fixed values of the entry win.
    """
    values = dict(variant.defaults)
    if hyperparameters:
        point = (
            hyperparameters._asdict()
            if hasattr(hyperparameters, "_asdict")
            else dict(hyperparameters)
        )
        check_point(point)
        values.update(point)
    values.update(variant.fixed)
    return values


def warmup_steps(variant: Variant, hparams: dict, step_hint: int) -> int:
    """Warmup length of the variant: int(warmup_factor * step_hint * fraction)."""
    return int(hparams["warmup_factor"] * step_hint * variant.warmup_step_hint_fraction)


def optimizer_kwargs(variant: Variant, hparams: dict, step_hint: int) -> dict:
    """Keyword arguments of ScheduleFreeAdamW / schedule_free_adamw for a trial."""
    return dict(
        preset=variant.preset,
        lr=hparams["learning_rate"],
        betas=(1.0 - hparams["one_minus_beta1"], hparams["beta2"]),
        weight_decay=hparams["weight_decay"],
        warmup_steps=warmup_steps(variant, hparams, step_hint),
        r=hparams["r"],
        weight_lr_power=hparams["weight_lr_power"],
    )
