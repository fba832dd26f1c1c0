"""synth_conformer settings, shared by every framework (librispeech_conformer analog).

Task: CTC recognition of synthetic phoneme-tone utterances (see :mod:`.data`)
with a small Conformer (2 blocks, width 64, 4 heads, depthwise kernel 7, x2 time
subsampling). Metric: ``wer`` (word error rate of greedy CTC decodes, lower is
better).

Sizes: 8192 train utterances generated on the fly (eval_train: the first 256),
256 validation, 256 test; 33 spectral bins x up to 113 frames (about 37 on
average); up to 3 words of up to 4 phonemes.

Targets, budget, step_hint and eval period come from the one procedure of
``benchmarks/calibrate_workloads_b.py`` (NAdamW = ``torch.optim.NAdam(
decoupled_weight_decay=True)``, betas (0.9, 0.98), weight decay 0.1, 5% linear
warmup + cosine decay to 0 at step_hint, global batch 32, 1 torch thread):

* step_hint 250; grid lr {2e-3, 5e-3} (seed 0): final validation WER 0.596 /
  0.412; tuned lr 5e-3, seed 1: 0.410.
* validation target 0.4144, test target 0.4695 (worst seed's best, +2%); both
  seeds reach the validation target by step 225.
* measured 0.55 s/step on the shared 2-core machine (load average ~14), so
  123.5 s to target; budget 380 s (3x), eval period 19 s (budget / 20).
"""

from __future__ import annotations

from sfadamw import spec


class SynthConformerSettings:
    name = "synth_conformer"
    algoperf_analog = "librispeech_conformer"
    target_metric_name = "wer"
    loss_type = spec.LossType.CTC_LOSS
    validation_target_value = 0.4144
    test_target_value = 0.4695
    max_allowed_runtime_sec = 380.0
    eval_period_time_sec = 19.0
    step_hint = 250
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
