"""motif_gnn settings, shared by every framework (ogbg analog).

Task: 8 binary labels per graph, "motif k was planted" (5% label noise), from a
3-layer GIN (hidden 64) over one-hot node types; see :mod:`.data`. Metric:
``mean_average_precision`` (higher is better), computed as ogbg does.

Sizes: 4096 train graphs (eval_train: the first 512), 512 validation, 512 test,
8-19 background nodes plus the planted motifs (about 23 nodes on average).

Targets, budget, step_hint and eval period: CALIBRATION PENDING.
"""

from __future__ import annotations

from sfadamw import spec


class MotifGNNSettings:
    name = "motif_gnn"
    algoperf_analog = "ogbg"
    target_metric_name = "mean_average_precision"
    loss_type = spec.LossType.SIGMOID_CROSS_ENTROPY
    validation_target_value = 0.8
    test_target_value = 0.8
    max_allowed_runtime_sec = 300.0
    eval_period_time_sec = 15.0
    step_hint = 1000
    num_train_examples = 4096
    num_eval_train_examples = 512
    num_validation_examples = 512
    num_test_examples = 512
    eval_batch_size = 512
    default_dropout_rate = 0.1
    hidden_dim = 64
    num_layers = 3
