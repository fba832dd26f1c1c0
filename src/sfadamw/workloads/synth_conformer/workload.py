"""synth_conformer settings, shared by every framework (librispeech_conformer analog).

Task: CTC recognition of synthetic phoneme-tone utterances (see :mod:`.data`)
with a small Conformer (2 blocks, width 64, 4 heads, depthwise kernel 7, x2 time
subsampling). Metric: ``wer`` (word error rate of greedy CTC decodes, lower is
better).

Sizes: 8192 train utterances generated on the fly (eval_train: the first 256),
256 validation, 256 test; 33 spectral bins x up to 113 frames (about 37 on
average); up to 3 words of up to 4 phonemes.

Targets, budget, step_hint and eval period: CALIBRATION PENDING.
"""

from __future__ import annotations

from sfadamw import spec


class SynthConformerSettings:
    name = "synth_conformer"
    algoperf_analog = "librispeech_conformer"
    target_metric_name = "wer"
    loss_type = spec.LossType.CTC_LOSS
    validation_target_value = 0.2
    test_target_value = 0.2
    max_allowed_runtime_sec = 300.0
    eval_period_time_sec = 15.0
    step_hint = 1000
    num_train_examples = 8192
    num_eval_train_examples = 256
    num_validation_examples = 256
    num_test_examples = 256
    eval_batch_size = 256
    default_dropout_rate = 0.1
    model_dim = 64
    num_heads = 4
    num_layers = 2
    conv_kernel = 7
