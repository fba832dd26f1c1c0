"""AlgoPerf submissions of Schedule-Free AdamW: the variants table and the shared logic.

The submission modules under ``submissions/`` are thin: each picks a variant of
:data:`sfadamw.algoperf.variants.VARIANTS` and takes its five functions from
:mod:`sfadamw.algoperf.pytorch_submission` or :mod:`sfadamw.algoperf.jax_submission`.
"""
