"""User errors: each kind its own type; the CLI prints one line and exits 2."""


class UserError(Exception):
    """Bad input from the user (flags, files, search spaces, paths)."""


class SearchSpaceError(UserError):
    """A malformed or out-of-range tuning search space."""


class WorkloadError(UserError):
    """An unknown workload, or one not available in the chosen framework."""


class ExperimentError(UserError):
    """An experiment directory that exists, cannot be written, or cannot be resumed."""


class LogError(UserError):
    """An experiment log that cannot be read (raised with --strict)."""
