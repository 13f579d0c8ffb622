"""Moved to :mod:`ruralabm.analysis.estimators.vep`; this name is kept as an alias (the same module object)."""
import sys

from .estimators import vep as _module

sys.modules[__name__] = _module
