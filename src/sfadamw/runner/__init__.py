"""The embedded AlgoPerf-protocol runner (``sfadamw run``).

* :mod:`.cli` flags (the harness's names), checks, trials, summary line;
* :mod:`.loop` one trial: timing, evals, budget, stopping, resume;
* :mod:`.search_space` search-space loading, validation and Halton sampling;
* :mod:`.logs` the experiment layout and its files (atomic JSON, flushed CSV);
* :mod:`.checkpoint` checkpoints without pickles;
* :mod:`.rng` per-trial and per-step keys for both frameworks;
* :mod:`.distributed` PyTorch DDP helpers (``pytorch_setup``) for the runner and
  submissions;
* :mod:`.submission` importing a submission module;
* :mod:`.harness` handing official workloads to the AlgoPerf harness.
"""
