"""Moved to :mod:`ruralabm.analysis.estimators.did`; this name is kept as an alias (the same module object)."""
import sys

from .estimators import did as _module

sys.modules[__name__] = _module
