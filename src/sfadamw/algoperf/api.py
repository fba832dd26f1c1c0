"""The framework-independent parts of the submission API, shared by PyTorch and JAX."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

from sfadamw.algoperf import variants
from sfadamw.workload_settings import batch_size


def data_selection(
    workload, input_queue, optimizer_state, current_param_container, model_state,
    hyperparameters, global_step, rng,
):
    """The next batch of the input queue (no data selection)."""
    del workload, optimizer_state, current_param_container, model_state
    del hyperparameters, global_step, rng
    return next(input_queue)


def submission(
    variant: variants.Variant,
    init_optimizer_state: Callable,
    update_params: Callable,
    prepare_for_eval: Callable,
) -> SimpleNamespace:
    """The functions a submission module exports, around a framework's three."""

    def get_batch_size(workload_name: str) -> int:
        return batch_size(workload_name, variant.batch_sizes)

    return SimpleNamespace(
        check_hyperparameters=variants.check_point,
        get_batch_size=get_batch_size,
        init_optimizer_state=init_optimizer_state,
        update_params=update_params,
        prepare_for_eval=prepare_for_eval,
        data_selection=data_selection,
    )
