"""Moved to :mod:`ruralabm.analysis.estimators.survival`; this name is kept as an alias (the same module object)."""
import sys

from .estimators import survival as _module

sys.modules[__name__] = _module
