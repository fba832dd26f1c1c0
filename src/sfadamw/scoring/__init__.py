"""Scoring by the AlgoPerf rules: logs -> time to target -> performance profile -> score.

* :mod:`.targets`: what each workload is scored on (official target files, or a mapping);
* :mod:`.logs`: reading experiment folders (harness layout) and compact tables;
* :mod:`.rules`: the rules, step by step; :func:`score_logs` applies them all;
* :mod:`.output`: CSV tables and the profile plot; :mod:`.cli`: ``sfadamw score``.

The maths is the official scorer's (``shared/data/algoperf_leaderboards/scoring_rules.md``);
on the public logs our scores are bit-identical to its outputs. Where the official
code depends on chance or crashes, we define the behaviour instead:

* ties between trials at the same eval index: the smaller time wins (official:
  the first folder the filesystem lists);
* only base workloads and held-out variants of the targets are scored, with or
  without held-out variants (official, without: every folder, so a stray variant
  folder could gate its base workload);
* a base workload nobody ran is "not reached" (official: KeyError);
* stray files are ignored, timestamped resume folders are merged only into their
  submission (official: also scored as submissions of their own), a workload run
  in both frameworks pools its trials (official: crash); each with a warning;
* floats are parsed exactly (official: pandas' default parser, 1 ULP off at times).

Embedded workloads bring their own targets::

    targets = Targets.from_mapping({"digits_resnet": ("accuracy", 0.97)})
    result = score_logs(read_experiment_dir("experiments/self_tuning", targets), targets)
"""

from sfadamw.scoring.logs import Issues, Logs, read_experiment_dir, read_table
from sfadamw.scoring.rules import Result, score_logs
from sfadamw.scoring.targets import Target, Targets, load_targets, version_targets

__all__ = ["Issues", "Logs", "Result", "Target", "Targets", "load_targets",
           "read_experiment_dir", "read_table", "score_logs", "version_targets"]
