"""Moved to :mod:`ruralabm.analysis.estimators.resilience`; this name is kept as an alias (the same module object)."""
import sys

from .estimators import resilience as _module

sys.modules[__name__] = _module
