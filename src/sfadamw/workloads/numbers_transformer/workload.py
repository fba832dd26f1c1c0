"""numbers_transformer settings, shared by every framework (wmt analog).

Task: translate cardinal numbers from English words to French words (our own
rules, see :mod:`.data`) with a pre-LN encoder-decoder Transformer (2+2 layers,
width 64, 4 heads, feed-forward 256). Metric: ``bleu`` (sacrebleu corpus BLEU
of greedy decodes, higher is better).

Sizes: 16384 train pairs (eval_train: the first 256), 256 validation, 256 test;
vocabulary 61 word tokens; sources padded to 24 tokens, targets to 32.

Targets, budget, step_hint and eval period: CALIBRATION PENDING.
"""

from __future__ import annotations

from sfadamw import spec


class NumbersTransformerSettings:
    name = "numbers_transformer"
    algoperf_analog = "wmt"
    target_metric_name = "bleu"
    loss_type = spec.LossType.SOFTMAX_CROSS_ENTROPY
    validation_target_value = 80.0
    test_target_value = 80.0
    max_allowed_runtime_sec = 300.0
    eval_period_time_sec = 15.0
    step_hint = 1000
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
