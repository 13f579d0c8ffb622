"""Moved to :mod:`ruralabm.analysis.studies.survey`; this name is kept as an alias (the same module object)."""
import sys

from .studies import survey as _module

sys.modules[__name__] = _module
