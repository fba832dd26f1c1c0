"""digits_vit settings: model size, targets, budget.

Calibrated by ``benchmarks/calibrate_workloads.py digits_vit --threads 1``
(procedure in that script's docstring; curves in
``results/calibration/digits_vit.json``): NAdamW with linear warmup (5%) and
cosine decay over ``STEP_HINT`` = 400 steps of batch 64, weight decay 0.05;
validation accuracy after 400 steps with learning rate 1e-3 / 3e-3 / 9e-3:
0.927 / 0.967 / 0.823, so 3e-3. Seeds 0, 1, 2 at 3e-3 reach the target
(the worst seed's best, 0.916) at steps 220 / 360 / 280, i.e. 8.9 / 14.9 /
11.6 s of one-thread CPU time (24.5 steps per CPU second); budget max(60 s,
3 x 11.6 s) = 60 s; eval period 11.6 s / 10 = 1 s.
"""

VALIDATION_TARGET = 0.916
TEST_TARGET = 0.893
STEP_HINT = 400
EVAL_PERIOD_SEC = 1.0
BUDGET_SEC = 60.0

#: 4x4 patches of the 16x16 images (16 tokens), width, depth, heads, MLP width.
PATCH = 4
WIDTH = 64
DEPTH = 4
HEADS = 4
MLP_WIDTH = 128
