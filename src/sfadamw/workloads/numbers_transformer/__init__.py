"""numbers_transformer: English -> French number words with a small Transformer (wmt analog).

See :mod:`sfadamw.workloads.numbers_transformer.workload` for sizes, targets and calibration.
"""

FRAMEWORKS = {"pytorch": "sfadamw.workloads.numbers_transformer.pytorch:NumbersTransformerWorkload"}
