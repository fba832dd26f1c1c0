"""Schedule-Free AdamW as a ``torch.optim.Optimizer``.

The parameters hold y (the gradient point) while training and x (the average,
the point to evaluate) after :meth:`ScheduleFreeAdamW.eval`. The state per
parameter is z and the second moment v (plus x when beta1 = 0, where x cannot
be recovered from y = z). Each step, for every parameter with a gradient::

    v  <- b2 v + (1 - b2) g^2
    u   = g / (sqrt(v / denom_div) + eps) + wd * p      (p = y, or x for decay_at="x")
    y  <- lerp(y, z, c_k) + alpha (b1 (1 - c_k) - 1) u
    z  <- z - alpha u

with the scalars of :func:`sfadamw.schedule.step_scalars`. This is the update
of Defazio et al., "The Road Less Scheduled" (NeurIPS 2024), Algorithm 1, in
the (y, z) form of schedulefree 1.4.1 ``AdamWScheduleFree``; the presets of
:mod:`sfadamw.presets` select the published variants. The kernels in
:mod:`sfadamw.torch.kernels` compute it; unlike the reference, ``p.grad`` is
left untouched.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch

from sfadamw.presets import ScheduleFreeConfig, schedule_free_config
from sfadamw.schedule import step_scalars
from sfadamw.torch import kernels

_CONFIG_KEYS = (
    "lr",
    "betas",
    "eps",
    "weight_decay",
    "warmup_steps",
    "r",
    "weight_lr_power",
    "decay_at",
    "bias_correction",
    "second_moment_dtype",
    "lr_floor",
    "weight_lr",
)

_DTYPES = {None: None, "float32": torch.float32, "bfloat16": torch.bfloat16}
NONFINITE = ("skip", "error", "ignore")
logger = logging.getLogger("sfadamw")


def group_config(group: dict[str, Any]) -> ScheduleFreeConfig:
    """The :class:`ScheduleFreeConfig` of a param group (validates it)."""
    return ScheduleFreeConfig(**{key: group[key] for key in _CONFIG_KEYS})


class ScheduleFreeAdamW(torch.optim.Optimizer):
    r"""Schedule-Free AdamW (Defazio et al. 2024), one implementation for every variant.

    Args:
        params: parameters or param groups (each group may set its own hyperparameters).
        lr, betas, eps, weight_decay, warmup_steps, r, weight_lr_power: as in
            schedulefree's ``AdamWScheduleFree``; ``None`` takes the preset's value.
        preset: ``"paper"`` (schedulefree 1.4.1), ``"algoperf_v05"`` or ``"algoperf_v2"``
            (the two AlgoPerf entries); see :mod:`sfadamw.presets`.
        decay_at, bias_correction, second_moment_dtype, lr_floor, weight_lr: the variant
            switches of :class:`sfadamw.presets.ScheduleFreeConfig` (``None``: preset's).
        implementation: ``"auto"``, ``"single_tensor"``, ``"foreach"`` or ``"compiled"``
            (one torch.compile'd elementwise kernel per tensor): which kernel computes
            the update (they agree; see :mod:`sfadamw.torch.kernels`). ``"auto"`` picks
            ``"compiled"`` for float32 groups of >= 2^20 elements on CPU or CUDA and
            ``"foreach"`` otherwise, or after a failed compile (with a warning).

        nonfinite: what a step does when the closure's loss or any gradient is NaN or
            infinite: ``"skip"`` (default) leaves y, z, v and the counters untouched,
            counts the step in each group's ``skipped_steps`` and logs a warning (logger
            ``sfadamw``); ``"error"`` raises ``FloatingPointError``; ``"ignore"`` does no
            check (saves one read of the gradients per step).

    Call :meth:`train` and :meth:`eval` wherever you call ``model.train()`` and
    ``model.eval()``; :meth:`evaluating` does both around a block.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float | None = None,
        betas: tuple[float, float] | None = None,
        eps: float | None = None,
        weight_decay: float | None = None,
        warmup_steps: int | None = None,
        r: float | None = None,
        weight_lr_power: float | None = None,
        *,
        preset: str = "paper",
        decay_at: str | None = None,
        bias_correction: str | None = None,
        second_moment_dtype: str | None = None,
        lr_floor: float | None = None,
        weight_lr: str | None = None,
        implementation: str = "auto",
        nonfinite: str = "skip",
    ) -> None:
        config = schedule_free_config(
            lr,
            betas,
            eps,
            weight_decay,
            warmup_steps,
            r,
            weight_lr_power,
            preset=preset,
            decay_at=decay_at,
            bias_correction=bias_correction,
            second_moment_dtype=second_moment_dtype,
            lr_floor=lr_floor,
            weight_lr=weight_lr,
        )
        if implementation not in kernels.IMPLEMENTATIONS:
            raise ValueError(
                f"implementation must be one of {', '.join(kernels.IMPLEMENTATIONS)}, "
                f"got {implementation!r}"
            )
        if nonfinite not in NONFINITE:
            raise ValueError(f"nonfinite must be one of {', '.join(NONFINITE)}, got {nonfinite!r}")
        defaults = dict(
            config.as_dict(),
            implementation=implementation,
            nonfinite=nonfinite,
            skipped_steps=0,
            k=0,
            lr_max=0.0,
            weight_sum=0.0,
            train_mode=True,
        )
        super().__init__(params, defaults)
        for group in self.param_groups:
            group_config(group)  # validate per-group overrides early

    # --- modes -------------------------------------------------------------------
    def _switch(self, to_train: bool) -> None:
        """One foreach pass per group: p <- lerp(p, z, w), or p <- x where x is stored.

        eval: x = y + (1 - 1/b1)(z - y); train: y = x + (1 - b1)(z - x) (for b1 = 0, y = z).
        """
        for group in self.param_groups:
            if group["train_mode"] == to_train:
                continue
            beta1 = group["betas"][0]
            params, zs, stored, xs = [], [], [], []
            for p in group["params"]:
                state = self.state.get(p, {})
                if "x" in state and not to_train:
                    stored.append(p)
                    xs.append(state["x"])
                elif "z" in state:
                    params.append(p)
                    zs.append(state["z"])
            if stored:
                torch._foreach_copy_(stored, xs)
            if params:
                torch._foreach_lerp_(params, zs, 1.0 - beta1 if to_train else 1.0 - 1.0 / beta1)
            group["train_mode"] = to_train

    @torch.no_grad()
    def eval(self) -> None:
        """Move the parameters from y to x (idempotent)."""
        self._switch(to_train=False)

    @torch.no_grad()
    def train(self) -> None:
        """Move the parameters from x back to y (idempotent)."""
        self._switch(to_train=True)

    @property
    def train_mode(self) -> bool:
        """True while the parameters hold y."""
        return all(group["train_mode"] for group in self.param_groups)

    @contextlib.contextmanager
    def evaluating(self) -> Iterator[None]:
        """Hold x in the parameters inside the block, then return to the previous mode."""
        was_training = self.train_mode
        self.eval()
        try:
            yield
        finally:
            if was_training:
                self.train()

    # --- the step ------------------------------------------------------------------
    def _init_state(self, p: torch.Tensor, config: ScheduleFreeConfig) -> dict[str, torch.Tensor]:
        state = self.state[p]
        if "z" not in state:
            v_dtype = _DTYPES[config.second_moment_dtype] or p.dtype
            state["z"] = p.detach().clone(memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(
                p, dtype=v_dtype, memory_format=torch.preserve_format
            )
            if config.betas[0] == 0.0:
                state["x"] = p.detach().clone(memory_format=torch.preserve_format)
        return state

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """One Schedule-Free AdamW step on every parameter that has a gradient."""
        if not self.train_mode:
            raise RuntimeError(
                "ScheduleFreeAdamW.step() called in eval mode (parameters hold x): call "
                "optimizer.train() before training steps and optimizer.eval() before evaluating"
            )
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        if any(
            p.grad is not None and p.grad.is_sparse
            for group in self.param_groups
            for p in group["params"]
        ):
            raise RuntimeError(
                "ScheduleFreeAdamW does not support sparse gradients; "
                "use dense gradients (e.g. nn.Embedding(sparse=False))"
            )
        if self._nonfinite(loss):
            return loss
        for group in self.param_groups:
            config = group_config(group)
            active = [p for p in group["params"] if p.grad is not None]
            scalars = step_scalars(config, group["k"], group["lr_max"], group["weight_sum"])
            group["k"] += 1
            group["lr_max"] = float(scalars.lr_max)
            group["weight_sum"] = float(scalars.weight_sum)
            group["scheduled_lr"] = float(scalars.lr)
            if not active:
                continue
            states = [self._init_state(p, config) for p in active]
            kernels.update(
                ys=active,
                zs=[s["z"] for s in states],
                vs=[s["exp_avg_sq"] for s in states],
                grads=[p.grad for p in active],
                xs=[s["x"] for s in states] if "x" in states[0] else None,
                scalars=kernels.Scalars.from_step(scalars),
                config=config,
                implementation=group["implementation"],
            )
        return loss

    def _nonfinite(self, loss) -> bool:
        """True when this step must not update (a NaN/inf loss or gradient, mode "skip")."""
        mode = self.defaults["nonfinite"]
        if mode == "ignore":
            return False
        grads = [p.grad for g in self.param_groups for p in g["params"] if p.grad is not None]
        finite = loss is None or bool(torch.isfinite(torch.as_tensor(loss)).all())
        if finite and grads:
            # one fused reduction: a norm is finite iff every element is (or it overflows)
            norms = torch._foreach_norm(grads)
            finite = bool(torch.stack([n.float() for n in norms]).isfinite().all())
        if finite:
            return False
        k = self.param_groups[0]["k"]
        if mode == "error":
            raise FloatingPointError(
                f"ScheduleFreeAdamW: non-finite loss or gradient at step {k}; lower the "
                "learning rate or pass nonfinite='skip' to skip such steps"
            )
        for group in self.param_groups:
            group["skipped_steps"] = group.get("skipped_steps", 0) + 1
        logger.warning(
            "ScheduleFreeAdamW: skipped step %d (non-finite loss or gradient); %d skipped so far",
            k,
            self.param_groups[0]["skipped_steps"],
        )
        return True

    # --- checkpoints ----------------------------------------------------------------
    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load as ``torch.optim.Optimizer`` does, keeping v in its configured dtype.

        torch casts floating-point state to the parameter dtype on load; v is cast
        back (exactly: it was widened from that dtype), so a resumed run continues
        bit for bit. The mode (``train_mode``) is restored with the param groups.
        """
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            v_dtype = _DTYPES[group["second_moment_dtype"]]
            if v_dtype is None:
                continue
            for p in group["params"]:
                state = self.state.get(p)
                if state and "exp_avg_sq" in state:
                    state["exp_avg_sq"] = state["exp_avg_sq"].to(v_dtype)
