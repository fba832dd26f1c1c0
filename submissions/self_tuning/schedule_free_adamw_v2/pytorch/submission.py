"""Reproduction of the AlgoPerf v2 Schedule-Free AdamW entry (v0.6 harness).

AlgoPerf v0.6 submission API, self-tuning ruleset, PyTorch. The logic is shared
by every variant and lives in sfadamw.algoperf; the variant's settings are in
sfadamw.algoperf.variants.VARIANTS[("schedule_free_adamw_v2", "self")].
"""

from sfadamw.algoperf.pytorch_submission import make_submission
from sfadamw.algoperf.variants import get_variant

_SUBMISSION = make_submission(get_variant("schedule_free_adamw_v2", "self"))

get_batch_size = _SUBMISSION.get_batch_size
init_optimizer_state = _SUBMISSION.init_optimizer_state
update_params = _SUBMISSION.update_params
prepare_for_eval = _SUBMISSION.prepare_for_eval
data_selection = _SUBMISSION.data_selection
# not part of the AlgoPerf API: lets `sfadamw run` refuse a bad search space before writing
check_hyperparameters = _SUBMISSION.check_hyperparameters
