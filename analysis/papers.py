"""Moved to :mod:`ruralabm.analysis.studies.papers`; this name is kept as an alias (the same module object)."""
import sys

from .studies import papers as _module

sys.modules[__name__] = _module
