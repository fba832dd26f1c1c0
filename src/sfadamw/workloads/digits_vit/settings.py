"""digits_vit settings: model size, targets, budget.

Set by benchmarks/calibrate_workloads.py (see its docstring for the procedure).
"""

VALIDATION_TARGET = 0.95
TEST_TARGET = 0.95
STEP_HINT = 1000
EVAL_PERIOD_SEC = 5.0
BUDGET_SEC = 180.0

#: 4x4 patches of the 16x16 images (16 tokens), width, depth, heads, MLP width.
PATCH = 4
WIDTH = 64
DEPTH = 4
HEADS = 4
MLP_WIDTH = 128
