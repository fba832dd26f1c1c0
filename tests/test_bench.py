"""Smoke test of ``sfadamw bench step --quick``: it runs and writes what it says (no timings)."""

from __future__ import annotations

import json
import math

import pytest

from sfadamw import bench
from sfadamw.errors import UserError


def test_resnet50_and_transformer_shapes_match_the_published_counts():
    # torchvision resnet50: 25,557,032 parameters in 161 tensors; Transformer-base ~60.5M
    resnet = bench.resnet50_shapes()
    assert (sum(math.prod(s) for s in resnet), len(resnet)) == (25_557_032, 161)
    assert 60e6 < sum(math.prod(s) for s in bench.transformer_base_shapes()) < 61e6


def test_quick_run_writes_json_and_chart(tmp_path, capsys):
    assert bench.main(["step", "--quick", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "step_cpu.json").read_text())
    assert (tmp_path / "step_cpu.png").read_bytes()[:4] == b"\x89PNG"
    assert result["schema"] == bench.SCHEMA and result["device"] == "cpu" and result["quick"]
    assert result["triad"]["gb_per_s"] > 0 and result["triad"]["bytes_per_element"] == 12
    assert set(result["shapes"]) == {"tiny"}
    names = {r["optimizer"] for r in result["results"]}
    assert {
        "ours_compiled",
        "ours_compiled_nocheck",
        "ours_foreach",
        "schedulefree_foreach",
        "schedulefree_per_tensor",
        "torch_adamw_foreach",
        "torch_adamw_fused",
        "optax_adamw",
        "optax_schedule_free_adamw",
        "jax_ours",
        "jax_ours_nocheck",
    } <= names
    n = result["shapes"]["tiny"]["params"]
    for r in result["results"]:
        if not r["available"]:
            assert r["note"].startswith("not available")
            continue
        assert r["steps"] == len(r["times_ms"]) >= 2
        assert r["median_ms"] > 0 and r["ratio_to_torch_fused_adamw"] > 0
        expected_gbps = 28 * n / (r["median_ms"] / 1e3) / 1e9
        assert r["effective_gb_per_s"] == pytest.approx(expected_gbps)
        if r["optimizer"].startswith(("ours", "torch_adamw", "schedulefree")):
            assert r["state_bytes"] == 2 * 4 * n  # z and v (or exp_avg and exp_avg_sq)
    fused = next(r for r in result["results"] if r["optimizer"] == "torch_adamw_fused")
    assert fused["ratio_to_torch_fused_adamw"] == 1.0
    table = capsys.readouterr().out
    assert "x fused" in table and "ours_compiled" in table


@pytest.mark.parametrize(
    "argv,message",
    [
        (["step", "--shapes", "vgg"], "unknown shape"),
        (["step", "--device", "tpu"], "--device must be"),
        (["step", "--repeats", "0"], "--repeats must be"),
        (["step", "--rounds", "0"], "--rounds must be"),
    ],
)
def test_bad_flags_are_user_errors(argv, message, tmp_path):
    with pytest.raises(UserError, match=message):
        bench.main([*argv, "--out", str(tmp_path)])


def test_rounds_take_turns_and_pool_their_steps(tmp_path):
    """--rounds R: every optimizer is timed in each of R passes; a row pools all its steps."""
    order = []
    argv = ["step", "--shapes", "tiny", "--repeats", "2", "--budget", "0", "--rounds", "2"]
    argv += ["--optimizers", "torch_adamw_fused,ours_compiled_nocheck", "--out", str(tmp_path)]
    real = bench.bench_torch

    def spy(name, *args):
        order.append(name)
        return real(name, *args)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bench, "bench_torch", spy)
        assert bench.main(argv) == 0
    assert order == ["ours_compiled_nocheck", "torch_adamw_fused"] * 2
    rows = json.loads((tmp_path / "step_cpu.json").read_text())["results"]
    assert [(r["optimizer"], r["rounds"], r["steps"]) for r in rows] == [
        ("ours_compiled_nocheck", 2, 4),
        ("torch_adamw_fused", 2, 4),
    ]
