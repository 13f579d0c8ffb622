"""Difference-in-differences: two-way fixed effects and kernel PSM-DID (Villa's Stata ``diff``).

:func:`twfe`    -- ``y_it = a_i + l_t + beta * D_it + X_it g + e_it`` by linearmodels' PanelOLS with
                   entity and time effects; conventional or clustered SEs (Wooldridge Example 14.1
                   is reproduced exactly by the tests).
:func:`psm_did` -- kernel propensity-score-matching DID as ``diff y, period() treated() id()
                   cov() kernel [ktype() bw() support logit]``: probit propensity on baseline
                   covariates, kernel weights for the controls computed at baseline and carried to
                   the follow-up, then the weighted regression
                   ``y = b0 + b1 period + b2 treated + b3 period*treated``; reports
                   before = b2, after = b2 + b3 and DID = b3 with regression SEs (Table 5 layout
                   of the CLDS paper), or a unit-level bootstrap of the whole procedure.

Both functions never print and never modify the input DataFrame; missing values in used columns
raise :class:`~analysis.errors.EstimationError` (filter the panel first).
"""
from __future__ import annotations

import warnings

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from .common import KERNELS, bootstrap_replicates, check_binary, check_columns, check_no_missing
from .errors import EstimationError
from .propensity import fit_propensity, pscore_from_arrays
from .psm import match_side
from .results import EstimationResults, Summary, coef_table

__all__ = ["twfe", "psm_did", "TWFEResult", "PSMDIDResult"]


def _check_panel_keys(panel: pd.DataFrame, unit: str, time: str) -> None:
    for c in (unit, time):
        if c not in panel.columns:
            raise EstimationError(f"column not found in panel: {c}")
        if panel[c].isna().any():
            raise EstimationError(f"column {c!r} has missing values")
    if panel.duplicated([unit, time]).any():
        n = int(panel.duplicated([unit, time]).sum())
        raise EstimationError(f"panel has {n} duplicate ({unit}, {time}) rows")


# ---------------------------------------------------------------------------------------------
# Two-way fixed effects
# ---------------------------------------------------------------------------------------------
@dataclass
class TWFEResult(EstimationResults):
    """Two-way FE DID result. ``params``/``bse`` indexed by regressor; ``r2_within`` is Stata's
    ``xtreg, fe`` within R-squared with the time dummies counted as regressors
    (1 - SSR / sum (y - ybar_i)^2); ``r2_within_lm`` is linearmodels' R-squared of the regressors
    after both transformations."""

    params: pd.Series
    bse: pd.Series
    df_resid: float
    nobs: int
    n_units: int
    n_periods: int
    r2_within: float
    r2_within_lm: float
    cov_type: str
    outcome: str
    treatment: str
    n_clusters: int | None = None
    warnings: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return coef_table(self.params.index, self.params.values, self.bse.values, df_resid=self.df_resid)

    def _inference_df(self):
        return self.df_resid

    def summary(self) -> Summary:
        facts = {
            "Dep. variable": self.outcome,
            "Treatment": self.treatment,
            "N obs": self.nobs,
            "N units": self.n_units,
            "N periods": self.n_periods,
            "Within R2": self.r2_within,
            "Effects": "unit, time",
            "SE": self.cov_type + (f" ({self.n_clusters} clusters)" if self.n_clusters else ""),
        }
        return Summary("Two-way fixed-effects DID (PanelOLS)", facts, {"": self.to_frame()}, self.warnings)


