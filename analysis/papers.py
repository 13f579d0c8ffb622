"""The papers' empirical specifications, applied to (simulated) survey samples.

Each function runs the estimators exactly as a paper did and returns :class:`PaperStatistics`:
a tidy table with one row per reported number, keyed so that replication tables, estimator
validation and calibration all speak of the same statistic:

* CLDS paper (seed 001): ``clds.t1.mean.<var>``, ``clds.t1.sd.<var>``,
  ``clds.t2.did.<line>.<nocov|cov>``, ``clds.t3.<stat>``, ``clds.t4.att.<method>.<line>.<region>``,
  ``clds.t5.<before|after|did>.<line>``, plus ``clds.participation`` and ``clds.vul_mean.<line>``.
* Cao et al. (seed 000): ``cao.psm.<outcome>.<group>`` (ATT), ``cao.psm_pct.<outcome>.<group>``
  (ATT as % of the matched controls' mean: the "net impact" of 17.1%), ``cao.cmp.<outcome>``.
* Liu (seed 003): ``counties.ols.<var>``, ``counties.cox.<var>``, ``counties.cox_hr.<var>``.

Lines are named ``1.9``, ``national``, ``3.1``; vulnerability columns ``Vul1``, ``Vul2``, ``Vul3``
as in the paper. Regions: ``full``, ``east``, ``central_west``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from . import did, psm, survival, vep
from .errors import EstimationError
from .survey import CLDS_COVARIATES

LINE_NAMES = ("1.9", "national", "3.1")
VUL_COLUMNS = {"1.9": "Vul1", "national": "Vul2", "3.1": "Vul3"}
# The four matching methods of Table 4 (psmatch2 options of the paper).
PSM_METHODS = {
    "nn1": dict(method="nearest", k=1),
    "nn4": dict(method="nearest", k=4),
    "radius": dict(method="radius", radius=0.01),
    "kernel": dict(method="kernel", kernel="normal", bandwidth=0.06),
}
REGIONS = ("full", "east", "central_west")
COUNTY_REGRESSORS = ["upgrading_index", "primary_secondary", "primary_tertiary", "ethnic_minority", "main_industry",
                     "resource_endowment"]
CAO_OUTCOMES = ("resilience", "buffering", "self_organisation", "learning")


@dataclass
class PaperStatistics:
    """Tidy statistics of one paper's specification on one sample."""

    table: pd.DataFrame  # columns: key, table, estimate, se, n
    objects: dict = field(default_factory=dict, repr=False)  # fitted result objects, for summaries

    def get(self, key: str) -> float:
        row = self.table.loc[self.table["key"] == key, "estimate"]
        if row.empty:
            raise KeyError(f"statistic {key!r} was not computed")
        return float(row.iloc[0])

    def as_series(self) -> pd.Series:
        return self.table.set_index("key")["estimate"]


class _Collector:
    def __init__(self):
        self.rows: list[dict] = []
        self.objects: dict = {}

    def add(self, key, table, estimate, se=np.nan, n=np.nan):
        self.rows.append({"key": key, "table": table, "estimate": float(estimate),
                          "se": float(se) if se is not None else np.nan, "n": n})

    def result(self) -> PaperStatistics:
        return PaperStatistics(pd.DataFrame(self.rows, columns=["key", "table", "estimate", "se", "n"]), self.objects)


def add_vulnerability(sample: pd.DataFrame, poverty_lines: Mapping[str, float], covariates=CLDS_COVARIATES,
                      wave_column: str = "year") -> pd.DataFrame:
    """Vulnerability to expected poverty under each line, estimated wave by wave (three-step
    FGLS on the covariates), as columns Vul1, Vul2, Vul3. Returns a new DataFrame.

    As in the CLDS paper, X is the household, environment and industry-adaptation covariates.
    Vulnerability is then a function of X alone, so a matching estimator that balances X
    perfectly finds no effect of participation on it: any ATT comes from residual imbalance or
    from covariates that participation itself changes. ``covariates`` may include the treatment
    (``vep_covariates=[..., "participating"]`` in :func:`clds_statistics`) for the variant in
    which vulnerability reflects participation."""
    out = sample.copy()
    for name in LINE_NAMES:
        out[VUL_COLUMNS[name]] = np.nan
    for _, rows in out.groupby(wave_column).groups.items():
        wave = out.loc[rows]
        # A covariate constant within a wave (participation before the policy) carries nothing there.
        usable = [c for c in covariates if wave[c].nunique() > 1]
        fit = vep.vulnerability(wave, "ln_income", usable, {n: poverty_lines[n] for n in LINE_NAMES})
        vul = fit.vulnerability
        for name in LINE_NAMES:
            out.loc[rows, VUL_COLUMNS[name]] = vul[name].to_numpy()
    return out


