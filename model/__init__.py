"""The simulation: parameters, population, yearly processes and the Mesa model.

``RuralModel`` is imported on first use (it pulls in mesa and pandas); parameters and the
named enumerations are light, so the command line can read scenarios without them.
"""
from .enums import Form, OrgType, Product, Region
from .params import FORMS, ORGANISATION_TYPES, PRODUCTS, REGIONS, ParameterError, Params

__all__ = ["RuralModel", "Params", "ParameterError", "UNOBSERVABLE_COLUMNS", "FORMS", "ORGANISATION_TYPES",
           "PRODUCTS", "REGIONS", "Form", "OrgType", "Product", "Region"]


def __getattr__(name: str):
    if name in ("RuralModel", "UNOBSERVABLE_COLUMNS"):
        from . import core
        return getattr(core, name)
    raise AttributeError(f"module 'ruralabm.model' has no attribute {name!r}")
