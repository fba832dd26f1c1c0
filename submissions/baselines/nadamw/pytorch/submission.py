"""AlgoPerf baseline: NAdamW with linear warmup and cosine decay (PyTorch).

Our implementation of the equations of the harness's NAdamW baseline. Per
parameter p with gradient g, at step t = 1, 2, ... and scheduled rate lr_t:

    m     = b1 m + (1 - b1) g
    v     = b2 v + (1 - b2) g^2
    m_bar = b1 m + (1 - b1) g                       (Nesterov look-ahead)
    p     = p (1 - lr_t wd) - lr_t / (1 - b1^t) * m_bar / (sqrt(v / (1 - b2^t)) + eps)

lr_t: linear warmup over int(warmup_factor * H) steps, then cosine decay to 0 at
H = 0.75 * step_hint (:func:`sfadamw.lr_schedules.warmup_cosine`; the harness's
"full budget" baseline uses 0.75 of the step hint). Hyperparameters (external
tuning): learning_rate, one_minus_beta1, beta2, weight_decay, warmup_factor,
optional dropout_rate, label_smoothing, grad_clip. Self-tuning (hyperparameters
None) uses SELF_TUNING_HPARAMS, the harness's self-tuning NAdamW values.
Sources: Dozat, "Incorporating Nesterov Momentum into Adam" (ICLR 2016 workshop);
Loshchilov & Hutter, "Decoupled Weight Decay Regularization" (ICLR 2019).
"""

from __future__ import annotations

import torch
import torch.distributed.nn as dist_nn

from sfadamw import spec
from sfadamw.lr_schedules import warmup_cosine
from sfadamw.runner.distributed import pytorch_setup
from sfadamw.workload_settings import get_batch_size as _settings_batch_size

USE_PYTORCH_DDP = pytorch_setup()[0]
STEP_HINT_FACTOR = 0.75
LOG_EVERY_STEPS = 20
SELF_TUNING_HPARAMS = {
    "learning_rate": 0.0017486387539278373,
    "one_minus_beta1": 0.06733926164,
    "beta2": 0.9955159689799007,
    "weight_decay": 0.08121616522670176,
    "warmup_factor": 0.02,
    "dropout_rate": 0.1,
    "label_smoothing": 0.0,
}
DEFAULTS = {"dropout_rate": None, "label_smoothing": 0.0, "grad_clip": None}


def hparam(hyperparameters, name: str):
    """A hyperparameter: from the trial's point, else the self-tuning value, else default."""
    if hyperparameters is None:
        return SELF_TUNING_HPARAMS.get(name, DEFAULTS.get(name))
    return getattr(hyperparameters, name, DEFAULTS.get(name))


class NAdamW(torch.optim.Optimizer):
    """NAdamW (see the module docstring for the update)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        if lr < 0 or eps < 0 or weight_decay < 0 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"invalid NAdamW arguments {lr=}, {betas=}, {eps=}, {weight_decay=}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = torch.tensor(0.0)
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"].item()
                g, m, v = p.grad, state["exp_avg"], state["exp_avg_sq"]
                m.lerp_(g, 1 - b1)
                v.mul_(b2).addcmul_(g, g, value=1 - b2)
                m_bar = g.mul(1 - b1).add_(m, alpha=b1)
                denom = (v / (1 - b2**t)).sqrt_().add_(eps)
                p.mul_(1 - lr * wd)
                p.addcdiv_(m_bar, denom, value=-lr / (1 - b1**t))
        return loss


def get_batch_size(workload_name: str) -> int:
    return _settings_batch_size(workload_name)


def init_optimizer_state(workload, model_params, model_state, hyperparameters, rng):
    del model_state, rng
    lr = hparam(hyperparameters, "learning_rate")
    optimizer = NAdamW(
        model_params.parameters(),
        lr=lr,
        betas=(1.0 - hparam(hyperparameters, "one_minus_beta1"), hparam(hyperparameters, "beta2")),
        eps=1e-8,
        weight_decay=hparam(hyperparameters, "weight_decay"),
    )
    total = int(STEP_HINT_FACTOR * workload.step_hint)
    warmup = int(hparam(hyperparameters, "warmup_factor") * total)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda k: warmup_cosine(k, 1.0, warmup, total)
    )
    return {"optimizer": optimizer, "scheduler": scheduler}


def update_params(
    workload, current_param_container, current_params_types, model_state, hyperparameters,
    batch, loss_type, optimizer_state, eval_results, global_step, rng, train_state=None,
):
    del current_params_types, loss_type, eval_results, train_state
    model = current_param_container
    model.train()
    optimizer_state["optimizer"].zero_grad()
    logits, new_model_state = workload.model_fn(
        params=model,
        augmented_and_preprocessed_input_batch=batch,
        model_state=model_state,
        mode=spec.ForwardPassMode.TRAIN,
        rng=rng,
        update_batch_norm=True,
        dropout_rate=hparam(hyperparameters, "dropout_rate"),
    )
    losses = workload.loss_fn(
        label_batch=batch["targets"],
        logits_batch=logits,
        mask_batch=batch.get("weights"),
        label_smoothing=hparam(hyperparameters, "label_smoothing"),
    )
    summed, n_valid = losses["summed"], losses["n_valid_examples"]
    if USE_PYTORCH_DDP:
        summed = dist_nn.all_reduce(summed)
        if torch.is_tensor(n_valid):
            n_valid = dist_nn.all_reduce(n_valid)
    loss = summed / n_valid
    loss.backward()
    grad_clip = hparam(hyperparameters, "grad_clip")
    if grad_clip is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=grad_clip)
    optimizer_state["optimizer"].step()
    optimizer_state["scheduler"].step()
    if global_step % LOG_EVERY_STEPS == 0 and workload.metrics_logger is not None:
        workload.metrics_logger.append_scalar_metrics(
            {"loss": loss.item(),
             "learning_rate": optimizer_state["optimizer"].param_groups[0]["lr"]},
            global_step,
        )
    return optimizer_state, model, new_model_state


def prepare_for_eval(
    workload, current_param_container, current_params_types, model_state, hyperparameters,
    loss_type, optimizer_state, eval_results, global_step, rng,
):
    """NAdamW evaluates the parameters it trains: nothing to do."""
    del workload, current_params_types, hyperparameters, loss_type, eval_results
    del global_step, rng
    return optimizer_state, current_param_container, model_state


def data_selection(
    workload, input_queue, optimizer_state, current_param_container, model_state,
    hyperparameters, global_step, rng,
):
    del workload, optimizer_state, current_param_container, model_state
    del hyperparameters, global_step, rng
    return next(input_queue)
