"""Moved to :mod:`ruralabm.analysis.studies.validation`; this name is kept as an alias (the same module object)."""
import sys

from .studies import validation as _module

sys.modules[__name__] = _module
