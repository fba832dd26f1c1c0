"""Scoring by the AlgoPerf rules: logs -> time to target -> performance profile -> score.

* :mod:`.targets`: what each workload is scored on (official target files, or a mapping);
* :mod:`.logs`: reading experiment folders (harness layout) and compact tables;
* :mod:`.rules`: the rules, step by step; :func:`score_logs` applies them all;
* :mod:`.output`: CSV tables and the profile plot; :mod:`.cli`: ``sfadamw score``.
"""

from sfadamw.scoring.logs import Issues, Logs, read_experiment_dir, read_table
from sfadamw.scoring.rules import Result, score_logs
from sfadamw.scoring.targets import Target, Targets, load_targets, version_targets

__all__ = ["Issues", "Logs", "Result", "Target", "Targets", "load_targets",
           "read_experiment_dir", "read_table", "score_logs", "version_targets"]
