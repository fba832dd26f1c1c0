"""synth_dlrm settings: model sizes, targets, budget.

Set by benchmarks/calibrate_workloads.py (see its docstring for the procedure).
"""

VALIDATION_TARGET = 0.34
TEST_TARGET = 0.34
STEP_HINT = 1000
EVAL_PERIOD_SEC = 5.0
BUDGET_SEC = 180.0

EMBED_DIM = 16
BOTTOM_MLP = (64, EMBED_DIM)
TOP_MLP = (64, 32, 1)
