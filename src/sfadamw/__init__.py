"""sfadamw: Schedule-Free AdamW for the MLCommons AlgoPerf benchmark.

The framework-independent parts live here: the hyperparameters and named
variants (:mod:`sfadamw.presets`) and the per-step scalars every variant shares
(:mod:`sfadamw.schedule`). The optimizers are in :mod:`sfadamw.torch` and
:mod:`sfadamw.jax`, imported on demand so that neither framework is required.
"""

from sfadamw.presets import PRESETS, ScheduleFreeConfig, get_preset

__version__ = "0.1.0"

__all__ = ["PRESETS", "ScheduleFreeConfig", "get_preset", "__version__"]
