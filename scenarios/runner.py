"""One replication, summarised: the task function that compare and sweep send to workers.

:func:`summarise_run` simulates one parameter set with one seed and reduces the household and
county panels to a few numbers per year (long format: ``year, metric, value``), plus the county
exit durations for Kaplan-Meier curves and percentiles of the resilience index for
distribution plots. Workers return only these, so memory stays flat however many runs a sweep
has.

Metrics (per year unless marked *run*):

================== ==========================================================================
poverty_1_9        person-weighted poverty rate, $1.90/day line (``poor_1_9`` x usual residents)
poverty_national   person-weighted poverty rate, national line (``poor_national``)
poverty_3_1        person-weighted poverty rate, $3.10/day line (``poor_3_1``)
vulnerability      mean vulnerability to expected poverty (national line; Chaudhuri et al. 3-step
                   FGLS of log income per capita on the CLDS covariates, fitted per year)
resilience         mean livelihood-resilience index (entropy weights, fixed reference; below)
buffering, self_organisation, learning   mean capacity scores of the same index
income_pc          mean income per capita (yuan, 2014 prices; household mean)
consumption_pc     mean consumption per capita (yuan; household mean)
participation      share of households in a cooperative or leading-enterprise contract
exit_share         *run*: share of counties that exit poverty by ``calendar.censor_date``
median_exit_date   *run*: Kaplan-Meier median exit date (decimal year; NaN if under half exit)
================== ==========================================================================

Resilience reference. Entropy weights and min-max bounds are fitted once on a fixed reference
sample and then applied unchanged to every scenario, replication and sweep point, so index
values are comparable across all of them. The reference is the pooled household-years of one
run with the default parameters (the model's default policy, cooperatives and enterprises),
10,000 households, seed 0, the default calendar (:func:`reference_index`). A pre-policy wave
would not do: nobody has been trained before the policy (``learn_trained_ever`` is constant), so
the entropy method gives that indicator zero weight and the index could not register one of the
channels integration works through, while technology adoption would dominate the weights. Values are not clipped: a household more resilient than
any in the reference scores above 1.
"""
from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from ruralabm.model.params import ParameterError, Params

from .observables import CLDS_COVARIATES

YEARLY_METRICS = ("poverty_1_9", "poverty_national", "poverty_3_1", "vulnerability", "resilience", "buffering",
                  "self_organisation", "learning", "income_pc", "consumption_pc", "participation")
RUN_METRICS = ("exit_share", "median_exit_date")
METRICS = YEARLY_METRICS + RUN_METRICS
ALIASES = {"poverty_rate": "poverty_national", "poverty": "poverty_national", "income": "income_pc",
           "consumption": "consumption_pc", "vul": "vulnerability", "resilience_index": "resilience"}
LABELS = {
    "poverty_1_9": "poverty rate, $1.90 line",
    "poverty_national": "poverty rate, national line",
    "poverty_3_1": "poverty rate, $3.10 line",
    "vulnerability": "mean vulnerability (national line)",
    "resilience": "resilience index",
    "buffering": "buffering capacity",
    "self_organisation": "self-organisation capacity",
    "learning": "learning capacity",
    "income_pc": "income per capita (yuan)",
    "consumption_pc": "consumption per capita (yuan)",
    "participation": "participation rate",
    "exit_share": "county exit share by censoring date",
    "median_exit_date": "median county exit date (KM)",
}
RESILIENCE_METRICS = ("resilience", "buffering", "self_organisation", "learning")
# CLDS covariates of the vulnerability regression (never the unobservable entrepreneurial_drive).
VEP_COVARIATES = tuple(CLDS_COVARIATES)
# Yuan per capita: floor before taking logs for this metric (a few households have losses). Not
# the survey samples' floor of 1 yuan (analysis.specs.LN_INCOME_FLOOR): here 100 keeps the few
# loss-making households from dominating the cross-section variance regression; unifying the
# two would change the compare/sweep reference outputs (tests/test_golden.py).
INCOME_FLOOR = 100.0
REFERENCE = {"n_households": 10_000, "seed": 0}
QUANTILES = np.linspace(0.0, 1.0, 101)


def resolve_metric(name: str) -> str:
    """Canonical metric name (accepts aliases such as ``poverty_rate``); error lists the choices."""
    key = name.strip()
    key = ALIASES.get(key, key)
    if key not in METRICS:
        raise ParameterError(f"unknown output '{name}'; choose from: {', '.join(METRICS)} "
                             f"(aliases: {', '.join(f'{a}={b}' for a, b in ALIASES.items())})")
    return key


