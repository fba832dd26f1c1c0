"""The stall test of the AlgoPerf v0.5 self-tuning reset heuristic.

With at least 4 evals, the run has stalled when the validation target metric
(sign-flipped where lower is better) improved by less than 0.01 both from the
first eval to the latest and between each pair of consecutive evals among the
last four. ``eval_results`` is the harness's list of ``(global_step, metrics)``.
"""

from __future__ import annotations

from sfadamw.workloads.base import metric_is_minimized

MIN_EVALS = 4
MIN_IMPROVEMENT = 0.01


def stalled(eval_results, metric_name: str) -> bool:
    if len(eval_results) < MIN_EVALS:
        return False
    sign = -1.0 if metric_is_minimized(metric_name) else 1.0
    values = [sign * metrics[f"validation/{metric_name}"] for _, metrics in eval_results]
    last = values[-MIN_EVALS:]
    steps = [b - a for a, b in zip(last[:-1], last[1:], strict=True)]
    return values[-1] - values[0] < MIN_IMPROVEMENT and all(s < MIN_IMPROVEMENT for s in steps)
