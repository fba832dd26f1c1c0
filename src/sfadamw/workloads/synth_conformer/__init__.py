"""synth_conformer: CTC recognition of synthetic tone "speech" with a Conformer
(librispeech_conformer analog).

See :mod:`sfadamw.workloads.synth_conformer.workload` for sizes, targets and calibration.
"""

FRAMEWORKS = {"pytorch": "sfadamw.workloads.synth_conformer.pytorch:SynthConformerWorkload"}
