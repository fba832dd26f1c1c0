"""phantom_unet settings: model size, targets, budget.

Calibrated by ``benchmarks/calibrate_workloads.py phantom_unet --threads 1``
(procedure in that script's docstring; curves in
``results/calibration/phantom_unet.json``): NAdamW with linear warmup (5%)
and cosine decay over ``STEP_HINT`` = 300 steps of batch 16, weight decay
0.05; validation SSIM after 300 steps with learning rate 1e-3 / 3e-3 / 9e-3:
0.694 / 0.788 / 0.787, so 3e-3. Seeds 0, 1, 2 at 3e-3 reach the target (the
worst seed's best, 0.787; the zero-filled input scores 0.551) at steps
285 / 195 / 210, i.e. 10.6 / 6.2 / 6.2 s of one-thread CPU time (~31 steps
per CPU second); budget max(60 s, 3 x 6.2 s) = 60 s; eval period 0.5 s.
"""

VALIDATION_TARGET = 0.787
TEST_TARGET = 0.79
STEP_HINT = 300
EVAL_PERIOD_SEC = 0.5
BUDGET_SEC = 60.0

#: Channels of the first U-Net level (doubled at each of the POOL_LAYERS levels).
CHANNELS = 8
POOL_LAYERS = 2