def twfe(
    panel: pd.DataFrame,
    outcome: str,
    treatment: str,
    unit: str,
    time: str,
    covariates: Sequence[str] | None = None,
    cluster: str | None = "unit",
) -> TWFEResult:
    """Two-way fixed-effects DID: ``outcome ~ treatment + covariates + unit FE + time FE``.

    Parameters
    ----------
    panel : long DataFrame, one row per (unit, time); not modified.
    outcome, treatment : column names (treatment is usually D_it = treated x post).
    unit, time : panel identifiers.
    covariates : optional time-varying controls.
    cluster : ``None`` for conventional (homoskedastic, "unadjusted") SEs with the degrees of
        freedom net of both sets of effects (Stata ``xtreg, fe`` with year dummies); a column
        name for cluster-robust SEs (``"unit"`` or the unit column name: cluster by unit),
        with the small-sample factor G/(G-1) and t(G-1) inference.
    """
    from linearmodels.panel import PanelOLS

    covariates = list(covariates or [])
    _check_panel_keys(panel, unit, time)
    regs = [treatment, *[c for c in covariates if c != treatment]]
    check_columns(panel, [outcome, *regs], "panel")
    if cluster == "unit":
        cluster = unit
    if cluster is not None and cluster not in panel.columns:
        raise EstimationError(f"cluster column not found in panel: {cluster}")
    if cluster is not None:
        check_no_missing(panel, [cluster], "panel")
    if panel[treatment].nunique() < 2:
        raise EstimationError(f"treatment {treatment!r} does not vary")
    df = panel.set_index([unit, time])[[outcome, *regs] + ([cluster] if cluster not in (None, unit) else [])]
    n_units = panel[unit].nunique()
    n_periods = panel[time].nunique()
    if n_periods < 2 or n_units < 2:
        raise EstimationError("two-way FE needs at least two units and two periods")
    # Like Stata's xtreg, covariates absorbed by the effects (e.g. age, which rises by one a year
    # for everybody) are dropped with a note; an absorbed treatment is an error.
    mod = PanelOLS(df[outcome], df[regs], entity_effects=True, time_effects=True, drop_absorbed=True)
    n_cl = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if cluster is None:
                res = mod.fit(cov_type="unadjusted")
                df_resid = float(res.df_resid)
                cov = "conventional"
            else:
                if cluster == unit:
                    res = mod.fit(cov_type="clustered", cluster_entity=True, group_debias=True)
                    n_cl = n_units
                else:
                    res = mod.fit(cov_type="clustered", clusters=df[[cluster]], group_debias=True)
                    n_cl = int(df[cluster].nunique())
                df_resid = float(n_cl - 1)
                cov = f"clustered by {cluster}"
    except ValueError as exc:  # collinear regressors
        raise EstimationError(f"two-way FE could not be estimated: {exc}") from exc
    dropped = [r for r in regs if r not in res.params.index]
    if treatment in dropped:
        raise EstimationError(f"two-way FE: the treatment {treatment!r} is absorbed by the unit and time effects")
    notes = [f"{r} omitted: absorbed by the unit and time effects" for r in dropped]
    if not np.all(np.isfinite(res.std_errors.to_numpy())):
        raise EstimationError("two-way FE: non-finite standard errors (regressor absorbed by the fixed effects?)")
    y = df[outcome]
    yw = y - y.groupby(level=0).transform("mean")
    r2w = float(1 - np.sum(res.resids.to_numpy() ** 2) / np.sum(yw.to_numpy() ** 2))
    return TWFEResult(
        params=res.params.rename(None), bse=res.std_errors.rename(None), df_resid=df_resid,
        nobs=int(res.nobs), n_units=int(n_units), n_periods=int(n_periods), r2_within=r2w,
        r2_within_lm=float(res.rsquared_within), cov_type=cov, outcome=outcome, treatment=treatment,
        n_clusters=n_cl, warnings=notes,
    )


