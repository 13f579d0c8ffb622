"""Moved to :mod:`ruralabm.analysis.estimators.psm`; this name is kept as an alias (the same module object)."""
import sys

from .estimators import psm as _module

sys.modules[__name__] = _module