def _region_subsets(data: pd.DataFrame, regions: Sequence[str]):
    east = data["region"].astype(str) == "east"
    for region in regions:
        if region == "full":
            yield region, data
        elif region == "east":
            yield region, data[east]
        else:
            yield region, data[~east]


def clds_statistics(sample: pd.DataFrame, poverty_lines: Mapping[str, float], *, pre: int = 2014, post: int = 2016,
                    tables: Sequence[str] = ("t1", "t2", "t3", "t4", "t5"), methods: Sequence[str] = tuple(PSM_METHODS),
                    regions: Sequence[str] = REGIONS, lines: Sequence[str] = LINE_NAMES,
                    covariates: Sequence[str] = CLDS_COVARIATES,
                    vep_covariates: Sequence[str] | None = None) -> PaperStatistics:
    """Tables 1-5 of the CLDS paper on a CLDS-like two-wave sample (``analysis.survey.clds_sample``).

    ``vep_covariates`` (default: ``covariates``) are the regressors of the vulnerability model.
    """
    missing = [n for n in LINE_NAMES if n not in poverty_lines]
    if missing:
        raise EstimationError(f"poverty_lines lacks {missing}; give yuan per capita for {list(LINE_NAMES)}")
    data = add_vulnerability(sample, poverty_lines, list(vep_covariates or covariates))
    c = _Collector()
    c.objects["data"] = data
    post_wave = data[data["year"] == post]
    c.add("clds.participation", "descriptive", post_wave["T"].mean(), n=len(post_wave))
    for name in LINE_NAMES:
        c.add(f"clds.vul_mean.{name}", "descriptive", data[VUL_COLUMNS[name]].mean(), n=len(data))

    if "t1" in tables:
        for var in [VUL_COLUMNS[n] for n in LINE_NAMES] + ["T"] + list(covariates):
            c.add(f"clds.t1.mean.{var}", "t1", data[var].mean(), n=len(data))
            c.add(f"clds.t1.sd.{var}", "t1", data[var].std(), n=len(data))

    if "t2" in tables:
        time_varying = [v for v in covariates if data.groupby("household_id")[v].nunique().max() > 1]
        for name in lines:
            y = VUL_COLUMNS[name]
            for spec, cov in (("nocov", None), ("cov", time_varying)):
                fit = did.twfe(data, y, "PT", "household_id", "year", covariates=cov)
                c.objects[f"t2.{name}.{spec}"] = fit
                c.add(f"clds.t2.did.{name}.{spec}", "t2", fit.params["PT"], fit.bse["PT"], fit.nobs)

    if "t3" in tables or "t4" in tables:
        for name in lines:
            y = VUL_COLUMNS[name]
            for region, sub in _region_subsets(post_wave, regions):
                for method in methods:
                    want_balance = "t3" in tables and method == "nn1" and region == "full" and name == lines[0]
                    if "t4" not in tables and not want_balance:
                        continue
                    res = psm.match(sub, "T", y, list(covariates), **PSM_METHODS[method], compute_balance=want_balance)
                    c.add(f"clds.t4.att.{method}.{name}.{region}", "t4", res.att, res.se, res.n_treated)
                    if want_balance:
                        c.objects["t3.balance"] = res.balance
                        _add_balance(c, res.balance)

    if "t5" in tables:
        for name in lines:
            fit = did.psm_did(data, VUL_COLUMNS[name], "T", "household_id", "year", list(covariates),
                              baseline=pre, followup=post)
            c.objects[f"t5.{name}"] = fit
            for part in ("before", "after", "did"):
                c.add(f"clds.t5.{part}.{name}", "t5", fit.coef[part], fit.se[part], fit.nobs)
    return c.result()


def _add_balance(c: _Collector, bal) -> None:
    for sample, key in (("Unmatched", "unmatched"), ("Matched", "matched")):
        row = bal.overall.loc[sample]
        for stat in ("pseudo_r2", "lr_chi2", "mean_bias"):
            if stat in row.index:
                c.add(f"clds.t3.{stat}.{key}", "t3", row[stat])
    for var, r in bal.table.iterrows():
        for suffix, key in (("u", "unmatched"), ("m", "matched")):
            c.add(f"clds.t3.mean_treated.{var}.{key}", "t3", r[f"mean_treated_{suffix}"])
            c.add(f"clds.t3.mean_control.{var}.{key}", "t3", r[f"mean_control_{suffix}"])
            c.add(f"clds.t3.bias.{var}.{key}", "t3", r[f"bias_{suffix}"])


