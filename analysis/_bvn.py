"""Moved to :mod:`ruralabm.analysis.estimators._bvn`; this name is kept as an alias (the same module object)."""
import sys

from .estimators import _bvn as _module

sys.modules[__name__] = _module
