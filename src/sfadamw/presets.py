"""Hyperparameters of Schedule-Free AdamW and its published variants, as data.

One implementation of the update serves every variant; a variant is a
:class:`ScheduleFreeConfig`, i.e. hyperparameters plus four switches:

``decay_at``
    where decoupled weight decay is evaluated: ``"y"`` (the gradient point,
    schedulefree >= 1.3, optax, the AlgoPerf v2 entry) or ``"x"`` (the average,
    the AlgoPerf v0.5 entry).
``bias_correction``
    ``"denominator"``: ``denom = sqrt(v / (1 - b2^(k+1))) + eps`` and step ``lr_k``
    (schedulefree); ``"step_size"``: ``denom = sqrt(v) + eps`` and step
    ``lr_k * sqrt(1 - b2^(k+1))`` (both AlgoPerf entries).
``second_moment_dtype``
    ``None`` keeps v in the parameter dtype; ``"bfloat16"`` stores it in
    bfloat16 (the v0.5 entry).
``lr_floor`` and ``weight_lr``
    ``lr_k = max(lr * sched_k, lr_floor)`` (v0.5 floors at eps); the averaging
    weight uses ``lr_max`` (the largest lr_k so far; schedulefree, v0.5) or the
    current ``lr_k`` (v2).

Sources: Defazio et al., "The Road Less Scheduled", NeurIPS 2024
(arXiv:2405.15682); schedulefree 1.4.1 ``AdamWScheduleFree``; the Schedule-Free
entries in mlcommons/submissions_algorithms (AlgoPerf v0.5 and v0.6/v2).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

DecayAt = Literal["y", "x"]
BiasCorrection = Literal["denominator", "step_size"]
WeightLr = Literal["lr_max", "lr"]


@dataclass(frozen=True)
class ScheduleFreeConfig:
    """Hyperparameters and variant switches of Schedule-Free AdamW.

    Defaults are those of schedulefree 1.4.1 ``AdamWScheduleFree``.
    """

    lr: float = 0.0025
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    warmup_steps: int = 0
    r: float = 0.0
    weight_lr_power: float = 2.0
    decay_at: DecayAt = "y"
    bias_correction: BiasCorrection = "denominator"
    second_moment_dtype: str | None = None
    lr_floor: float = 0.0
    weight_lr: WeightLr = "lr_max"

    def __post_init__(self) -> None:
        b1, b2 = self.betas
        checks = [
            (self.lr >= 0, f"lr must be >= 0, got {self.lr}"),
            (0.0 <= b1 < 1.0, f"beta1 must be in [0, 1), got {b1}"),
            (0.0 <= b2 < 1.0, f"beta2 must be in [0, 1), got {b2}"),
            (self.eps >= 0, f"eps must be >= 0, got {self.eps}"),
            (self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay}"),
            (self.warmup_steps >= 0, f"warmup_steps must be >= 0, got {self.warmup_steps}"),
            (self.decay_at in ("y", "x"), f"decay_at must be 'y' or 'x', got {self.decay_at!r}"),
            (
                self.bias_correction in ("denominator", "step_size"),
                "bias_correction must be 'denominator' or 'step_size', "
                f"got {self.bias_correction!r}",
            ),
            (
                self.second_moment_dtype in (None, "float32", "bfloat16"),
                "second_moment_dtype must be None, 'float32' or 'bfloat16', "
                f"got {self.second_moment_dtype!r}",
            ),
            (
                self.weight_lr in ("lr_max", "lr"),
                f"weight_lr must be 'lr_max' or 'lr', got {self.weight_lr!r}",
            ),
            (not (self.decay_at == "x" and b1 == 0.0), "decay_at='x' needs beta1 > 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        object.__setattr__(self, "betas", (float(b1), float(b2)))

    def replace(self, **changes) -> ScheduleFreeConfig:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


#: The published method: schedulefree 1.4.1 ``AdamWScheduleFree`` defaults.
PAPER = ScheduleFreeConfig()

#: The AlgoPerf v0.5 entry (2024 leaderboard, self-tuning hyperparameters).
ALGOPERF_V05 = ScheduleFreeConfig(
    lr=0.0025,
    betas=(0.9, 0.9955159689799007),
    eps=1e-8,
    weight_decay=0.08121616522670176,
    r=0.75,
    weight_lr_power=2.0,
    decay_at="x",
    bias_correction="step_size",
    second_moment_dtype="bfloat16",
    lr_floor=1e-8,
    weight_lr="lr_max",
)

#: The AlgoPerf v2 entry (v0.6 harness).
ALGOPERF_V2 = ScheduleFreeConfig(
    lr=0.0025,
    betas=(0.9, 0.9955159689799007),
    eps=1e-8,
    weight_decay=0.08121616522670176,
    r=0.0,
    weight_lr_power=2.0,
    decay_at="y",
    bias_correction="step_size",
    second_moment_dtype=None,
    lr_floor=0.0,
    weight_lr="lr",
)

PRESETS: dict[str, ScheduleFreeConfig] = {
    "paper": PAPER,
    "algoperf_v05": ALGOPERF_V05,
    "algoperf_v2": ALGOPERF_V2,
}


def get_preset(name: str, **overrides) -> ScheduleFreeConfig:
    """The named variant, with some hyperparameters overridden."""
    try:
        config = PRESETS[name]
    except KeyError:
        raise ValueError(
            f"unknown preset {name!r}; choose one of {', '.join(sorted(PRESETS))}"
        ) from None
    return config.replace(**overrides) if overrides else config


def schedule_free_config(
    lr: float | None = None,
    betas: tuple[float, float] | None = None,
    eps: float | None = None,
    weight_decay: float | None = None,
    warmup_steps: int | None = None,
    r: float | None = None,
    weight_lr_power: float | None = None,
    *,
    preset: str | None = None,
    decay_at: str | None = None,
    bias_correction: str | None = None,
    second_moment_dtype: str | None = None,
    lr_floor: float | None = None,
    weight_lr: str | None = None,
    config: ScheduleFreeConfig | None = None,
) -> ScheduleFreeConfig:
    """The configuration the keyword arguments describe.

    The base is ``config`` if given, else the preset (default ``"paper"``);
    every argument that is not ``None`` overrides the base's value. Raises
    ``ValueError`` for an unknown preset, out-of-range values, or both
    ``preset`` and ``config``.
    """
    overrides = {
        name: value
        for name, value in dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            warmup_steps=warmup_steps,
            r=r,
            weight_lr_power=weight_lr_power,
            decay_at=decay_at,
            bias_correction=bias_correction,
            second_moment_dtype=second_moment_dtype,
            lr_floor=lr_floor,
            weight_lr=weight_lr,
        ).items()
        if value is not None
    }
    if config is not None:
        if preset is not None:
            raise ValueError("pass either preset or config, not both")
        return config.replace(**overrides) if overrides else config
    return get_preset(preset or "paper", **overrides)