def cao_statistics(sample: pd.DataFrame, index_model, covariates: Sequence[str], *, instrument: str | None = None,
                   groups: Sequence[str] = ("all", "cooperative", "enterprise", "vertical_chain",
                                            "technology_diffusion", "agritourism", "ecommerce"),
                   outcomes: Sequence[str] = CAO_OUTCOMES, cmp_outcomes: Sequence[str] = ("resilience",),
                   method: Mapping = PSM_METHODS["nn1"]) -> PaperStatistics:
    """PSM (and CMP) effects of participation on the resilience index and its capacities.

    ``index_model`` is a fitted :class:`analysis.resilience.EntropyIndex` (weights fixed from a
    base wave). Groups compare participants of one organisation type or integration form with
    non-participants. ``instrument`` (e.g. ``cooperative_in_village``) enters the CMP
    participation equation only (exclusion restriction).
    """
    data = sample.copy()
    scores = index_model.transform(data)
    for col in scores.columns:
        data[col] = scores[col].to_numpy()
    c = _Collector()
    c.objects["data"] = data
    org_type = data["org_type"].astype(int) if "org_type" in data else None
    form = data["form"].astype(int) if "form" in data else None
    form_codes = {"vertical_chain": 0, "technology_diffusion": 1, "agritourism": 2, "ecommerce": 3}
    for group in groups:
        if group == "all":
            sub = data
        elif group in ("cooperative", "enterprise"):
            code = 1 if group == "cooperative" else 2
            sub = data[(data["participating"] == 0) | (org_type == code)]
        else:
            sub = data[(data["participating"] == 0) | (form == form_codes[group])]
        if sub["participating"].sum() < 5:
            continue
        for outcome in outcomes:
            res = psm.match(sub, "participating", outcome, list(covariates), **method, compute_balance=False)
            c.add(f"cao.psm.{outcome}.{group}", "psm", res.att, res.se, res.n_treated)
            base = res.mean_control_matched
            pct = 100.0 * res.att / base if base else np.nan
            c.add(f"cao.psm_pct.{outcome}.{group}", "psm", pct, 100.0 * res.se / base if base else np.nan,
                  res.n_treated)
    if instrument is not None:
        from . import cmp as cmp_mod
        for outcome in cmp_outcomes:
            eqs = [cmp_mod.Equation("participating", list(covariates) + [instrument], "probit"),
                   cmp_mod.Equation(outcome, ["participating"] + list(covariates), "continuous")]
            fit = cmp_mod.fit(data, eqs, vce="robust")
            c.objects[f"cmp.{outcome}"] = fit
            name = f"{outcome}:participating"
            c.add(f"cao.cmp.{outcome}", "cmp", fit.params[name], fit.bse[name], fit.nobs)
            c.add(f"cao.cmp_rho.{outcome}", "cmp", float(fit.rho.iloc[0]), float(fit.rho_se.iloc[0]), fit.nobs)
    return c.result()


def county_statistics(sample: pd.DataFrame, regressors: Sequence[str] = COUNTY_REGRESSORS) -> PaperStatistics:
    """OLS of days to exit and Cox model of the exit hazard (Table 1 of the 76-county paper)."""
    c = _Collector()
    usable = [r for r in regressors if sample[r].nunique() > 1]
    ols = survival.ols(sample, "days_to_exit", usable, robust=True)
    c.objects["ols"] = ols
    for var in usable:
        c.add(f"counties.ols.{var}", "ols", ols.params[var], ols.bse[var], ols.nobs)
    if sample["exited"].sum() >= 2:
        cox = survival.cox(sample, "days_to_exit", "exited", usable)
        c.objects["cox"] = cox
        for var in usable:
            c.add(f"counties.cox.{var}", "cox", cox.params[var], cox.bse[var], cox.nobs)
            c.add(f"counties.cox_hr.{var}", "cox", float(np.exp(cox.params[var])), np.nan, cox.nobs)
    c.add("counties.exit_share", "descriptive", sample["exited"].mean(), n=len(sample))
    return c.result()
