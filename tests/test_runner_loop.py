"""The protocol loop (sfadamw.runner.loop) with a fake clock: what is timed, when evals
run, what prepare_for_eval does, and each way of stopping."""

import types

import pytest
import torch

from sfadamw import spec
from sfadamw.runner.loop import TrialConfig, train_once
from tests.runner_fixtures import FakeClock, TinyJaxWorkload, TinyTorchWorkload

STEP_COST, PREP_COST, EVAL_COST = 1.0, 0.5, 10.0


def make_submission(clock, complete_at=None, with_train_state=True, prepare=True):
    """SGD whose steps cost STEP_COST and prepare_for_eval PREP_COST fake seconds."""
    seen = {"train_state": [], "model_state": [], "prepared": []}

    def init_optimizer_state(workload, model_params, model_state, hyperparameters, rng):
        return {"optimizer": torch.optim.SGD(model_params.parameters(), lr=0.5)}

    def update(workload, current_param_container, current_params_types, model_state,
               hyperparameters, batch, loss_type, optimizer_state, eval_results, global_step,
               rng, **extra):
        seen["train_state"].append(dict(extra["train_state"]) if "train_state" in extra else None)
        seen["model_state"].append(model_state)
        if global_step == complete_at:
            raise spec.TrainingCompleteError()
        clock.advance(STEP_COST)
        optimizer_state["optimizer"].zero_grad()
        logits, _ = workload.model_fn(current_param_container, batch, model_state,
                                      spec.ForwardPassMode.TRAIN, rng, True)
        losses = workload.loss_fn(batch["targets"], logits)
        (losses["summed"] / losses["n_valid_examples"]).backward()
        optimizer_state["optimizer"].step()
        return optimizer_state, current_param_container, model_state

    if with_train_state:
        def update_params(workload, current_param_container, current_params_types, model_state,
                          hyperparameters, batch, loss_type, optimizer_state, eval_results,
                          global_step, rng, train_state=None):
            return update(workload, current_param_container, current_params_types, model_state,
                          hyperparameters, batch, loss_type, optimizer_state, eval_results,
                          global_step, rng, train_state=train_state)
    else:
        def update_params(workload, current_param_container, current_params_types, model_state,
                          hyperparameters, batch, loss_type, optimizer_state, eval_results,
                          global_step, rng):
            return update(workload, current_param_container, current_params_types, model_state,
                          hyperparameters, batch, loss_type, optimizer_state, eval_results,
                          global_step, rng)

    def prepare_for_eval(workload, current_param_container, current_params_types, model_state,
                         hyperparameters, loss_type, optimizer_state, eval_results, global_step,
                         rng):
        clock.advance(PREP_COST)
        seen["prepared"].append(global_step)
        return optimizer_state, current_param_container, ("prepared", global_step)

    sub = types.SimpleNamespace(
        get_batch_size=lambda name: 32,
        init_optimizer_state=init_optimizer_state,
        update_params=update_params,
        data_selection=lambda workload, input_queue, *a: next(input_queue),
        seen=seen,
    )
    if prepare:
        sub.prepare_for_eval = prepare_for_eval
    return sub


def run(workload_cls=TinyTorchWorkload, ruleset="external", budget=1e6, period=3.0,
        max_steps=7, complete_at=None, targets=(2.0, 2.0), **kwargs):
    clock = FakeClock()
    workload = workload_cls()
    workload.clock, workload.eval_cost = clock, EVAL_COST
    workload.max_allowed_runtime_sec, workload.eval_period_time_sec = budget, period
    workload.validation_target_value, workload.test_target_value = targets
    sub = make_submission(clock, complete_at=complete_at, **kwargs)
    cfg = TrialConfig(framework="pytorch", tuning_ruleset=ruleset, hyperparameters=None,
                      rng_seed=0, max_global_steps=max_steps, show_progress=False)
    return train_once(workload, sub, cfg, clock=clock), workload, sub