# ---------------------------------------------------------------------------------------------
# Resilience reference


@functools.lru_cache(maxsize=4)
def reference_index(n_households: int = REFERENCE["n_households"], seed: int = REFERENCE["seed"]):
    """The fixed entropy-weight index (weights and bounds) all runs are measured with.

    Cached per process: computed once per worker (about 0.3 s).
    """
    # Imported on first use for start-up speed (the CLI imports this module for its options;
    # mesa, scipy): scenarios -> model and scenarios -> analysis.estimators are the allowed direction.
    from ruralabm.analysis.estimators.resilience import fit_index
    from ruralabm.model import RuralModel
    from ruralabm.model.processes.outcomes import RESILIENCE_INDICATORS

    p = Params()
    p.population.n_households = n_households
    panel = RuralModel(p, seed=seed, household_agents=False).run().household_panel()
    return fit_index(panel, RESILIENCE_INDICATORS)


# ---------------------------------------------------------------------------------------------
# One run


def _as_params(params: Params | Mapping) -> Params:
    if isinstance(params, Params):
        return params.copy()
    return Params.from_dict(params)


def _weighted_mean_by_year(values: np.ndarray, weights: np.ndarray | None, codes: np.ndarray, n: int) -> np.ndarray:
    if weights is None:
        return np.bincount(codes, weights=values, minlength=n) / np.bincount(codes, minlength=n)
    return np.bincount(codes, weights=values * weights, minlength=n) / np.bincount(codes, weights=weights, minlength=n)


def _varies(values: np.ndarray) -> bool:
    """More than one distinct value (NaN-free float columns: what ``nunique() > 1`` says)."""
    return values.size > 0 and bool(values.min() != values.max())


def yearly_vulnerability(panel: pd.DataFrame, line: float) -> pd.Series:
    """Mean VEP per year: a cross-section FGLS per year (constant covariates are left out)."""
    from ruralabm.analysis.estimators.vep import vulnerability  # first use: start-up speed (scipy)

    out = {}
    year_col = panel["year"].to_numpy()
    cols = {c: panel[c].to_numpy(np.float64) for c in VEP_COVARIATES}
    ln_y = np.log(np.maximum(panel["income_per_capita"].to_numpy(np.float64), INCOME_FLOOR))
    for year in np.unique(year_col):
        rows = year_col == year
        data = pd.DataFrame({c: v[rows] for c, v in cols.items()})
        covs = [c for c in VEP_COVARIATES if _varies(data[c].to_numpy())]
        data["ln_income_pc"] = ln_y[rows]
        try:
            out[int(year)] = float(vulnerability(data, "ln_income_pc", covs, line, tables=False).vulnerability.mean())
        except Exception:  # degenerate cross-section (tiny test runs): no estimate this year
            out[int(year)] = math.nan
    return pd.Series(out, dtype=float)


def median_exit_date(exit_dates: np.ndarray, exited: np.ndarray) -> float:
    """Kaplan-Meier median with one common censoring date: the date by which half the counties
    have exited (the ceil(n/2)-th observed exit), NaN if fewer than half exit."""
    n = len(exit_dates)
    k = math.ceil(0.5 * n)
    dates = np.sort(np.asarray(exit_dates, float)[np.asarray(exited, bool)])
    return float(dates[k - 1]) if n and dates.size >= k else math.nan


