"""digits_resnet settings shared by both frameworks: model widths, targets, budget.

Set by benchmarks/calibrate_workloads.py (see its docstring for the procedure).
"""

VALIDATION_TARGET = 0.97
TEST_TARGET = 0.97
STEP_HINT = 1000
EVAL_PERIOD_SEC = 5.0
BUDGET_SEC = 180.0

#: Channels of the three ResNet stages.
WIDTHS = (16, 32, 64)
