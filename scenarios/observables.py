"""The household covariates a survey observes: the CLDS paper's covariate list, defined once.

Used by the scenario runs' yearly vulnerability metric (:mod:`.runner`) and, through
:mod:`ruralabm.analysis.specs`, by the papers' studies. Pure constants: imports nothing.
"""
from __future__ import annotations

# Household covariates of the propensity and vulnerability regressions of the CLDS paper.
CLDS_COVARIATES = ["age", "health", "job", "famsize", "machine", "subsidy", "distance", "hroad", "lamp", "edu",
                   "ability", "twork"]
# Never observed by a survey (and never a regressor).
UNOBSERVABLE = ["entrepreneurial_drive"]
