"""The papers' empirical specifications, applied to (simulated) survey samples.

Each function runs the estimators exactly as a paper did and returns :class:`PaperStatistics`:
a tidy table with one row per reported number, keyed so that replication tables, estimator
validation and calibration all speak of the same statistic:

* CLDS paper (seed 001): ``clds.t1.mean.<var>``, ``clds.t1.sd.<var>``,
  ``clds.t2.did.<line>.<nocov|cov>``, ``clds.t3.<stat>``, ``clds.t4.att.<method>.<line>.<region>``,
  ``clds.t5.<before|after|did>.<line>``, plus ``clds.participation`` and ``clds.vul_mean.<line>``.
* Cao et al. (seed 000): ``cao.psm.<outcome>.<group>`` (ATT), ``cao.psm_pct.<outcome>.<group>``
  (ATT as % of the matched controls' mean: the "net impact" of 17.1%), ``cao.cmp.<outcome>.<group>``
  and ``cao.cmp_rho.<outcome>.<group>`` (CMP coefficient of participation and the error
  correlation), with ``cao.cmp.<outcome>`` / ``cao.cmp_rho.<outcome>`` kept as aliases of group ``all``.
* Liu (seed 003): ``counties.ols.<var>``, ``counties.cox.<var>``, ``counties.cox_hr.<var>``.

Lines are named ``1.9``, ``national``, ``3.1``; vulnerability columns ``Vul1``, ``Vul2``, ``Vul3``
as in the paper. Regions: ``full``, ``east``, ``central_west``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..estimators import cmp as cmp_mod
from ..estimators import did, psm, survival, vep
from ..estimators.errors import EstimationError
from ..estimators.propensity import PropensityModel, fit_propensity
from ..specs import (CAO_FORM_CODES, CAO_GROUPS, CAO_MIN_PARTICIPANTS, CAO_ORG_CODES, CAO_OUTCOMES, CLDS_COVARIATES,
                     CLDS_POST, CLDS_PRE, COUNTY_REGRESSORS, LINE_NAMES, PSM_METHODS, REGIONS, VUL_COLUMNS)


_SEPARATION = re.compile(r"perfect separation .*?covariate\(s\) (?P<names>.+?) predict treatment")


def drop_separating_covariates(fn, covariates: Sequence[str], notes: list[str]):
    """``fn(covariates)``; if the probit propensity model is perfectly separated by some
    covariates, drop them, note it in ``notes`` and retry.

    Stata's probit (and so the papers' psmatch2) drops such a covariate *and* the observations it
    predicts perfectly; here the observations are kept, because dropping them would remove most
    treated units from the ATT (e.g. every subsidised household when subsidy predicts joining).
    ``analysis.propensity`` itself refuses separated data rather than dropping anything silently.
    """
    cov = list(covariates)
    for _ in range(len(cov)):
        try:
            return fn(cov)
        except EstimationError as exc:
            m = _SEPARATION.search(str(exc))
            if not m:
                raise
            drop = [c.strip() for c in m["names"].split(",")]
            if not set(drop) & set(cov):
                raise
            notes.append(f"dropped {', '.join(drop)} (perfect separation)")
            cov = [c for c in cov if c not in drop]
    return fn(cov)


# The specifications' constants (lines, covariates, methods, regions, groups) are defined in
# ruralabm.analysis.specs and imported above, so ``papers.LINE_NAMES`` etc. keep working.


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


def clds_statistics(sample: pd.DataFrame, poverty_lines: Mapping[str, float], *, pre: int = CLDS_PRE, post: int = CLDS_POST,
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
        # One propensity model per region sample, matched on by every line and method (it does
        # not depend on the outcome): the numbers of a fit per match at a fraction of the cost.
        propensity: dict[tuple[str, str], PropensityModel] = {}
        for name in lines:
            y = VUL_COLUMNS[name]
            for region, sub in _region_subsets(post_wave, regions):
                for method in methods:
                    want_balance = "t3" in tables and method == "nn1" and region == "full" and name == lines[0]
                    if "t4" not in tables and not want_balance:
                        continue
                    link = PSM_METHODS[method].get("link", "probit")
                    if (region, link) not in propensity:
                        propensity[region, link] = fit_propensity(sub, "T", list(covariates), link=link)
                    res = psm.match(sub, "T", y, list(covariates), **PSM_METHODS[method], compute_balance=want_balance,
                                    propensity=propensity[region, link])
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
                c.add(f"clds.t5.{part}.{name}", "t5", fit.params[part], fit.bse[part], fit.nobs)
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


def cao_group_subset(data: pd.DataFrame, group: str) -> pd.DataFrame:
    """The rows compared for ``group``: all rows for ``all``, else the participants of one
    organisation type (``cooperative``, ``enterprise``) or integration form (``CAO_FORM_CODES``)
    and every non-participant."""
    if group == "all":
        return data
    if group in CAO_ORG_CODES:
        return data[(data["participating"] == 0) | (data["org_type"].astype(int) == CAO_ORG_CODES[group])]
    if group in CAO_FORM_CODES:
        return data[(data["participating"] == 0) | (data["form"].astype(int) == CAO_FORM_CODES[group])]
    raise EstimationError(f"unknown Cao group {group!r}; choose from {list(CAO_GROUPS)}")


@dataclass
class AtRiskSample:
    """The sample of a CMP fit after removing observations that cannot be treated.

    ``data`` holds the rows kept; ``participation`` / ``covariates`` the regressors left in the
    participation and outcome equations; ``restrictions`` the ``(column, kept value)`` pairs;
    ``instrument_dropped`` whether the excluded instrument became constant; ``note`` says what
    was done ("" if nothing)."""

    data: pd.DataFrame
    participation: list
    covariates: list
    restrictions: list = field(default_factory=list)
    dropped: list = field(default_factory=list)
    instrument_dropped: bool = False
    note: str = ""


def cmp_at_risk_sample(data: pd.DataFrame, treatment: str, covariates: Sequence[str],
                       instrument: str | None = None) -> AtRiskSample:
    """What Stata's cmp effectively does after dropping perfect predictors, made explicit.

    When a binary regressor of the participation equation (``covariates`` + ``instrument``)
    takes a value at which ``treatment`` is always 0 (e.g. no cooperative member lives in a
    village without a cooperative), the rows with that value cannot be treated: they are
    dropped (repeatedly, until no such value is left) and regressors that became constant are
    dropped from the equations (covariates from both, as they are collinear with the
    constants). Only never-treated rows are removed, so the treated set is unchanged. If the
    instrument is dropped, the CMP has no excluded instrument left and is identified by the
    bivariate-normal functional form only; the note says so. A binary regressor with a value at
    which treatment is always 1 is dropped from the participation equation only (the rows stay,
    as in PSM)."""
    regs = list(covariates) + ([instrument] if instrument is not None else [])
    rows = data
    restrictions: list[tuple[str, float]] = []
    found = True
    while found:
        found = False
        for r in regs:
            x = pd.to_numeric(rows[r], errors="coerce")
            vals = np.unique(x.dropna())
            if vals.size != 2:
                continue
            for v in vals:
                if (rows.loc[x == v, treatment] == 0).all():
                    keep = float(vals[vals != v][0])
                    rows = rows[x != v]
                    restrictions.append((r, keep))
                    found = True
                    break
            if found:
                break
    treated_before = data.index[data[treatment] == 1]
    treated_after = rows.index[rows[treatment] == 1]
    assert treated_before.equals(treated_after), "the at-risk restriction must not drop a treated observation"
    constant = [r for r in regs if rows[r].nunique(dropna=True) <= 1] if restrictions else []
    part = [r for r in regs if r not in constant]
    cov = [r for r in covariates if r not in constant]
    # A value at which everyone is treated: the regressor leaves the participation equation (as
    # Stata's probit drops it) but stays in the outcome equation; the rows are kept, as in PSM.
    always = []
    for r in part:
        x = pd.to_numeric(rows[r], errors="coerce")
        vals = np.unique(x.dropna())
        if vals.size == 2 and any((rows.loc[x == v, treatment] == 1).all() for v in vals):
            always.append(r)
    part = [r for r in part if r not in always]
    inst_dropped = instrument is not None and (instrument in constant or instrument in always)
    notes = []
    if restrictions:
        cond = " and ".join(f"{r} == {v:g}" for r, v in restrictions)
        notes.append(f"sample restricted to household-years with {cond} (N = {len(rows)} of {len(data)})")
        others = [r for r in constant if r != instrument and r not in {c for c, _ in restrictions}]
        if others:
            notes.append(f"constant regressor(s) dropped: {', '.join(others)}")
    if always:
        notes.append(f"{', '.join(always)} dropped from the participation equation (one value predicts "
                     f"participation perfectly)")
    if inst_dropped:
        notes.append("no excluded instrument left: identified by the bivariate-normal functional form only")
    return AtRiskSample(rows, part, cov, restrictions, constant, inst_dropped, "; ".join(notes))


def cao_statistics(sample: pd.DataFrame, index_model, covariates: Sequence[str], *, instrument: str | None = None,
                   groups: Sequence[str] = CAO_GROUPS,
                   outcomes: Sequence[str] = CAO_OUTCOMES, cmp_outcomes: Sequence[str] = ("resilience",),
                   cmp_groups: Sequence[str] = ("all",),
                   method: Mapping = PSM_METHODS["nn1"]) -> PaperStatistics:
    """PSM (and CMP) effects of participation on the resilience index and its capacities.

    ``index_model`` is a fitted :class:`analysis.resilience.EntropyIndex` (weights fixed from a
    base wave). Groups compare participants of one organisation type or integration form with
    non-participants (:func:`cao_group_subset`). CMP is fitted only if ``instrument`` is given
    (e.g. ``cooperative_in_village``; it enters the participation equation only, the exclusion
    restriction), for each outcome in ``cmp_outcomes`` and each group in ``cmp_groups`` (default:
    the whole sample only, one fit per outcome; pass ``CAO_GROUPS`` for every group).

    A group whose treatment is impossible at one value of a binary participation regressor
    (cooperative members only in villages with a cooperative) is fitted on the households at
    risk of treatment (:func:`cmp_at_risk_sample`, kept in ``objects["cmp_samples"][group]``),
    with the constant regressors dropped; if that drops the instrument, the estimate rests on
    the functional form only, which the cell's note says.

    A group with fewer than ``CAO_MIN_PARTICIPANTS`` participants is skipped; a CMP fit that
    fails is skipped; a CMP fit that does not converge keeps its estimate. Each case is recorded
    in ``objects["notes"]`` (statistic key -> message) instead of aborting the table. PSM errors
    propagate (callers such as the calibration retry without separating covariates).
    """
    data = sample.copy()
    scores = index_model.transform(data)
    for col in scores.columns:
        data[col] = scores[col].to_numpy()
    c = _Collector()
    c.objects["data"] = data
    notes: dict[str, str] = {}
    c.objects["notes"] = notes
    for group in groups:
        sub = cao_group_subset(data, group)
        n_part = int(sub["participating"].sum())
        if n_part < CAO_MIN_PARTICIPANTS:
            for outcome in outcomes:
                for kind in ("psm", "psm_pct"):
                    notes[f"cao.{kind}.{outcome}.{group}"] = f"too few participants ({n_part} < {CAO_MIN_PARTICIPANTS})"
            continue
        # the propensity of participation does not depend on the outcome: fitted once per group
        fitted = fit_propensity(sub, "participating", list(covariates), link=method.get("link", "probit"))
        for outcome in outcomes:
            res = psm.match(sub, "participating", outcome, list(covariates), **method, compute_balance=False,
                            propensity=fitted)
            c.add(f"cao.psm.{outcome}.{group}", "psm", res.att, res.se, res.n_treated)
            base = res.mean_control_matched
            pct = 100.0 * res.att / base if base else np.nan
            c.add(f"cao.psm_pct.{outcome}.{group}", "psm", pct, 100.0 * res.se / base if base else np.nan,
                  res.n_treated)
    if instrument is not None:
        at_risk: dict[str, AtRiskSample] = {}
        c.objects["cmp_samples"] = at_risk
        for group in cmp_groups:
            sub = cao_group_subset(data, group)
            n_part = int(sub["participating"].sum())
            risk = None
            for outcome in cmp_outcomes:
                key, rkey = f"cao.cmp.{outcome}.{group}", f"cao.cmp_rho.{outcome}.{group}"
                if n_part < CAO_MIN_PARTICIPANTS:
                    notes[key] = notes[rkey] = f"too few participants ({n_part} < {CAO_MIN_PARTICIPANTS})"
                    continue
                if risk is None:  # the participation equation does not depend on the outcome
                    risk = at_risk[group] = cmp_at_risk_sample(sub, "participating", covariates, instrument)
                eqs = [cmp_mod.Equation("participating", risk.participation, "probit"),
                       cmp_mod.Equation(outcome, ["participating"] + risk.covariates, "continuous")]
                name = f"{outcome}:participating"
                flagged = [risk.note] if risk.note else []
                try:
                    fit = cmp_mod.fit(risk.data, eqs, vce="robust")
                    b, se = float(fit.params[name]), float(fit.bse[name])
                    rho, rho_se = float(fit.rho.iloc[0]), float(fit.rho_se.iloc[0])
                except Exception as exc:  # noqa: BLE001 - one group's failure leaves a note, not a crash
                    notes[key] = notes[rkey] = "; ".join([f"CMP failed: {type(exc).__name__}: {exc}"[:300]]
                                                         + flagged)
                    continue
                if not fit.converged:
                    flagged.insert(0, f"CMP did not converge ({fit.iterations} iterations)")
                if flagged:
                    notes[key] = notes[rkey] = "; ".join(flagged)
                c.objects[f"cmp.{outcome}.{group}"] = fit
                c.add(key, "cmp", b, se, fit.nobs)
                c.add(rkey, "cmp", rho, rho_se, fit.nobs)
                if group == "all":  # the whole-sample keys of earlier versions
                    c.objects[f"cmp.{outcome}"] = fit
                    c.add(f"cao.cmp.{outcome}", "cmp", b, se, fit.nobs)
                    c.add(f"cao.cmp_rho.{outcome}", "cmp", rho, rho_se, fit.nobs)
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
