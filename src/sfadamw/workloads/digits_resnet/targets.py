"""digits_resnet targets, budget, eval period and step hint (both frameworks).

Set by benchmarks/calibrate_workloads.py (see its docstring for the procedure).
"""

VALIDATION_TARGET = 0.97
TEST_TARGET = 0.97
STEP_HINT = 1000
EVAL_PERIOD_SEC = 5.0
BUDGET_SEC = 180.0
