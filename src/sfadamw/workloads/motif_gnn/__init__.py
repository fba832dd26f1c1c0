"""motif_gnn: multi-label graph property prediction on graphs with planted motifs (ogbg analog).

See :mod:`sfadamw.workloads.motif_gnn.workload` for sizes, targets and their calibration.
"""

FRAMEWORKS = {"pytorch": "sfadamw.workloads.motif_gnn.pytorch:MotifGNNWorkload"}
