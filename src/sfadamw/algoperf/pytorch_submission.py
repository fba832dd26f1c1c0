"""The AlgoPerf v0.6 submission API for Schedule-Free AdamW in PyTorch, for any variant.

``make_submission(variant)`` returns the five functions a submission module
exports. Parameters hold y during training; ``prepare_for_eval`` switches them
to x (``ScheduleFreeAdamW.eval``) and the next ``update_params`` switches back,
so no per-step extrapolation is paid. BatchNorm handling per
:mod:`sfadamw.algoperf.variants`. Under DDP (torchrun) the summed loss and
``n_valid_examples`` are all-reduced before dividing, as the harness expects.
"""

from __future__ import annotations

import collections
import copy
import types
from typing import Any

import torch
import torch.distributed as dist
import torch.distributed.nn as dist_nn

from sfadamw import spec
from sfadamw.algoperf import api, variants
from sfadamw.algoperf.reset import stalled
from sfadamw.torch import ScheduleFreeAdamW, recompute_batchnorm_stats
from sfadamw.torch.batchnorm import batchnorm_layers

#: Recent batches are checkpointed only up to this size (ImageNet's would be GBs):
#: a run resumed without them recomputes BatchNorm statistics at its first eval
#: from the batches seen since the restart.
MAX_CHECKPOINTED_BATCH_BYTES = 256 * 2**20


