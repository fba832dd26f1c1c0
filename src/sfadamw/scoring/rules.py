"""The AlgoPerf scoring rules: time to target, performance profile, benchmark score.

Sources: Dahl et al., "Benchmarking Neural Network Training Algorithms" (2023,
arXiv:2306.07179), section 4.5; Kasimbeg et al. (ICLR 2025); and the official
scorer's behaviour as written down in
``shared/data/algoperf_leaderboards/scoring_rules.md`` (section numbers below).

1. Trial (§1): the time of the first eval, in file order, whose validation value
   reaches the target (``<=`` if lower is better, else ``>=``; NaN never does).
2. Study (§2): among the trials that reach the target, the one that does so at
   the smallest eval index; the study's time is that trial's time; no trial
   reaching it gives ``inf``. **Ties** at the same eval index are broken by the
   smaller time at that eval (then by trial name, which cannot change the
   time). The official scorer kept the trial listed first by the filesystem,
   which is not reproducible; the published scores do not depend on it.
3. Workload (§3): ``numpy.median`` over the studies present (``inf`` counts);
   NaN when a submission has no runs of the workload.
4. Held-out variants (§4, v0.5): a variant is ``inf`` where its base is not
   finite; then the 4x cut on every column; then a base is ``inf`` where its
   variant is not finite; the variant columns are dropped.
5. 4x cut (§5): times ``> 4 * min`` over submissions become ``inf``.
6. Ratios (§6): time / min over submissions; ``inf`` stays ``inf`` (also when
   every submission is ``inf``), NaN stays NaN.
7. Profile (§7): rho_s(tau) = #{base workloads with ratio <= tau} / N_base on
   100 points ``tau in linspace(1, 4)``.
8. Score (§8): trapezoidal integral of rho over the grid divided by ``4 - 1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sfadamw.scoring.logs import Logs
from sfadamw.scoring.targets import Targets

MAX_TAU = 4.0
NUM_TAUS = 100
TAUS = np.linspace(1.0, MAX_TAU, NUM_TAUS)


def trial_times(logs: Logs, targets: Targets) -> pd.DataFrame:
    """One row per trial: its keys, ``eval_index`` of the first hit (NaN: none), ``time`` (inf)."""
    trials = logs.trials.set_index("source")
    evals = logs.evals
    workload = trials.loc[evals["source"], "workload"].to_numpy()
    target = np.array([targets.workloads[w].value for w in workload], dtype=np.float64)
    lower = np.array([targets.workloads[w].lower_is_better for w in workload], dtype=bool)
    value = evals["value"].to_numpy()
    with np.errstate(invalid="ignore"):
        reached = np.where(lower, value <= target, value >= target)
    reached &= ~np.isnan(evals["score"].to_numpy())
    first = evals[reached].drop_duplicates("source").set_index("source")
    out = trials.join(first[["eval_index", "score"]].rename(columns={"score": "time"}))
    out["time"] = out["time"].fillna(np.inf)
    return out.reset_index()


def study_times(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per study: the chosen ``trial``, its ``eval_index`` and ``time`` (inf: none)."""
    keys = ["submission", "workload", "study"]
    chosen = (trials.dropna(subset=["eval_index"])
              .sort_values(["eval_index", "time", "trial", "source"], kind="stable")
              .drop_duplicates(keys))
    studies = trials[keys].drop_duplicates()
    out = studies.merge(chosen[[*keys, "trial", "eval_index", "time"]], on=keys, how="left")
    out["time"] = out["time"].fillna(np.inf)
    out["eval_index"] = out["eval_index"].astype("Int64")
    return out.sort_values(keys, ignore_index=True)


def workload_times(studies: pd.DataFrame, targets: Targets,
                   submissions: list[str] | None = None) -> pd.DataFrame:
    """Submissions x scored workloads: median over studies (NaN: no runs)."""
    medians = studies.groupby(["submission", "workload"])["time"].agg(
        lambda t: float(np.median(t.to_numpy())))
    table = medians.unstack("workload") if len(medians) else pd.DataFrame()
    index = sorted(set(submissions or ()) | set(table.index))
    table = table.reindex(index=index, columns=list(targets.scored)).astype(np.float64)
    table.index.name, table.columns.name = "submission", None
    return table


def adjusted_times(times: pd.DataFrame, targets: Targets) -> pd.DataFrame:
    """Held-out gate and 4x cut (steps 4, 5): base workloads only, times or inf/NaN."""
    t = times.copy()
    for variant in targets.held_out:
        t.loc[~np.isfinite(t[targets.base_of(variant)]), variant] = np.inf
    best = t.min(axis=0, skipna=True)
    t = t.mask(t > MAX_TAU * best, np.inf)
    for variant in targets.held_out:
        t.loc[~np.isfinite(t[variant]), targets.base_of(variant)] = np.inf
    return t[list(targets.base)]


def ratios(adjusted: pd.DataFrame) -> pd.DataFrame:
    """Performance ratios time / best time per workload (step 6)."""
    return (adjusted / adjusted.min(axis=0, skipna=True)).mask(np.isinf(adjusted), np.inf)


def performance_profile(ratio: pd.DataFrame, num_base: int) -> pd.DataFrame:
    """rho(tau) per submission on the grid ``TAUS`` (columns), step 7."""
    r = ratio.to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        rho = (r[:, :, None] <= TAUS[None, None, :]).sum(axis=1) / num_base
    return pd.DataFrame(rho, index=ratio.index, columns=TAUS)


_trapezoid = getattr(np, "trapezoid", None) or np.trapz  # numpy < 2 has only trapz


def scores(profile: pd.DataFrame) -> pd.Series:
    """Benchmark score: normalised area under the profile (step 8)."""
    area = _trapezoid(profile.to_numpy(), TAUS, axis=1) / (MAX_TAU - 1.0)
    return pd.Series(area, index=profile.index, name="score")


@dataclass
class Result:
    """Everything the scorer computes, each step's table."""

    trials: pd.DataFrame  #: one row per trial (first hit)
    studies: pd.DataFrame  #: one row per study (chosen trial)
    time_to_targets: pd.DataFrame  #: submissions x workloads, before held-out gate and 4x cut
    ratios: pd.DataFrame  #: submissions x base workloads, after them
    profile: pd.DataFrame  #: submissions x taus
    scores: pd.Series


def score_logs(logs: Logs, targets: Targets) -> Result:
    """Apply the rules to ``logs``."""
    trials = trial_times(logs, targets)
    studies = study_times(trials)
    times = workload_times(studies, targets, list(logs.trials["submission"].unique()))
    ratio = ratios(adjusted_times(times, targets))
    profile = performance_profile(ratio, len(targets.base))
    return Result(trials, studies, times, ratio, profile, scores(profile))
