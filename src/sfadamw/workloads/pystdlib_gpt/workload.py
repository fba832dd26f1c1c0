"""pystdlib_gpt settings, shared by PyTorch and JAX (finewebedu_lm analog).

Task: next-byte prediction on the Python standard library's source (see
:mod:`.data`) with a GPT-style decoder (pre-LN, learned positions, causal
self-attention, GELU MLP, untied output head; weights initialised N(0, 0.02),
biases 0, in both frameworks). Metric: ``ppl`` = exp(mean next-byte negative
log-likelihood) on the split, lower is better.

Sizes: CONTEXT 128 bytes; train = every 129-byte window of 28 modules (about
13k windows on CPython 3.11); eval_train, validation and test: 64 windows each.

Targets, budget, step_hint and eval period: CALIBRATION PENDING.
"""

from __future__ import annotations

from sfadamw import spec
from sfadamw.workloads.pystdlib_gpt import data


class PyStdlibGPTSettings:
    name = "pystdlib_gpt"
    algoperf_analog = "finewebedu_lm"
    target_metric_name = "ppl"
    loss_type = spec.LossType.SOFTMAX_CROSS_ENTROPY
    validation_target_value = 5.0
    test_target_value = 5.0
    max_allowed_runtime_sec = 300.0
    eval_period_time_sec = 15.0
    step_hint = 1000
    num_eval_train_examples = data.EVAL_SEQUENCES
    num_validation_examples = data.EVAL_SEQUENCES
    num_test_examples = data.EVAL_SEQUENCES
    eval_batch_size = data.EVAL_SEQUENCES
    default_dropout_rate = 0.0
    model_dim = 64
    num_heads = 4
    num_layers = 2
    init_std = 0.02

    @property
    def num_train_examples(self) -> int:
        return len(data.split_windows("train"))
