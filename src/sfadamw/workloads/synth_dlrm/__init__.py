"""synth_dlrm: a DLRM-style click model on planted synthetic data (criteo1tb analog)."""

FRAMEWORKS = {"pytorch": "sfadamw.workloads.synth_dlrm.pytorch:SynthDLRMWorkload"}
