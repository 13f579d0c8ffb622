"""Yearly model reporters: the region's headline numbers, collected into ``model.datacollector``.

After each year's ``record_outcomes`` the model computes them once from the current year's
household arrays (:func:`year_summary`, a handful of reductions over the arrays) and a Mesa
``DataCollector`` stores them, one row per simulated year. They are the same numbers the
household panel gives for that year (``poor_*`` and the capitals come from
:func:`~ruralabm.model.processes.outcomes.poverty_and_capitals`, which the panel's derived
columns also use); poverty rates are person-weighted, everything else a household mean.
"""
from __future__ import annotations

from functools import partial

import mesa
import numpy as np

from .processes.outcomes import poverty_and_capitals

# reporter name -> how it is computed (documentation; the computation is year_summary)
REPORTERS = {
    "year": "calendar year",
    "poor_1_9": "person-weighted poverty rate under the $1.90 line",
    "poor_national": "person-weighted poverty rate under the national line",
    "poor_3_1": "person-weighted poverty rate under the $3.10 line",
    "participation": "share of households participating in integration",
    "income_per_capita": "mean household income per capita, yuan",
    "human_capital": "mean human-capital composite",
    "natural_capital": "mean natural-capital composite",
    "physical_capital": "mean physical-capital composite, yuan",
    "financial_capital": "mean financial capital (savings - debt), yuan",
    "social_capital": "mean social-capital composite",
}
CAPITALS = ("human_capital", "natural_capital", "physical_capital", "financial_capital", "social_capital")


def year_summary(params, hh, year: int) -> dict[str, float]:
    """The reporters for one year from that year's household arrays (state or one panel year)."""
    out = poverty_and_capitals(params, hh)
    residents = hh.residents  # person-weighted over usual residents
    summary: dict[str, float] = {"year": int(year)}
    for line in ("poor_1_9", "poor_national", "poor_3_1"):
        summary[line] = float(np.average(out[line], weights=residents))
    summary["participation"] = float(np.mean(hh.participating))
    summary["income_per_capita"] = float(np.mean(out["income_per_capita"]))
    for cap in CAPITALS:
        summary[cap] = float(np.mean(out[cap]))
    return summary


def _reported(name: str, model) -> float:
    return model.year_summary[name]


def make_datacollector() -> mesa.DataCollector:
    """A DataCollector whose model reporters read the year's :func:`year_summary` (computed once
    per year by the model; picklable, no lambdas)."""
    return mesa.DataCollector(model_reporters={name: partial(_reported, name) for name in REPORTERS})
