"""Schedule-Free AdamW for PyTorch: the optimizer and the BatchNorm-at-x helper."""

from sfadamw.torch.batchnorm import recompute_batchnorm_stats
from sfadamw.torch.optimizer import ScheduleFreeAdamW

__all__ = ["ScheduleFreeAdamW", "recompute_batchnorm_stats"]
