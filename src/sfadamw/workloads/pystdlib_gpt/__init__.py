"""pystdlib_gpt: a byte-level GPT on the Python standard library's source (finewebedu_lm
analog), in PyTorch and JAX with one data pipeline.

See :mod:`sfadamw.workloads.pystdlib_gpt.workload` for sizes, targets and calibration.
"""

FRAMEWORKS = {
    "pytorch": "sfadamw.workloads.pystdlib_gpt.pytorch:PyStdlibGPTWorkload",
    "jax": "sfadamw.workloads.pystdlib_gpt.jax:PyStdlibGPTWorkload",
}
