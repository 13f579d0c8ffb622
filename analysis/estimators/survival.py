"""The two models of the 76-county paper (``seeds/003``): OLS of days to poverty exit and a Cox
proportional-hazards model of the exit hazard, with the statistics Stata reports.

* :func:`ols` -- OLS with a constant; ``robust=True`` gives HC1 standard errors (Stata's
  ``regress y x, robust``), t statistics with N - k degrees of freedom as in Stata.
* :func:`cox` -- Cox regression fitted by statsmodels ``PHReg`` with Breslow (Stata's default)
  or Efron ties; coefficients, model-based (OIM) standard errors, hazard ratios with
  delta-method standard errors ``SE(HR) = HR * SE(b)`` and confidence intervals
  ``exp(b -/+ z SE(b))`` as Stata prints them, and the Grambsch--Therneau test of proportional
  hazards on scaled Schoenfeld residuals (Stata's ``estat phtest, detail``).

Reference values (Rossi recidivism data, ``lifelines.datasets.load_rossi``, covariates fin age
race wexp mar paro prio, duration week, event arrest; these numbers are checked in
``tests/test_survival.py``):

===========  ===========================  ===========================
             Efron: coef (SE)             Breslow: coef (SE)
===========  ===========================  ===========================
fin          -0.379422 (0.191379)         -0.379022 (0.191364)
prio          0.091497 (0.028649)          0.091112 (0.028631)
log-lik      -658.7477                    -659.1206
===========  ===========================  ===========================

Efron agrees with lifelines' ``CoxPHFitter`` (which implements Efron only); Breslow is
statsmodels' ``PHReg(ties="breslow")``.

Proportional-hazards test. For event k at time t_k with Schoenfeld residual r_k (covariate
minus its risk-set mean under the fitted model, with the same ties method as the fit: for
Efron, tied events share the average of Efron's adjusted means) and scaled residual
r*_k = d V r_k (d events, V the model variance of b), and g the time transform,

    per covariate j:  chi2_j = (sum_k (g_k - gbar) r*_kj)^2 / (d V_jj sum_k (g_k - gbar)^2),  1 df
    global:           chi2   = (sum_k (g_k - gbar) r_k)' V (sum_k (g_k - gbar) r_k) d / sum_k (g_k - gbar)^2,  p df

-- the Grambsch & Therneau (1994) approximation used by Stata's ``estat phtest`` and by R's
``cox.zph`` before survival 3.0. The default ``time_transform="identity"`` (g(t) = t,
analysis time) is Stata's default; ``"km"`` (R's default: 1 - the *left-continuous*
Kaplan--Meier estimate S(t-) just before each event time, as ``cox.zph`` computes it),
``"rank"`` (lifelines' default) and ``"log"`` are available. For "identity", "rank" and "log"
the per-covariate statistics equal lifelines' ``proportional_hazard_test`` with the same
transform (lifelines reports no global test); lifelines' "km" uses the right-continuous S(t),
which gives different statistics as soon as there are tied or censored times.
``rho`` is the correlation between g(t_k) and the scaled residuals (Stata's ``rho``).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from .common import check_design, numeric_block, require_columns
from .errors import ConvergenceError, EstimationError
from .results import Summary, TableResults, coef_table

__all__ = ["ols", "cox", "OLSResult", "CoxResult", "ph_test"]

_TRANSFORMS = ("identity", "km", "rank", "log")


# ----------------------------------------------------------------------------------------------
# OLS


@dataclass
class OLSResult(TableResults):
    """OLS fit: ``params``, ``bse``, ``table`` (coef, se, t, p, CI, stars), R^2, N.

    ``model`` is the underlying statsmodels results object (for anything not surfaced here).
    """

    table: pd.DataFrame
    nobs: int
    rsquared: float
    rsquared_adj: float
    df_resid: int
    fvalue: float
    f_pvalue: float
    rmse: float
    cov_type: str
    outcome: str
    model: object = field(repr=False, default=None)

    def _inference_df(self):
        return self.df_resid

    def to_frame(self) -> pd.DataFrame:
        """The coefficient table (one row per term, constant last as in Stata)."""
        return self.table.copy()

    def summary(self) -> Summary:
        se_label = "robust (HC1)" if self.cov_type == "HC1" else "conventional"
        return Summary(
            title=f"OLS: {self.outcome}",
            facts={
                "N": self.nobs,
                "R-squared": self.rsquared,
                "Adj. R-squared": self.rsquared_adj,
                "Root MSE": self.rmse,
                f"F({len(self.table) - 1}, {self.df_resid})": self.fvalue,
                "Prob > F": self.f_pvalue,
                "Std. errors": se_label,
            },
            tables={"": self.table},
        )


def ols(data: pd.DataFrame, outcome: str, covariates: Sequence[str], robust: bool = True) -> OLSResult:
    """OLS of ``outcome`` on ``covariates`` plus a constant.

    ``robust=True`` uses HC1 (White with the n/(n-k) small-sample factor), which is what
    Stata's ``, robust`` reports; ``robust=False`` gives conventional standard errors. The
    F statistic is the (robust, if requested) Wald test that all slopes are zero.
    """
    covariates = list(covariates)
    if not covariates:
        raise EstimationError("covariates: at least one covariate is needed")
    require_columns(data, [outcome] + covariates)
    if outcome in covariates:
        raise EstimationError(f"outcome {outcome!r} is also listed as a covariate")
    y = numeric_block(data, [outcome])[:, 0]
    Xc = numeric_block(data, covariates)
    # Constant last, as Stata orders the table.
    X = np.column_stack([Xc, np.ones(len(y))])
    names = covariates + ["_cons"]
    check_design(np.column_stack([X[:, -1], Xc]), ["_cons"] + covariates, has_constant=True)
    cov_type = "HC1" if robust else "nonrobust"
    res = sm.OLS(y, X).fit(cov_type=cov_type)
    table = coef_table(names, res.params, res.bse, df_resid=res.df_resid)
    # The overall F: Wald test of all slopes with the chosen covariance (Stata's robust F).
    R = np.eye(X.shape[1])[:-1]
    ftest = res.f_test(R)
    return OLSResult(
        table=table,
        nobs=int(res.nobs),
        rsquared=float(res.rsquared),
        rsquared_adj=float(res.rsquared_adj),
        df_resid=int(res.df_resid),
        fvalue=float(np.squeeze(ftest.fvalue)),
        f_pvalue=float(ftest.pvalue),
        rmse=float(np.sqrt(res.mse_resid)),
        cov_type=cov_type,
        outcome=outcome,
        model=res,
    )


# ----------------------------------------------------------------------------------------------
# Cox


@dataclass
class CoxResult(TableResults):
    """Cox proportional-hazards fit.

    ``table``: coef, se, z, p, CI, stars, then hr, hr_se (delta method), hr_ci_low, hr_ci_high.
    ``ph_test``: chi2, df, p and rho per covariate plus a ``global`` row.
    """

    table: pd.DataFrame
    cov_params: pd.DataFrame
    ph_test: pd.DataFrame
    loglik: float
    loglik_null: float
    nobs: int
    n_events: int
    ties: str
    time_transform: str
    duration: str
    event: str
    model: object = field(repr=False, default=None)

    @property
    def hazard_ratios(self) -> pd.Series:
        return self.table["hr"]

    @property
    def lr_chi2(self) -> float:
        """Likelihood-ratio chi2 against the model with no covariates (Stata's LR chi2)."""
        return 2.0 * (self.loglik - self.loglik_null)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> Summary:
        k = len(self.table)
        return Summary(
            title=f"Cox proportional hazards: {self.duration} (event {self.event})",
            facts={
                "N": self.nobs,
                "N events": self.n_events,
                "Ties": self.ties,
                "Log likelihood": self.loglik,
                f"LR chi2({k})": self.lr_chi2,
                "Prob > chi2": float(stats.chi2.sf(self.lr_chi2, k)),
                "PH test (global) chi2": float(self.ph_test.loc["global", "chi2"]),
                "PH test (global) p": float(self.ph_test.loc["global", "p"]),
            },
            tables={
                "": self.table[["coef", "se", "z", "p", "hr", "hr_se", "hr_ci_low", "hr_ci_high", "stars"]],
                f"Test of proportional hazards (Schoenfeld, time = {self.time_transform})": self.ph_test,
            },
            notes=["HR = exp(coef); SE(HR) = HR * SE(coef) (delta method); HR CI = exp(coef CI)."],
        )


def _schoenfeld(t: np.ndarray, d: np.ndarray, X: np.ndarray, beta: np.ndarray, ties: str):
    """Schoenfeld residuals of the events (rows sorted by time), vectorised.

    Returns (event_times, residuals d x p). Risk-set sums come from reverse cumulative sums
    over time-sorted rows, taken at the first row of each tied-time block.
    """
    order = np.argsort(t, kind="stable")
    t, d, X = t[order], d[order], X[order]
    eta = X @ beta
    w = np.exp(eta - eta.max())  # common factor cancels in every ratio below
    wx = w[:, None] * X
    # Risk set at time t: all rows with time >= t (ties included) = suffix sums from the first
    # row of the block of equal times.
    S0 = np.cumsum(w[::-1])[::-1]
    S1 = np.cumsum(wx[::-1], axis=0)[::-1]
    first = np.searchsorted(t, t, side="left")  # first row of each row's tied block
    ev = np.flatnonzero(d)
    blk = first[ev]
    if ties == "breslow":
        mean = S1[blk] / S0[blk][:, None]
    else:
        # Efron: the l-th of m tied events (l = 0..m-1) sees the risk set with l/m of the tied
        # events' weight removed; every tied event gets the average of those m means.
        uniq, inv, m = np.unique(blk, return_inverse=True, return_counts=True)
        D0 = np.bincount(inv, weights=w[ev])
        D1 = np.stack([np.bincount(inv, weights=wx[ev, j]) for j in range(X.shape[1])], axis=1)
        # position of each event within its block (0..m-1)
        pos = np.arange(ev.size) - np.concatenate([[0], np.cumsum(m)[:-1]])[inv]
        frac = pos / m[inv]
        means = (S1[blk] - frac[:, None] * D1[inv]) / (S0[blk] - frac * D0[inv])[:, None]
        avg = np.stack([np.bincount(inv, weights=means[:, j]) for j in range(X.shape[1])], axis=1) / m[:, None]
        mean = avg[inv]
    return t[ev], X[ev] - mean


def _time_transform(kind: str, t_all: np.ndarray, d_all: np.ndarray, t_ev: np.ndarray) -> np.ndarray:
    if kind == "identity":
        return t_ev.astype(float)
    if kind == "log":
        if np.any(t_ev <= 0):
            raise EstimationError("time_transform='log' needs positive event times")
        return np.log(t_ev)
    if kind == "rank":
        # rank of the event times among the event times, tied times share their average rank
        # (R's cox.zph; lifelines instead numbers tied events consecutively)
        return stats.rankdata(t_ev, method="average")
    # km: 1 - S(t_k-), the left-continuous Kaplan--Meier survival just *before* each event time,
    # as R's cox.zph (survival >= 3: ``indx <- findInterval(times, km$time, left.open=TRUE);
    # 1 - c(1, km$surv)[indx + 1]``; before 3.0: ``rep(c(1, surv at event times), n.event)``).
    # lifelines uses the right-continuous S(t_k) instead; the two differ by the jump d_k / n_k
    # times S(t_k-), which is not a constant shift once there are ties or censoring.
    times, idx = np.unique(t_all, return_inverse=True)
    deaths = np.bincount(idx, weights=d_all)
    counts = np.bincount(idx)
    at_risk = counts[::-1].cumsum()[::-1]
    surv = np.cumprod(1.0 - deaths / at_risk)
    surv_before = np.concatenate([[1.0], surv[:-1]])  # S(times[i]-) = S(times[i-1])
    return 1.0 - surv_before[np.searchsorted(times, t_ev)]


def ph_test(
    t: np.ndarray, d: np.ndarray, X: np.ndarray, beta: np.ndarray, V: np.ndarray, names, ties: str,
    time_transform: str = "identity",
) -> pd.DataFrame:
    """Grambsch--Therneau test on (scaled) Schoenfeld residuals; see the module docstring."""
    if time_transform not in _TRANSFORMS:
        raise EstimationError(f"time_transform must be one of {_TRANSFORMS}, got {time_transform!r}")
    t_ev, r = _schoenfeld(t, d, X, beta, ties)
    n_ev = r.shape[0]
    g = _time_transform(time_transform, t, d, t_ev)
    gc = g - g.mean()
    sgg = float(gc @ gc)
    if sgg == 0:
        raise EstimationError("PH test undefined: all events happen at the same time")
    scaled = n_ev * r @ V + beta  # beta added as in R/Stata; cancels against centred g
    num = gc @ scaled
    chi2 = num**2 / (n_ev * np.diag(V) * sgg)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.array([np.corrcoef(gc, scaled[:, j])[0, 1] for j in range(X.shape[1])])
    u = gc @ r
    chi2_g = float(u @ V @ u) * n_ev / sgg
    p = X.shape[1]
    out = pd.DataFrame(
        {
            "rho": np.append(rho, np.nan),
            "chi2": np.append(chi2, chi2_g),
            "df": np.append(np.ones(p, dtype=int), p),
            "p": np.append(stats.chi2.sf(chi2, 1), stats.chi2.sf(chi2_g, p)),
        },
        index=pd.Index(list(names) + ["global"], name="term"),
    )
    return out


def cox(
    data: pd.DataFrame,
    duration: str,
    event: str,
    covariates: Sequence[str],
    ties: str = "breslow",
    *,
    time_transform: str = "identity",
) -> CoxResult:
    """Cox proportional-hazards regression (see the module docstring).

    Parameters
    ----------
    duration : str
        Column of non-negative durations (days to exit, say). Zero durations are kept (Stata's
        ``stset`` would drop them).
    event : str
        Column of 0/1 (or boolean) event indicators; 0 = censored.
    ties : {"breslow", "efron"}
        Breslow is Stata's default.
    time_transform : {"identity", "km", "rank", "log"}
        Time scale g(t) of the proportional-hazards test; identity (analysis time) is Stata's
        ``estat phtest`` default.
    """
    ties = str(ties).lower()
    if ties not in ("breslow", "efron"):
        raise EstimationError(f"ties must be 'breslow' or 'efron', got {ties!r}")
    if time_transform not in _TRANSFORMS:
        raise EstimationError(f"time_transform must be one of {_TRANSFORMS}, got {time_transform!r}")
    covariates = list(covariates)
    if not covariates:
        raise EstimationError("covariates: at least one covariate is needed")
    require_columns(data, [duration, event] + covariates)
    overlap = {duration, event} & set(covariates)
    if overlap or duration == event:
        raise EstimationError(f"duration/event columns also used elsewhere: {sorted(overlap) or [duration]}")
    t = numeric_block(data, [duration])[:, 0]
    e = numeric_block(data, [event])[:, 0]
    X = numeric_block(data, covariates)
    neg = t[t < 0]
    if neg.size:
        raise EstimationError(f"negative durations in {duration!r}: {neg.size} value(s), e.g. {neg[0]!r}")
    bad = np.setdiff1d(np.unique(e), [0.0, 1.0])
    if bad.size:
        raise EstimationError(f"event column {event!r} must be 0/1, found value(s) {bad[:5].tolist()}")
    n_events = int(e.sum())
    if n_events == 0:
        raise EstimationError(f"no events: {event!r} is 0 for all {len(e)} observations")
    check_design(X, covariates, has_constant=False)

    model = PHReg(t, X, status=e.astype(int), ties=ties)
    # statsmodels reports non-convergence only as a warning; catch it (and keep fitting
    # silent) and turn it into an error, since diverging estimates are not estimates.
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        try:
            res = model.fit(method="newton", maxiter=100)
        except np.linalg.LinAlgError as exc:  # singular Hessian
            raise ConvergenceError(f"Cox ({ties}): Newton-Raphson failed: {exc}") from exc
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        raise ConvergenceError(
            f"Cox ({ties}): Newton-Raphson did not converge in 100 iterations; estimates diverge "
            f"(monotone likelihood: a covariate may perfectly order the events), last coef {np.round(res.params, 3)}"
        )
    beta = np.asarray(res.params, dtype=float)
    V = np.asarray(res.cov_params(), dtype=float)
    se = np.sqrt(np.diag(V)) if np.all(np.diag(V) > 0) else np.full(len(beta), np.nan)
    if not (np.all(np.isfinite(beta)) and np.all(np.isfinite(se))):
        raise ConvergenceError(
            f"Cox ({ties}): non-finite estimates {beta} / standard errors {se} "
            "(monotone likelihood: a covariate may perfectly order the events)"
        )
    # PHReg does not expose the optimiser's convergence flag; check the Newton decrement
    # g' V g at the solution instead (0 at the maximum).
    grad = model.score(beta)
    decrement = float(grad @ V @ grad)
    if not np.isfinite(decrement) or decrement > 1e-6:
        raise ConvergenceError(
            f"Cox ({ties}): Newton-Raphson did not converge (Newton decrement {decrement:.3g}); "
            "a covariate may perfectly predict the event order (monotone likelihood)"
        )

    table = coef_table(covariates, beta, se)
    z = stats.norm.ppf(0.975)
    hr = np.exp(beta)
    table.insert(len(table.columns) - 1, "hr", hr)
    table.insert(len(table.columns) - 1, "hr_se", hr * se)
    table.insert(len(table.columns) - 1, "hr_ci_low", np.exp(beta - z * se))
    table.insert(len(table.columns) - 1, "hr_ci_high", np.exp(beta + z * se))

    ph = ph_test(t, e, X, beta, V, covariates, ties, time_transform)
    return CoxResult(
        table=table,
        cov_params=pd.DataFrame(V, index=covariates, columns=covariates),
        ph_test=ph,
        loglik=float(res.llf),
        loglik_null=float(model.loglike(np.zeros_like(beta))),
        nobs=len(t),
        n_events=n_events,
        ties=ties,
        time_transform=time_transform,
        duration=duration,
        event=event,
        model=res,
    )