def summarise_model(model, years_of_interest: Iterable[int] | None = None, metrics: Iterable[str] | None = None,
                    reference=None, quantile_years: Iterable[int] | None = None) -> dict[str, Any]:
    """Summarise a finished :class:`model.RuralModel` (see :func:`summarise_run`)."""
    p = model.params
    wanted = set(METRICS if metrics is None else (resolve_metric(m) for m in metrics))
    panel = model.household_panel()
    all_years = sorted(int(y) for y in panel["year"].unique())
    if years_of_interest is not None:
        years = sorted({int(y) for y in years_of_interest})
        missing = [y for y in years if y not in all_years]
        if missing:
            raise ParameterError(f"year(s) {missing} are not simulated; simulated years: {all_years[0]}-{all_years[-1]}")
        panel = panel[panel["year"].isin(years)]
    else:
        years = all_years
    codes = np.searchsorted(np.asarray(years), panel["year"].to_numpy())
    ny = len(years)
    fam = panel["residents"].to_numpy(np.float64)  # person-weighted over usual residents
    rows: list[tuple[int, str, np.ndarray]] = []
    for line in ("1_9", "national", "3_1"):
        if f"poverty_{line}" in wanted:
            rows.append((f"poverty_{line}", _weighted_mean_by_year(panel[f"poor_{line}"].to_numpy(np.float64), fam, codes, ny)))
    if "income_pc" in wanted:
        rows.append(("income_pc", _weighted_mean_by_year(panel["income_per_capita"].to_numpy(np.float64), None, codes, ny)))
    if "consumption_pc" in wanted:
        rows.append(("consumption_pc", _weighted_mean_by_year(panel["consumption"].to_numpy(np.float64) / fam, None, codes, ny)))
    if "participation" in wanted:
        rows.append(("participation", _weighted_mean_by_year((panel["participating"].to_numpy() == 1).astype(float), None, codes, ny)))
    quantiles = {}
    if wanted & set(RESILIENCE_METRICS) or quantile_years:
        ref = reference if reference is not None else reference_index()
        scores = ref.transform(panel)
        for m in RESILIENCE_METRICS:
            if m in wanted:
                rows.append((m, _weighted_mean_by_year(scores[m].to_numpy(np.float64), None, codes, ny)))
        for y in quantile_years or ():
            if int(y) in years:
                quantiles[int(y)] = np.quantile(scores["resilience"].to_numpy()[codes == years.index(int(y))], QUANTILES)
    if "vulnerability" in wanted:
        vul = yearly_vulnerability(panel, p.poverty.line_national)
        rows.append(("vulnerability", vul.reindex(years).to_numpy()))
    long = [(y, m, float(v)) for m, vals in rows for y, v in zip(years, vals)]

    exits = model.county_exits()
    exits = exits[exits["poor_county"] == 1]  # only the designated poor counties are on the list
    if "exit_share" in wanted:
        long.append((None, "exit_share", float(exits["exited"].mean())))
    if "median_exit_date" in wanted:
        long.append((None, "median_exit_date", median_exit_date(exits["exit_date"].to_numpy(), exits["exited"].to_numpy())))
    metrics_df = pd.DataFrame(long, columns=["year", "metric", "value"])
    metrics_df["year"] = metrics_df["year"].astype("Int64")
    return {
        "metrics": metrics_df,
        "exits": {
            "exit_date": exits["exit_date"].to_numpy(np.float64),
            "exited": exits["exited"].to_numpy(np.int8),
            "duration": (exits["days_to_exit"].to_numpy(np.float64) / 365.25),
        },
        "resilience_quantiles": quantiles,
    }


def summarise_run(params: Params | Mapping, seed: int, years_of_interest: Iterable[int] | None = None, *,
                  metrics: Iterable[str] | None = None, reference=None, quantile_years: Iterable[int] | None = None,
                  panel_dir: str | Path | None = None) -> dict[str, Any]:
    """Simulate ``params`` with ``seed`` and summarise it.

    Returns a dict with

    * ``metrics``: DataFrame ``year, metric, value`` (long; ``year`` is <NA> for the run-level
      metrics ``exit_share`` and ``median_exit_date``), for ``years_of_interest`` (default all
      simulated years) and ``metrics`` (default all, see the module docstring);
    * ``exits``: per county ``exit_date``, ``exited`` (by the censoring date) and ``duration``
      (years from 1 January of the policy start year to exit or censoring) -- Kaplan-Meier input;
    * ``resilience_quantiles``: {year: 101 percentiles of the household resilience index} for
      ``quantile_years``.

    ``reference`` is a fitted :class:`analysis.resilience.EntropyIndex` (default
    :func:`reference_index`). ``panel_dir`` (optional) receives the full household and county
    panels as Parquet.
    """
    from ruralabm.model import RuralModel

    model = RuralModel(_as_params(params), seed=int(seed), household_agents=False).run()
    if panel_dir is not None:
        d = Path(panel_dir)
        d.mkdir(parents=True, exist_ok=True)
        model.household_panel().to_parquet(d / "households.parquet", index=False)
        model.county_exits().to_parquet(d / "county_exits.parquet", index=False)
    return summarise_model(model, years_of_interest, metrics, reference, quantile_years)


def run_task(task: Mapping[str, Any]) -> dict[str, Any]:
    """Executor task: ``{"params": dict, "seed": int, ...summarise_run keyword arguments}``."""
    kwargs = {k: task[k] for k in ("years_of_interest", "metrics", "quantile_years", "panel_dir") if k in task}
    out = summarise_run(task["params"], task["seed"], **kwargs)
    out["metrics"] = out["metrics"].assign(**{k: v for k, v in task.get("labels", {}).items()})
    return out
