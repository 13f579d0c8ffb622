"""The simulation: parameters, population, yearly processes and the Mesa model."""
from .core import UNOBSERVABLE_COLUMNS, RuralModel
from .params import FORMS, ORGANISATION_TYPES, PRODUCTS, REGIONS, ParameterError, Params

__all__ = ["RuralModel", "Params", "ParameterError", "UNOBSERVABLE_COLUMNS", "FORMS", "ORGANISATION_TYPES",
           "PRODUCTS", "REGIONS"]
