"""Exceptions raised by the estimators when the input cannot give a meaningful estimate."""


class EstimationError(ValueError):
    """The data cannot give the requested estimate (message names the problem)."""


class ConvergenceError(EstimationError):
    """The optimiser did not converge (message names the estimator and the optimiser's report)."""
