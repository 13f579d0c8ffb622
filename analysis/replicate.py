"""Moved to :mod:`ruralabm.analysis.studies.replicate`; this name is kept as an alias (the same module object)."""
import sys

from .studies import replicate as _module

sys.modules[__name__] = _module
