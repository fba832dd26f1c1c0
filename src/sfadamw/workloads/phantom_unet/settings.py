"""phantom_unet settings: model size, targets, budget.

Set by benchmarks/calibrate_workloads.py (see its docstring for the procedure).
"""

VALIDATION_TARGET = 0.85
TEST_TARGET = 0.85
STEP_HINT = 1000
EVAL_PERIOD_SEC = 5.0
BUDGET_SEC = 180.0

#: Channels of the first U-Net level (doubled at each of the POOL_LAYERS levels).
CHANNELS = 8
POOL_LAYERS = 2
