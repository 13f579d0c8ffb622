"""Moved to :mod:`ruralabm.analysis.estimators.cmp`; this name is kept as an alias (the same module object)."""
import sys

from .estimators import cmp as _module

sys.modules[__name__] = _module
