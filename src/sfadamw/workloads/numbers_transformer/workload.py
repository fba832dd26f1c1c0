"""numbers_transformer settings, shared by every framework (wmt analog).

Task: translate cardinal numbers from English words to French words (our own
rules, see :mod:`.data`) with a pre-LN encoder-decoder Transformer (2+2 layers,
width 64, 4 heads, feed-forward 256). Metric: ``bleu`` (sacrebleu corpus BLEU
of greedy decodes, higher is better).

Sizes: 16384 train pairs (eval_train: the first 256), 256 validation, 256 test;
vocabulary 61 word tokens; sources padded to 24 tokens, targets to 32.

Targets, budget, step_hint and eval period come from the one procedure of
``benchmarks/calibrate_workloads_b.py`` (NAdamW = ``torch.optim.NAdam(
decoupled_weight_decay=True)``, betas (0.9, 0.98), weight decay 0.1, 5% linear
warmup + cosine decay to 0 at step_hint, global batch 64, 1 torch thread):

* step_hint 300; grid lr {2e-3, 5e-3} (seed 0): final validation BLEU 94.62 /
  98.83; tuned lr 5e-3, seed 1: 99.17.
* validation target 96.855, test target 96.2824 (worst seed's best, -2%); both
  seeds reach the validation target by step 180.
* measured 0.32 s/step on the shared 2-core machine (load average ~14), so
  57.2 s to target; budget 180 s (3x), eval period 9 s (budget / 20).
"""

from __future__ import annotations

from sfadamw import spec


class NumbersTransformerSettings:
    name = "numbers_transformer"
    algoperf_analog = "wmt"
    target_metric_name = "bleu"
    loss_type = spec.LossType.SOFTMAX_CROSS_ENTROPY
    validation_target_value = 96.855
    test_target_value = 96.2824
    max_allowed_runtime_sec = 180.0
    eval_period_time_sec = 9.0
    step_hint = 300
    num_train_examples = 16384
    num_eval_train_examples = 256
    num_validation_examples = 256
    num_test_examples = 256
    eval_batch_size = 256
    default_dropout_rate = 0.1
    model_dim = 64
    num_heads = 4
    ff_dim = 256
    num_layers = 2
