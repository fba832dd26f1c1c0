"""Two forced host devices, a 1-D 'batch' mesh: the same result as one device.

The run happens in a subprocess because XLA_FLAGS must be set before JAX
initialises its backends (tests/jax_mesh_check.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.jax_helpers import float32_tolerance

ROOT = Path(__file__).resolve().parents[1]


def test_two_device_mesh_matches_one_device(tmp_path):
    out = tmp_path / "mesh.npz"
    env = dict(os.environ)
    env["XLA_FLAGS"] = (
        env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"
    ).strip()
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")])
    subprocess.run(
        [sys.executable, str(ROOT / "tests" / "jax_mesh_check.py"), str(out)],
        env=env,
        check=True,
        timeout=300,
    )
    result = np.load(out)
    assert int(result["device_count"]) == 2
    assert bool(result["mesh_replicated"])
    keys = [k.split("/", 1)[1] for k in result.files if k.startswith("single/")]
    assert {k.split("/")[0] for k in keys} == {"y", "x", "z", "v"}
    # The sharded batch changes only the order of the loss's sum over examples,
    # so gradients differ by a few ulps; 20 steps stay within the float32 bound.
    bound = float32_tolerance(20)
    for key in keys:
        single = result[f"single/{key}"].astype(np.float64)
        mesh = result[f"mesh/{key}"].astype(np.float64)
        error = np.abs(single - mesh).max() / np.abs(single).max()
        assert error <= bound, f"{key}: one device vs mesh relative error {error:.3g}"
        # The optimizer itself adds nothing: same gradients, same bits.
        np.testing.assert_array_equal(
            result[f"opt_single/{key}"], result[f"opt_mesh/{key}"], err_msg=key
        )