# ---------------------------------------------------------------------------------------------
# Kernel PSM-DID (Villa's diff, kernel option)
# ---------------------------------------------------------------------------------------------
@dataclass
class PSMDIDResult(EstimationResults):
    """Kernel PSM-DID result: rows before / after / did of :meth:`to_frame` (coef, se, t, p, CI).

    ``means`` holds the weighted cell means (control/treated x baseline/follow-up, Villa's
    "Control"/"Treated" lines); ``counts`` the number of observations per cell in the regression;
    ``weights`` the regression weights per panel row (NaN if the row is not used); ``pscore``
    the baseline propensity score per unit.
    """

    params: pd.Series
    bse: pd.Series
    df_resid: float
    means: pd.DataFrame
    counts: pd.DataFrame
    nobs: int
    r2: float
    weights: pd.Series
    pscore: pd.Series
    settings: dict
    outcome: str
    n_off_support: int
    boot_estimates: np.ndarray | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def coef(self) -> pd.Series:
        """Deprecated alias of ``params``."""
        warnings.warn("PSMDIDResult.coef is deprecated; use .params", DeprecationWarning, stacklevel=2)
        return self.params

    @property
    def se(self) -> pd.Series:
        """Deprecated alias of ``bse``."""
        warnings.warn("PSMDIDResult.se is deprecated; use .bse", DeprecationWarning, stacklevel=2)
        return self.bse

    @property
    def did(self) -> float:
        return float(self.params["did"])

    @property
    def before(self) -> float:
        return float(self.params["before"])

    @property
    def after(self) -> float:
        return float(self.params["after"])

    def _inference_df(self):
        return None if self.settings["se"] == "bootstrap" else self.df_resid

    def to_frame(self) -> pd.DataFrame:
        return coef_table(["before", "after", "did"], self.params.values, self.bse.values, df_resid=self._inference_df())

    def summary(self) -> Summary:
        s = self.settings
        facts = {
            "Outcome": self.outcome,
            "Kernel": f"{s['kernel']}, bw={s['bandwidth']}",
            "Propensity": s["link"] if not s["pscore"] else "given",
            "Common support": "yes" if s["common_support"] else "no",
            "N obs": self.nobs,
            "R2": self.r2,
            "Baseline": s["baseline"],
            "Follow-up": s["followup"],
            "SE": s["se_label"],
            "Off support (units)": self.n_off_support,
        }
        table = self.to_frame().rename(index={"before": "Before Diff (T-C)", "after": "After Diff (T-C)", "did": "DID"})
        return Summary("Kernel propensity-score matching DID (diff, kernel)", facts,
                       {"": table, "Weighted means": self.means, "Observations": self.counts}, self.warnings)


def _did_point(y, g, post, w):
    """Weighted cell means and (before, after, did) -- equal to the saturated WLS coefficients."""
    cells = {}
    for gi in (0, 1):
        for pi in (0, 1):
            m = (g == gi) & (post == pi) & (w > 0)
            cells[(gi, pi)] = np.sum(w[m] * y[m]) / np.sum(w[m]) if m.any() else np.nan
    before = cells[(1, 0)] - cells[(0, 0)]
    after = cells[(1, 1)] - cells[(0, 1)]
    return cells, np.array([before, after, after - before])


def _psmdid_weights(p0, g0, cfg):
    """Villa's kernel weights at baseline: treated 1 (on support), controls sum of normalised
    kernel weights over treated; plus the support mask and count of treated without controls."""
    n = p0.size
    sup = np.ones(n, dtype=bool)
    if cfg["common_support"]:
        supmin = p0[g0 == 1].min()
        supmax = p0[g0 == 0].max()
        sup = (p0 >= supmin) & (p0 <= supmax)
    it = np.nonzero((g0 == 1) & sup)[0]
    ic = np.nonzero((g0 == 0) & sup)[0]
    if it.size == 0 or ic.size == 0:
        raise EstimationError("PSM-DID: no common support (no treated or no control unit inside the overlap region)")
    oc = ic[np.argsort(p0[ic], kind="stable")]
    side = match_side(p0[it], p0[oc], np.zeros(oc.size), dict(method="kernel", kernel=cfg["kernel"],
                       bandwidth=cfg["bandwidth"], kernel_method="auto"), 0.0)
    w = np.zeros(n)
    w[it] = 1.0
    w[oc] = side.W
    if not np.any(side.W > 0):
        raise EstimationError("PSM-DID: no control receives a positive kernel weight (bandwidth too small?)")
    return w, sup, int(np.sum(~side.matched))


