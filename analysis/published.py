"""Moved to :mod:`ruralabm.analysis.studies.published`; this name is kept as an alias (the same module object)."""
import sys

from .studies import published as _module

sys.modules[__name__] = _module
