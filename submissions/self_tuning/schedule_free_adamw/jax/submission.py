"""Schedule-Free AdamW (our submission: the published update, evaluation at x through
prepare_for_eval, BatchNorm statistics recomputed at x).

AlgoPerf v0.6 submission API, self-tuning ruleset, JAX. The logic is shared
by every variant and lives in sfadamw.algoperf; the variant's settings are in
sfadamw.algoperf.variants.VARIANTS[("schedule_free_adamw", "self")].
"""

from sfadamw.algoperf.jax_submission import make_submission
from sfadamw.algoperf.variants import get_variant

_SUBMISSION = make_submission(get_variant("schedule_free_adamw", "self"))

get_batch_size = _SUBMISSION.get_batch_size
init_optimizer_state = _SUBMISSION.init_optimizer_state
update_params = _SUBMISSION.update_params
prepare_for_eval = _SUBMISSION.prepare_for_eval
data_selection = _SUBMISSION.data_selection
# not part of the AlgoPerf API: lets `sfadamw run` refuse a bad search space before writing
check_hyperparameters = _SUBMISSION.check_hyperparameters
