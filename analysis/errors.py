"""Moved to :mod:`ruralabm.analysis.estimators.errors`; this name is kept as an alias (the same module object)."""
import sys

from .estimators import errors as _module

sys.modules[__name__] = _module