class SubmissionState:
    """What the submission keeps besides the optimizer (checkpointable: state_dict()).

    Holds the last training batches for the BatchNorm recomputation (saved with
    the checkpoint when they total at most MAX_CHECKPOINTED_BATCH_BYTES, so a
    resumed run evaluates exactly as an uninterrupted one), and for the v0.5
    reset heuristic the initial weights on the CPU and the number of evals seen.
    """

    def __init__(self, bn_batches: int) -> None:
        self.recent_batches: collections.deque = collections.deque(maxlen=bn_batches)
        self.initial_weights: dict[str, torch.Tensor] | None = None
        self.evals_checked = 0
        self.resets = 0

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {"evals_checked": self.evals_checked, "resets": self.resets}
        batches = [{k: v.detach().cpu() for k, v in b.items()} for b in self.recent_batches]
        size = sum(v.numel() * v.element_size() for b in batches for v in b.values())
        if size <= MAX_CHECKPOINTED_BATCH_BYTES:
            state["recent_batches"] = batches
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.evals_checked = int(state["evals_checked"])
        self.resets = int(state["resets"])
        self.recent_batches.clear()
        self.recent_batches.extend(state.get("recent_batches", []))


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The module under DDP / torch.compile wrappers."""
    while hasattr(model, "module") or hasattr(model, "_orig_mod"):
        model = getattr(model, "module", None) or model._orig_mod
    return model


def _model_kwargs(variant, hparams: dict) -> dict:
    if variant.pass_dropout and hparams.get("dropout_rate") is not None:
        return {"dropout_rate": hparams["dropout_rate"]}
    return {}


def _label_smoothing(variant, hparams: dict, workload) -> float:
    if variant.label_smoothing_softmax_only and (
        workload.loss_type != spec.LossType.SOFTMAX_CROSS_ENTROPY
    ):
        return 0.0
    return float(hparams.get("label_smoothing", 0.0))


def make_submission(variant: variants.Variant) -> types.SimpleNamespace:
    """The functions of a PyTorch submission module for ``variant``."""

    def init_optimizer_state(workload, model_params, model_state, hyperparameters, rng):
        del model_state, rng
        hparams = variants.resolve_hyperparameters(variant, hyperparameters)
        kwargs = variants.optimizer_kwargs(variant, hparams, workload.step_hint)
        optimizer = ScheduleFreeAdamW(model_params.parameters(), **kwargs)
        state = SubmissionState(variant.bn_batches)
        if variant.reset_heuristic:
            state.initial_weights = {
                k: v.detach().to("cpu", copy=True)
                for k, v in _unwrap(model_params).state_dict().items()
            }
        return {"optimizer": optimizer, "submission": state}

    def _forward(workload, model, model_state, batch, rng, update_batch_norm, hparams, mode):
        return workload.model_fn(
            params=model,
            augmented_and_preprocessed_input_batch=batch,
            model_state=model_state,
            mode=mode,
            rng=rng,
            update_batch_norm=update_batch_norm,
            **_model_kwargs(variant, hparams),
        )

    def update_params(
        workload,
        current_param_container,
        current_params_types,
        model_state,
        hyperparameters,
        batch,
        loss_type,
        optimizer_state,
        eval_results,
        global_step,
        rng,
        train_state=None,
    ):
        del current_params_types, loss_type, train_state
        hparams = variants.resolve_hyperparameters(variant, hyperparameters)
        optimizer: ScheduleFreeAdamW = optimizer_state["optimizer"]
        state: SubmissionState = optimizer_state["submission"]
        model = current_param_container
        if variant.reset_heuristic:
            _maybe_reset(workload, model, optimizer, state, eval_results, global_step)
        optimizer.train()  # no-op unless the last call was prepare_for_eval
        model.train()
        if variant.batchnorm == "extra_forward_mod3" and batchnorm_layers(_unwrap(model)):
            refresh = (global_step % 3 == 0) == (variant.ruleset == "self")
            if refresh:
                with optimizer.evaluating(), torch.no_grad():
                    _, model_state = _forward(
                        workload,
                        model,
                        model_state,
                        batch,
                        rng,
                        True,
                        hparams,
                        spec.ForwardPassMode.TRAIN,
                    )
        optimizer.zero_grad(set_to_none=True)
        update_bn = variant.batchnorm != "extra_forward_mod3"
        logits, new_model_state = _forward(
            workload, model, model_state, batch, rng, update_bn, hparams, spec.ForwardPassMode.TRAIN
        )
        losses = workload.loss_fn(
            label_batch=batch["targets"],
            logits_batch=logits,
            mask_batch=batch.get("weights"),
            label_smoothing=_label_smoothing(variant, hparams, workload),
        )
        summed, n_valid = losses["summed"], losses["n_valid_examples"]
        if dist.is_available() and dist.is_initialized():
            summed = dist_nn.all_reduce(summed)
            n_valid = dist_nn.all_reduce(torch.as_tensor(n_valid, device=summed.device))
        (summed / n_valid).backward()
        optimizer.step()
        if variant.batchnorm == "recompute_at_x" and batchnorm_layers(_unwrap(model)):
            state.recent_batches.append(batch)
        return optimizer_state, model, new_model_state

    def prepare_for_eval(
        workload,
        current_param_container,
        current_params_types,
        model_state,
        hyperparameters,
        loss_type,
        optimizer_state,
        eval_results,
        global_step,
        rng,
    ):
        del current_params_types, loss_type, eval_results, global_step
        optimizer: ScheduleFreeAdamW = optimizer_state["optimizer"]
        state: SubmissionState = optimizer_state["submission"]
        model = current_param_container
        optimizer.eval()
        if variant.batchnorm == "recompute_at_x" and state.recent_batches:
            hparams = variants.resolve_hyperparameters(variant, hyperparameters)

            device = next(_unwrap(model).parameters()).device

            def forward(module, batch):
                nonlocal model_state
                batch = {k: v.to(device) for k, v in batch.items()}  # restored on the CPU
                _, model_state = _forward(
                    workload,
                    model,
                    model_state,
                    batch,
                    rng,
                    True,
                    hparams,
                    spec.ForwardPassMode.TRAIN,
                )

            recompute_batchnorm_stats(_unwrap(model), list(state.recent_batches), forward)
        return optimizer_state, model, model_state

    return api.submission(variant, init_optimizer_state, update_params, prepare_for_eval)


@torch.no_grad()
def _maybe_reset(workload, model, optimizer, state, eval_results, global_step) -> None:
    """The v0.5 self-tuning reset: restart from the initial weights at half the lr."""
    if not eval_results or len(eval_results) == state.evals_checked:
        return
    state.evals_checked = len(eval_results)
    if global_step < 0.1 * workload.step_hint:
        return
    if not stalled(eval_results, workload.target_metric_name):
        return
    _unwrap(model).load_state_dict(copy.deepcopy(state.initial_weights))
    optimizer.state.clear()
    for group in optimizer.param_groups:
        group.update(k=0, lr_max=0.0, weight_sum=0.0, train_mode=True, lr=group["lr"] / 2)
    state.resets += 1
