"""One trial under the AlgoPerf protocol: the training loop, top to bottom.

What is timed (``accumulated_submission_time``): from the end of one step to
the end of the next, i.e. ``data_selection`` + ``update_params`` (compilation
included), and ``prepare_for_eval``. What is not: building the data, model
init, ``init_optimizer_state``, evaluation (``accumulated_eval_time``), logging
and checkpointing (``accumulated_logging_time``).

When to evaluate: after the first step, then whenever ``eval_period_time_sec``
of wall-clock time has passed since the end of the last eval, and when training
completes; with ``eval_every_steps=N`` instead after step 1 and at every step
that is a multiple of N (and at completion), so a run is reproducible step for
step. Before each eval the submission's ``prepare_for_eval`` (if defined) runs,
timed, and training continues from the state it returns.

When to stop: the budget (``max_allowed_runtime_sec``, x1.5 for self-tuning) is
checked at eval points; past it, no eval and the loop ends. Training also ends
once both the validation and the test targets have been reached, when the
submission raises ``spec.TrainingCompleteError`` (after a final eval), or at
``max_global_steps`` (after a final eval).

Resume: a checkpoint is written after each eval row (row first, then the
checkpoint, which records how many rows exist). On resume the logs are cut
back to the rows the checkpoint knows, the state is restored, the train input
queue is rebuilt from the same key and fast-forwarded past the batches already
consumed, and steps and times continue. Eval rows are thus neither lost nor
duplicated, and with ``eval_every_steps`` they are identical to an
uninterrupted run's.
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
import time
import types
from collections.abc import Callable, Iterator
from typing import Any

from tqdm import tqdm

from sfadamw import spec
from sfadamw.runner import checkpoint, distributed
from sfadamw.runner.logs import MetricsLogger
from sfadamw.runner.rng import Prng

SELF_TUNING_BUDGET_FACTOR = 1.5


@dataclasses.dataclass
class TrialConfig:
    framework: str
    tuning_ruleset: str
    hyperparameters: Any
    rng_seed: int
    folder: str | None = None  # the trial's log folder; None writes nothing
    preemption_count: int = 0
    max_global_steps: int | None = None
    eval_every_steps: int | None = None
    data_dir: str | None = None
    save_checkpoints: bool = True
    resume: bool = False
    show_progress: bool = True


@dataclasses.dataclass
class TrialResult:
    global_step: int
    accumulated_submission_time: float
    stop_reason: str  # 'goals_reached' | 'budget' | 'training_complete' | 'max_global_steps'
    eval_results: list[tuple[int, dict[str, float]]]
    reached_step: int | None = None  # first eval reaching the validation target
    reached_time: float | None = None  # its submission time (the score)
    reached_value: float | None = None


class InputQueue:
    """The train queue: counts the batches taken, shards them under DDP, can skip ahead."""

    def __init__(self, queue: Iterator, rank: int, world_size: int, skip: int = 0) -> None:
        self._queue, self._rank, self._world = queue, rank, world_size
        self.consumed = 0
        for _ in range(skip):
            next(self._queue)
            self.consumed += 1

    def __iter__(self) -> InputQueue:
        return self

    def __next__(self):
        batch = next(self._queue)
        self.consumed += 1
        return distributed.shard_batch(batch, self._rank, self._world)


def _block(framework: str, params) -> None:
    """Wait for asynchronous work so the clock measures it."""
    if framework == "jax":
        import jax

        jax.block_until_ready(params)
    else:
        import torch

        if torch.cuda.is_available():
            torch.cuda.synchronize()


def _call_update(submission, accepts_train_state: bool, train_state, **kwargs):
    if accepts_train_state:
        kwargs["train_state"] = types.MappingProxyType(train_state)
    return submission.update_params(**kwargs)


def train_once(
    workload,
    submission,
    cfg: TrialConfig,
    clock: Callable[[], float] = time.perf_counter,
) -> TrialResult:
    """Train ``workload`` with ``submission`` for one trial; see the module docstring."""
    framework, hp = cfg.framework, cfg.hyperparameters
    use_ddp, rank, world_size = False, 0, 1
    if framework == "pytorch":
        import torch

        use_ddp, rank, _, world_size = distributed.pytorch_setup()
        if use_ddp:
            distributed.init_process_group()
        torch.manual_seed(cfg.rng_seed)

    # --- setup: untimed ----------------------------------------------------------------
    prng = Prng(framework)
    rng = prng.key(cfg.rng_seed)
    data_rng, opt_init_rng, model_init_rng, rng = prng.split(rng, 4)
    batch_size = submission.get_batch_size(workload.name)
    eval_batch_size = (
        submission.get_eval_batch_size(workload.name)
        if hasattr(submission, "get_eval_batch_size")
        else workload.eval_batch_size
    )
    logger = MetricsLogger(cfg.folder, cfg.preemption_count) if cfg.folder and rank == 0 else None
    workload.attach_metrics_logger(logger)

    params, model_state = workload.init_model_fn(model_init_rng)
    if use_ddp:
        from torch.nn.parallel import DistributedDataParallel

        params = DistributedDataParallel(params)
    optimizer_state = submission.init_optimizer_state(
        workload, params, model_state, hp, opt_init_rng
    )
    train_state: dict[str, Any] = {
        "accumulated_submission_time": 0.0,
        "accumulated_eval_time": 0.0,
        "accumulated_logging_time": 0.0,
        "last_eval_time": 0.0,
        "last_step_end_time": 0.0,
        "validation_goal_reached": False,
        "test_goal_reached": False,
        "is_time_remaining": True,
        "training_complete": False,
    }
    global_step, consumed, duration_offset = 0, 0, 0.0
    eval_results: list[tuple[int, dict[str, float]]] = []
    rows = {"eval": 0, "train": 0}
    reached: tuple[int, float, float] | None = None

    if cfg.resume and cfg.folder:
        restored = checkpoint.load(cfg.folder, framework, params, model_state, optimizer_state)
        if restored is not None:
            params, model_state, optimizer_state, meta = restored
            train_state.update(meta["train_state"])
            global_step, consumed = meta["global_step"], meta["batches_consumed"]
            duration_offset = meta["total_duration"]
            eval_results = [(s, r) for s, r in meta["eval_results"]]
            rows = meta["rows"]
            reached = tuple(meta["reached"]) if meta["reached"] else None
            if meta["finished"]:
                return _result(global_step, train_state, meta["stop_reason"], eval_results, reached)
        if logger is not None:  # drop rows written after the checkpoint
            logger.eval.truncate(rows["eval"])
            logger.train.truncate(rows["train"])

    input_queue = InputQueue(
        workload._build_input_queue(data_rng, "train", cfg.data_dir, batch_size),
        rank, world_size, skip=consumed,
    )
    accepts_train_state = "train_state" in inspect.signature(submission.update_params).parameters
    budget = workload.max_allowed_runtime_sec * (
        SELF_TUNING_BUDGET_FACTOR if cfg.tuning_ruleset == "self" else 1.0
    )
    metric = f"validation/{workload.target_metric_name}"
    bar = tqdm(
        total=cfg.max_global_steps or workload.step_hint, initial=global_step,
        disable=not cfg.show_progress or rank != 0, file=sys.stderr, dynamic_ncols=True,
        desc=f"{workload.name} {framework}", leave=False,
    )
    latest = "no eval yet"

    def save_checkpoint(finished: bool, stop_reason: str | None = None) -> None:
        meta = {
            "global_step": global_step, "batches_consumed": input_queue.consumed,
            "train_state": {k: v for k, v in train_state.items()},
            "total_duration": duration_offset + clock() - global_start,
            "eval_results": eval_results, "rows": rows, "rng_seed": cfg.rng_seed,
            "reached": list(reached) if reached else None,
            "finished": finished, "stop_reason": stop_reason,
        }
        checkpoint.save(cfg.folder, framework, params, model_state, optimizer_state, meta)

    # --- the loop ------------------------------------------------------------------------
    global_start = clock()
    last_step_end = global_start
    last_eval_end: float | None = global_start if global_step > 0 else None
    stop_reason = "budget"
    while True:
        step_rng = prng.fold_in(rng, global_step)
        select_rng, update_rng, prep_rng, eval_rng = prng.split(step_rng, 4)

        batch = submission.data_selection(
            workload, input_queue, optimizer_state, params, model_state, hp, global_step,
            select_rng,
        )
        try:
            optimizer_state, params, model_state = _call_update(
                submission, accepts_train_state, train_state,
                workload=workload, current_param_container=params,
                current_params_types=workload.model_params_types, model_state=model_state,
                hyperparameters=hp, batch=batch, loss_type=workload.loss_type,
                optimizer_state=optimizer_state, eval_results=eval_results,
                global_step=global_step, rng=update_rng,
            )
        except spec.TrainingCompleteError:
            train_state["training_complete"] = True
            stop_reason = "training_complete"
        global_step += 1
        if cfg.max_global_steps is not None and global_step >= cfg.max_global_steps:
            train_state["training_complete"] = True
            stop_reason = "max_global_steps"
        _block(framework, params)
        now = clock()
        train_state["accumulated_submission_time"] += now - last_step_end
        train_state["last_step_end_time"] = now

        if cfg.eval_every_steps:
            eval_due = global_step == 1 or global_step % cfg.eval_every_steps == 0
        else:
            eval_due = last_eval_end is None or now - last_eval_end >= workload.eval_period_time_sec
        eval_due = eval_due or train_state["training_complete"]
        (eval_due,) = distributed.agree([float(eval_due)], use_ddp)

        if eval_due:
            # prepare_for_eval is timed; training continues from what it returns.
            if hasattr(submission, "prepare_for_eval"):
                start = clock()
                optimizer_state, params, model_state = submission.prepare_for_eval(
                    workload=workload, current_param_container=params,
                    current_params_types=workload.model_params_types, model_state=model_state,
                    hyperparameters=hp, loss_type=workload.loss_type,
                    optimizer_state=optimizer_state, eval_results=eval_results,
                    global_step=global_step, rng=prep_rng,
                )
                _block(framework, params)
                train_state["accumulated_submission_time"] += clock() - start
            (spent,) = distributed.agree(
                [train_state["accumulated_submission_time"]], use_ddp
            )
            train_state["is_time_remaining"] = spent < budget

            if train_state["is_time_remaining"]:
                eval_start = clock()
                result = workload.eval_model(
                    eval_batch_size, params, model_state, eval_rng, cfg.data_dir, None,
                    global_step,
                )
                if workload.has_reached_validation_target(result):
                    train_state["validation_goal_reached"] = True
                    if reached is None:
                        reached = (
                            global_step, train_state["accumulated_submission_time"],
                            result[metric],
                        )
                if workload.has_reached_test_target(result):
                    train_state["test_goal_reached"] = True
                eval_end = clock()
                last_eval_end = eval_end
                train_state["last_eval_time"] = eval_end
                train_state["accumulated_eval_time"] += eval_end - eval_start
                result = {
                    **result,
                    "score": train_state["accumulated_submission_time"],
                    "total_duration": duration_offset + eval_end - global_start,
                    "accumulated_submission_time": train_state["accumulated_submission_time"],
                    "accumulated_eval_time": train_state["accumulated_eval_time"],
                    "accumulated_logging_time": train_state["accumulated_logging_time"],
                }
                eval_results.append((global_step, result))
                latest = f"{metric} {result[metric]:.4g}"

                log_start = clock()
                if logger is not None:
                    logger.append_scalar_metrics(result, global_step, is_eval=True)
                    rows = {"eval": rows["eval"] + 1, "train": _count(logger)}
                    if cfg.save_checkpoints:
                        save_checkpoint(finished=False)
                train_state["accumulated_logging_time"] += clock() - log_start

        bar.update(1)
        bar.set_postfix_str(
            f"{train_state['accumulated_submission_time']:.1f}s {latest} "
            f"(target {workload.validation_target_value})",
            refresh=False,
        )
        if not train_state["is_time_remaining"]:
            stop_reason = "budget"
            break
        if train_state["validation_goal_reached"] and train_state["test_goal_reached"]:
            stop_reason = "goals_reached"
            break
        if train_state["training_complete"]:
            break
        last_step_end = clock()
    bar.close()

    if logger is not None:
        logger.append_scalar_metrics(
            {"score": train_state["accumulated_submission_time"]}, global_step
        )
        rows = {"eval": rows["eval"], "train": _count(logger)}
        if cfg.save_checkpoints:
            save_checkpoint(finished=True, stop_reason=stop_reason)
    return _result(global_step, train_state, stop_reason, eval_results, reached)


def _count(logger: MetricsLogger) -> int:
    return len(logger.train.rows())


def _result(global_step, train_state, stop_reason, eval_results, reached) -> TrialResult:
    return TrialResult(
        global_step=global_step,
        accumulated_submission_time=train_state["accumulated_submission_time"],
        stop_reason=stop_reason,
        eval_results=eval_results,
        reached_step=reached[0] if reached else None,
        reached_time=reached[1] if reached else None,
        reached_value=reached[2] if reached else None,
    )
