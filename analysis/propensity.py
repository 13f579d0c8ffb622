"""Moved to :mod:`ruralabm.analysis.estimators.propensity`; this name is kept as an alias (the same module object)."""
import sys

from .estimators import propensity as _module

sys.modules[__name__] = _module