def _psmdid_units(ybase, yfol, g, X, p_given, cfg):
    """Point estimates from unit-level arrays (used by the bootstrap)."""
    p0 = pscore_from_arrays(X, g, cfg["link"], given=p_given)
    w, _, _ = _psmdid_weights(p0, g, cfg)
    has1 = np.isfinite(yfol)
    y = np.concatenate([ybase, yfol[has1]])
    gg = np.concatenate([g, g[has1]])
    post = np.concatenate([np.zeros(g.size), np.ones(int(has1.sum()))])
    ww = np.concatenate([w, w[has1]])
    return _did_point(y, gg, post, ww)[1]


def _psmdid_boot_worker(args):
    ybase, yfol, g, X, p_given, cfg, seeds = args
    out = []
    n = g.size
    for ss in seeds:
        idx = np.random.default_rng(ss).integers(0, n, n)
        try:
            if g[idx].min() == g[idx].max():
                raise EstimationError("single group")
            out.append(_psmdid_units(ybase[idx], yfol[idx], g[idx], None if X is None else X[idx],
                                     None if p_given is None else p_given[idx], cfg))
        except EstimationError:
            out.append(None)
    return out


def psm_did(
    panel: pd.DataFrame,
    outcome: str,
    treatment: str,
    unit: str,
    time: str,
    covariates: Sequence[str] | None = None,
    baseline=None,
    followup=None,
    bandwidth: float = 0.06,
    kernel: str = "epan",
    link: str = "probit",
    common_support: bool = True,
    *,
    pscore: str | None = None,
    cluster: str | None = None,
    robust: bool = False,
    se: str = "regression",
    n_boot: int = 200,
    seed: int | None = 12345,
    n_jobs: int | None = None,
) -> PSMDIDResult:
    """Kernel PSM-DID following Villa's Stata ``diff`` with the ``kernel`` option.

    Parameters
    ----------
    panel : long DataFrame with one row per (unit, time); not modified. Only rows at
        ``baseline`` and ``followup`` are used.
    outcome : outcome column.
    treatment : treatment-group column. The group of a unit is the maximum of this column over
        its baseline and follow-up rows, so both a time-invariant group dummy and a
        ``D_it = group x post`` column work.
    unit, time : identifiers (``diff``'s ``id()`` and ``period()``).
    covariates : baseline covariates of the probit (``cov()``); their baseline values are used.
    baseline, followup : the two time values (default: the smallest and largest in ``time``).
    bandwidth, kernel : kernel matching at baseline; ``kernel`` in "epan" (diff's default),
        "normal" (diff's "gaussian"), "uniform", "biweight", "tricube".
    link : "probit" (diff's default) or "logit".
    common_support : diff's ``support`` option: units whose baseline score lies outside
        [min treated score, max control score] are dropped (both groups, both periods).
    pscore : column with a precomputed score (its baseline value is used) instead of a probit.
    cluster, robust : regression SEs: conventional by default (as diff without options);
        ``robust=True`` gives HC1, ``cluster="col"`` cluster-robust (Stata CR1, t(G-1)).
    se : "regression" (default) or "bootstrap": resample units with replacement, re-running the
        propensity fit, the kernel weights and the DID; ``n_boot``, ``seed``, ``n_jobs`` as in
        :func:`analysis.psm.match`.

    Notes
    -----
    Semantics: controls get weight sum_i K_ij / sum_k K_ik over treated i (baseline), carried to
    their follow-up row; treated rows get weight 1; rows with zero weight (controls receiving no
    kernel weight) are excluded, as Stata excludes zero analytic weights. Treated units with no
    control inside the bandwidth keep weight 1 (as in diff; a warning counts them).
    """
    import statsmodels.api as sm

    kernel = {"gaussian": "normal", "epanechnikov": "epan"}.get(str(kernel).lower(), str(kernel).lower())
    if kernel not in KERNELS:
        raise EstimationError(f"unknown kernel {kernel!r}; choose one of {', '.join(KERNELS)}")
    if not (bandwidth > 0 and np.isfinite(bandwidth)):
        raise EstimationError(f"bandwidth must be positive, got {bandwidth!r}")
    se = str(se).lower()
    if se not in ("regression", "bootstrap"):
        raise EstimationError("se must be 'regression' or 'bootstrap'")
    covariates = list(covariates or [])
    if pscore is None and not covariates:
        raise EstimationError("give covariates for the propensity model or a pscore column")
    _check_panel_keys(panel, unit, time)
    used = [outcome, treatment, *covariates] + ([pscore] if pscore else [])
    if cluster is not None and cluster not in panel.columns:
        raise EstimationError(f"cluster column not found in panel: {cluster}")
    times = panel[time]
    baseline = times.min() if baseline is None else baseline
    followup = times.max() if followup is None else followup
    if baseline == followup:
        raise EstimationError("baseline and follow-up periods must differ")
    for v, nm in ((baseline, "baseline"), (followup, "followup")):
        if not (times == v).any():
            raise EstimationError(f"{nm} period {v!r} not found in column {time!r}")
    sub = panel.loc[times.isin([baseline, followup])]
    check_columns(sub, list(dict.fromkeys(used)), "panel")
    if cluster is not None:
        check_no_missing(sub, [cluster], "panel")
    warn: list[str] = []
    if len(sub) < len(panel):
        warn.append(f"{len(panel) - len(sub)} row(s) at other periods ignored")
    check_binary(sub[treatment], treatment)
    grp = sub.groupby(unit)[treatment].agg(["min", "max"])
    if (grp["min"] != grp["max"]).any():
        warn.append("treatment varies within units; the group is its maximum over the two periods")
    g_unit = grp["max"].astype(float)

    base = sub.loc[sub[time] == baseline].set_index(unit)
    fol = sub.loc[sub[time] == followup].set_index(unit)
    if len(base) == 0:
        raise EstimationError("no baseline observations")
    units = base.index
    g0 = g_unit.reindex(units).to_numpy()
    if g0.min() == g0.max():
        raise EstimationError("PSM-DID needs both treated and control units at baseline")
    missing_fu = ~units.isin(fol.index)
    if missing_fu.any():
        warn.append(f"{int(missing_fu.sum())} unit(s) without a follow-up observation (baseline row used only)")
    fol_only = ~fol.index.isin(units)
    if fol_only.any():
        warn.append(f"{int(fol_only.sum())} unit(s) without a baseline observation dropped (no baseline score)")

    cfg = dict(kernel=kernel, bandwidth=float(bandwidth), common_support=bool(common_support), link=link)
    if pscore is None:
        bdf = base[covariates].copy()
        bdf["_g"] = g0
        pm = fit_propensity(bdf.reset_index(drop=True), "_g", covariates, link=link)
        p0 = pm.pscore.to_numpy()
        warn += pm.warnings
    else:
        p0 = base[pscore].to_numpy(dtype=float)
    w0, sup, n_nomatch = _psmdid_weights(p0, g0, cfg)
    if n_nomatch:
        warn.append(f"{n_nomatch} treated unit(s) have no control within the bandwidth (kept with weight 1, as diff)")
    n_off = int(np.sum(~sup))
    if n_off:
        warn.append(f"{n_off} unit(s) off common support")
    w_unit = pd.Series(w0, index=units)

    # regression sample: baseline and follow-up rows of units with positive weight
    wrow = sub[unit].map(w_unit)
    use = wrow.fillna(0.0).to_numpy() > 0
    reg = sub.loc[use]
    w = wrow[use].to_numpy()
    y = reg[outcome].to_numpy(dtype=float)
    post = (reg[time] == followup).to_numpy(dtype=float)
    g = reg[unit].map(g_unit).to_numpy()
    X = np.column_stack([np.ones(y.size), post, g, post * g])
    model = sm.WLS(y, X, weights=w)
    if cluster is not None:
        groups = pd.factorize(reg[cluster])[0]
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": groups, "use_correction": True})
        df_resid = float(np.unique(groups).size - 1)
        se_label = f"clustered by {cluster}"
    elif robust:
        fit = model.fit(cov_type="HC1")
        df_resid = float(fit.df_resid)
        se_label = "robust (HC1)"
    else:
        fit = model.fit()
        df_resid = float(fit.df_resid)
        se_label = "conventional (weighted regression)"
    b = np.asarray(fit.params)
    V = np.asarray(fit.cov_params())
    L = np.array([[0, 0, 1, 0], [0, 0, 1, 1], [0, 0, 0, 1]], dtype=float)
    coef = L @ b
    se_vec = np.sqrt(np.einsum("ij,jk,ik->i", L, V, L))
    if not np.all(np.isfinite(se_vec)):
        raise EstimationError("PSM-DID: non-finite regression standard errors (a group x period cell is empty?)")
    cells, _ = _did_point(y, g, post, w)
    means = pd.DataFrame(
        {"baseline": [cells[(0, 0)], cells[(1, 0)]], "followup": [cells[(0, 1)], cells[(1, 1)]]},
        index=pd.Index(["Control", "Treated"], name="group"),
    )
    means["diff"] = means["followup"] - means["baseline"]
    counts = pd.DataFrame(
        {"baseline": [int(np.sum((g == 0) & (post == 0))), int(np.sum((g == 1) & (post == 0)))],
         "followup": [int(np.sum((g == 0) & (post == 1))), int(np.sum((g == 1) & (post == 1)))]},
        index=pd.Index(["Control", "Treated"], name="group"),
    )
    if (counts.to_numpy() == 0).any():
        raise EstimationError("PSM-DID: an empty group x period cell in the weighted sample")

    boot = None
    if se == "bootstrap":
        yb = base[outcome].to_numpy(dtype=float)
        yf = fol[outcome].reindex(units).to_numpy(dtype=float)
        Xb = base[covariates].to_numpy(dtype=float) if pscore is None else None
        args = (yb, yf, g0, Xb, None if pscore is None else p0, cfg)
        reps = bootstrap_replicates(_psmdid_boot_worker, args, int(n_boot), seed, n_jobs)
        ok = [r for r in reps if r is not None]
        if len(ok) < 2:
            raise EstimationError(f"bootstrap: only {len(ok)} of {n_boot} replicates could be estimated")
        if len(ok) < len(reps):
            warn.append(f"bootstrap: {len(reps) - len(ok)} of {n_boot} replicates failed and were skipped")
        boot = np.vstack(ok)
        se_vec = boot.std(axis=0, ddof=1)
        se_label = f"bootstrap over units ({n_boot} reps)"

    weights = pd.Series(np.where(wrow.to_numpy() > 0, wrow.to_numpy(), np.nan), index=sub.index, name="_weights")
    weights = weights.reindex(panel.index)
    settings = dict(kernel=kernel, bandwidth=float(bandwidth), link=link, common_support=bool(common_support),
                    pscore=pscore, baseline=baseline, followup=followup, cluster=cluster, robust=robust,
                    se=se, se_label=se_label, n_boot=(int(n_boot) if se == "bootstrap" else None), seed=seed)
    return PSMDIDResult(
        params=pd.Series(coef, index=["before", "after", "did"]),
        bse=pd.Series(se_vec, index=["before", "after", "did"]),
        df_resid=df_resid, means=means, counts=counts, nobs=int(y.size), r2=float(fit.rsquared),
        weights=weights, pscore=pd.Series(p0, index=units, name="_pscore"), settings=settings,
        outcome=outcome, n_off_support=n_off, boot_estimates=boot, warnings=warn,
    )
