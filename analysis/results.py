"""Moved to :mod:`ruralabm.analysis.estimators.results`; this name is kept as an alias (the same module object)."""
import sys

from .estimators import results as _module

sys.modules[__name__] = _module