def test_timing_counts_steps_and_prepare_for_eval_but_not_eval():
    # Written out from the protocol (steps 1 s, prepare 0.5 s, eval 10 s, period 3 s):
    # step 1 ends at sub 1 -> eval (first step), prepare -> 1.5; steps 2, 3, 4 -> 3 s since
    # the last eval ended -> eval at step 4, score 4.5 + 0.5 = 5.0; steps 5-7 -> step 7
    # (also max_global_steps) -> score 8.5. Eval time 10 s each.
    result, workload, sub = run()
    steps = [s for s, _ in result.eval_results]
    assert steps == [1, 4, 7] == workload.eval_calls
    assert [r["score"] for _, r in result.eval_results] == [1.5, 5.0, 8.5]
    assert [r["accumulated_eval_time"] for _, r in result.eval_results] == [10, 20, 30]
    assert result.stop_reason == "max_global_steps"
    assert result.accumulated_submission_time == 8.5


def test_prepare_for_eval_is_called_and_its_state_is_used():
    result, workload, sub = run()
    assert sub.seen["prepared"] == [1, 4, 7]
    # update_params at global_step 1 (the second step) sees the model_state prepare returned
    assert sub.seen["model_state"][0] is None
    assert sub.seen["model_state"][1] == ("prepared", 1)
    assert sub.seen["model_state"][4] == ("prepared", 4)


def test_train_state_is_passed_only_when_the_signature_has_it():
    _, _, with_state = run()
    state = with_state.seen["train_state"][2]
    assert state["accumulated_submission_time"] == 2.5  # steps 1, 2 and one prepare
    assert state["accumulated_eval_time"] == 10.0
    assert state["validation_goal_reached"] is False and state["training_complete"] is False
    _, _, without = run(with_train_state=False)
    assert without.seen["train_state"] == [None] * 7


def test_without_prepare_for_eval_nothing_is_added():
    result, _, _ = run(prepare=False)
    assert [r["score"] for _, r in result.eval_results] == [1.0, 4.0, 7.0]


@pytest.mark.parametrize("ruleset, budget, steps", [
    # external: budget 4 s; the eval at step 4 sees 5.0 s >= 4 -> no eval, stop
    ("external", 4.0, [1]),
    # self-tuning: 1.5 x 4 = 6 s; 5.0 < 6 evaluates at step 4, 8.5 >= 6 stops at step 7
    ("self", 4.0, [1, 4]),
])
def test_budget_is_checked_at_evals(ruleset, budget, steps):
    result, _, _ = run(ruleset=ruleset, budget=budget, max_steps=100)
    assert [s for s, _ in result.eval_results] == steps
    assert result.stop_reason == "budget"


def test_training_complete_error_ends_with_a_final_eval():
    result, _, _ = run(complete_at=4, max_steps=100, period=100.0)
    # step indices 0..3 train, the call at global_step 4 raises; global_step becomes 5
    assert [s for s, _ in result.eval_results] == [1, 5]
    assert result.stop_reason == "training_complete"
    assert result.accumulated_submission_time == 4 * STEP_COST + 2 * PREP_COST


def test_goals_reached_stops_and_reports_first_reach():
    result, _, _ = run(targets=(0.5, 0.5), period=0.0, max_steps=100)
    assert result.stop_reason == "goals_reached"
    assert result.reached_step == 1 and result.global_step == 1
    assert result.reached_time == 1.5


def test_eval_every_steps_schedule():
    clock = FakeClock()
    workload = TinyTorchWorkload()
    workload.validation_target_value = workload.test_target_value = 2.0
    sub = make_submission(clock)
    cfg = TrialConfig(framework="pytorch", tuning_ruleset="self", hyperparameters=None,
                      rng_seed=0, max_global_steps=12, eval_every_steps=5, show_progress=False)
    result = train_once(workload, sub, cfg, clock=clock)
    assert [s for s, _ in result.eval_results] == [1, 5, 10, 12]


def test_jax_workload_trains_and_reaches_target():
    import importlib.util

    spec_ = importlib.util.spec_from_file_location("sgd_sub", "tests/fixtures/sgd_submission.py")
    sub = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(sub)
    workload = TinyJaxWorkload()
    cfg = TrialConfig(framework="jax", tuning_ruleset="self", hyperparameters=None,
                      rng_seed=0, max_global_steps=100, eval_every_steps=10, show_progress=False)
    result = train_once(workload, sub, cfg)
    assert result.reached_step is not None
    assert result.eval_results[0][0] == 1
