"""The propensity-score model shared by PSM, pstest-style balance checks and PSM-DID.

A binary-response model (probit by default, as in Stata's ``psmatch2``, ``pstest`` and Villa's
``diff``; logit on request) fitted by maximum likelihood with statsmodels' GLM (IRLS, tight
tolerance). Optional weights enter the log-likelihood multiplicatively, which is what Stata's
``iweight`` does; ``pstest`` uses exactly that to re-fit the probit on the matched sample with the
matching weights (``probit T X [iw=_weight] if _support``).

Fitting never prints and never modifies the caller's DataFrame. Problems that make the fitted
scores meaningless raise :class:`~analysis.errors.EstimationError`:

* perfect or quasi-complete separation (a covariate, or a linear combination, predicts the
  treatment exactly; fitted probabilities of exactly 0 or 1): Stata would drop the offending
  variable and observations and carry on, which silently changes the sample the matching works
  on, so here it is an error naming the covariate(s) found to separate;
* IRLS not converging (:class:`~analysis.errors.ConvergenceError`);
* a treatment column that is not binary, a single treatment class, missing values.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .common import check_binary, check_columns
from .errors import ConvergenceError, EstimationError
from .results import EstimationResults, Summary, coef_table

__all__ = ["PropensityModel", "fit_propensity", "check_binary", "check_columns"]

# Fitted probabilities closer than this to 0 or 1 are taken as a sign of separation: with a
# well-identified probit/logit the MLE keeps every fitted probability well inside (0, 1).
_SEPARATION_EPS = 1e-10


@dataclass
class PropensityModel(EstimationResults):
    """A fitted probit/logit propensity model.

    ``pscore`` and ``xb`` (the linear index) are Series indexed like the data used. ``llf`` and
    ``llnull`` are the (weighted) log-likelihoods of the model and of the constant-only model;
    ``lr_chi2 = 2 (llf - llnull)``, ``pseudo_r2 = 1 - llf / llnull`` (McFadden, Stata's
    ``e(r2_p)``), ``lr_pvalue`` from chi2 with ``df_model`` degrees of freedom.
    """

    link: str
    treatment: str
    covariates: list[str]
    params: pd.Series
    bse: pd.Series
    pscore: pd.Series
    xb: pd.Series
    llf: float
    llnull: float
    df_model: int
    nobs: int
    sum_weights: float
    weighted: bool
    converged: bool
    warnings: list[str] = field(default_factory=list)

    @property
    def lr_chi2(self) -> float:
        return float(2.0 * (self.llf - self.llnull))

    @property
    def pseudo_r2(self) -> float:
        return float(1.0 - self.llf / self.llnull)

    @property
    def lr_pvalue(self) -> float:
        return float(stats.chi2.sf(self.lr_chi2, self.df_model))

    def to_frame(self) -> pd.DataFrame:
        return coef_table(self.params.index, self.params.values, self.bse.values)

    def summary(self) -> Summary:
        facts = {
            "Model": self.link,
            "Dep. variable": self.treatment,
            "N obs": self.nobs,
            "Log-likelihood": self.llf,
            "LR chi2": self.lr_chi2,
            "Prob > chi2": self.lr_pvalue,
            "Pseudo R2": self.pseudo_r2,
            "Weighted": "yes" if self.weighted else "no",
        }
        return Summary(f"Propensity score model ({self.link})", facts, {"": self.to_frame()}, self.warnings)


def _separated(Xc: np.ndarray, t: np.ndarray) -> bool:
    """True if some direction b != 0 has (2t-1) x'b >= 0 for every observation: complete or
    quasi-complete separation, under which the binary-response MLE does not exist.

    Konis (2007): maximise sum_i s_i x_i'b subject to s_i x_i'b >= 0 and |b_j| <= 1; the optimum
    is positive exactly when the data are separated.
    """
    from scipy.optimize import linprog

    scale = np.maximum(np.abs(Xc).max(axis=0), 1e-300)  # keep the LP well conditioned
    signed = (2.0 * t - 1.0)[:, None] * (Xc / scale)
    res = linprog(-signed.sum(axis=0), A_ub=-signed, b_ub=np.zeros(len(t)),
                  bounds=[(-1.0, 1.0)] * Xc.shape[1], method="highs")
    return bool(res.status == 0 and -res.fun > 1e-7 * len(t))


def _separating_covariates(X: np.ndarray, names: Sequence[str], t: np.ndarray) -> list[str]:
    """Covariates that alone predict treatment perfectly on one side of a threshold.

    For each covariate, an observation set {x > c} or {x < c} that is entirely treated or
    entirely untreated is quasi-complete separation (Stata: "x predicts success/failure
    perfectly"). Checking the extreme values suffices: separation by a single covariate means
    the observations at its minimum or maximum all share one treatment status and every other
    observation beyond the cut does too; for dummies this is "x == 1 only among treated" etc.
    """
    found = []
    for j, name in enumerate(names):
        x = X[:, j]
        lo, hi = x.min(), x.max()
        if lo == hi:
            continue
        # largest x among controls vs smallest among treated (and the mirror image)
        x1, x0 = x[t == 1], x[t == 0]
        if x1.min() >= x0.max() or x0.min() >= x1.max():
            # complete (strict) or quasi-complete (touching) separation by x alone
            found.append(name)
            continue
        # a value at one extreme of x with only one treatment class (dummy-style separation)
        at_hi, at_lo = x == hi, x == lo
        for mask in (at_hi, at_lo):
            tm = t[mask]
            if mask.sum() < x.size and (tm.min() == tm.max()) and np.unique(x).size == 2:
                found.append(name)
                break
    return found


def _deviance_settled(res) -> bool:
    """IRLS that stopped only because the absolute tolerance (1e-12) lies below the rounding noise of
    the deviance: with thousands of observations the deviance is summed to about 1e-14 of itself, so
    IRLS can oscillate between two values 3e-11 apart forever (seen on a simulated CLDS sample of
    2,827 households, deviance 1,519.5). Such a fit is converged relative to its scale, as Stata's
    relative criterion would judge it: accept it when the last change is within 1e-12 of the deviance."""
    dev = res.fit_history.get("deviance", [])
    return len(dev) > 2 and abs(dev[-1] - dev[-2]) <= 1e-12 * max(1.0, abs(dev[-1]))


# Stata's ml stops when a Newton-Raphson step changes the coefficients by less than tolerance
# (1e-4, relative: |step| / (|b| + 1)) and the scaled gradient g' (-H)^-1 g is below nrtolerance
# (1e-5): its defaults.
STATA_TOLERANCE = 1e-4
STATA_NRTOLERANCE = 1e-5


def _converged_as_stata_judges(res) -> bool:
    """IRLS that ran out of iterations oscillating between two deviances because of rounding noise in
    the probit's tails (1.2e-5 apart on a deviance of 6,050 and 1.7e-3 apart on 3,506, seen on
    simulated CLDS samples of 6,124 and 4,527 households with fitted probabilities within 1e-13
    of 1), at a point where the likelihood's gradient is nil: the fit psmatch2's probit would report.
    Accepted by Stata's rule for a Newton-Raphson iteration from the final estimates: the step
    (-H)^-1 g within tolerance of the coefficients and the decrement g' (-H)^-1 g under nrtolerance."""
    params = np.asarray(res.params, dtype=float)
    try:
        g = res.model.score(params)
        step = np.linalg.solve(-res.model.hessian(params, observed=True), g)
    except (np.linalg.LinAlgError, ValueError, FloatingPointError):
        return False
    decrement = float(g @ step)
    change = float(np.max(np.abs(step) / (np.abs(params) + 1.0)))
    return bool(np.isfinite(decrement) and np.isfinite(change) and 0.0 <= decrement < STATA_NRTOLERANCE
                and change < STATA_TOLERANCE)

def fit_propensity(
    data: pd.DataFrame,
    treatment: str,
    covariates: Sequence[str],
    link: str = "probit",
    weights: np.ndarray | pd.Series | None = None,
    check_separation: bool = True,
) -> PropensityModel:
    """Fit ``P(treatment = 1 | covariates)`` by probit (default) or logit, with a constant.

    Parameters
    ----------
    data : DataFrame with the treatment and covariate columns (not modified).
    treatment : name of the 0/1 treatment column.
    covariates : names of the regressors (a constant is added).
    link : "probit" or "logit".
    weights : optional non-negative weights multiplying each observation's log-likelihood
        contribution (Stata ``iweight``/``fweight`` point estimates); observations with zero
        weight drop out. Used by pstest's matched-sample re-fit.
    check_separation : raise EstimationError on perfect/quasi-complete separation.
    """
    # the GLM module directly: importing statsmodels.api costs ~1 s of unrelated imports
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.genmod.families import Binomial
    from statsmodels.genmod.families.links import Logit, Probit

    link = str(link).lower()
    if link not in ("probit", "logit"):
        raise EstimationError(f"link must be 'probit' or 'logit', got {link!r}")
    covariates = list(covariates)
    if not covariates:
        raise EstimationError("the propensity model needs at least one covariate")
    check_columns(data, [treatment, *covariates])
    t_all = check_binary(data[treatment], treatment)

    if weights is None:
        w_all = np.ones(len(data))
        weighted = False
    else:
        w_all = np.asarray(weights, dtype=float)
        if w_all.shape != (len(data),):
            raise EstimationError("weights must have one entry per row of data")
        if np.any(~np.isfinite(w_all)) or np.any(w_all < 0):
            raise EstimationError("weights must be finite and non-negative")
        weighted = True
    use = w_all > 0
    if not use.any():
        raise EstimationError("all propensity-model weights are zero")
    t = t_all[use]
    w = w_all[use]
    if t.min() == t.max():
        raise EstimationError(
            "the (weighted) propensity sample has only one treatment class; cannot fit the model"
        )
    X = data.loc[use, covariates].to_numpy(dtype=float)
    idx = data.index[use]

    # Drop constant covariates (collinear with the intercept) as Stata does, with a note.
    notes: list[str] = []
    keep = [j for j in range(X.shape[1]) if np.ptp(X[:, j]) > 0]
    if len(keep) < X.shape[1]:
        dropped = [covariates[j] for j in range(X.shape[1]) if j not in keep]
        notes.append(f"constant covariate(s) omitted from the propensity model: {', '.join(dropped)}")
    names = [covariates[j] for j in keep]
    X = X[:, keep]
    if X.shape[1] == 0:
        raise EstimationError("all propensity-model covariates are constant")
    # Exact collinearity among covariates: identify and refuse (Stata would omit one silently).
    Xc = np.column_stack([np.ones(len(X)), X])
    rank = np.linalg.matrix_rank(Xc)
    if rank < Xc.shape[1]:
        raise EstimationError(
            f"propensity-model covariates are collinear (rank {rank} < {Xc.shape[1]} columns incl. constant)"
        )

    if check_separation:
        sep = _separating_covariates(X, names, t)
        if sep:
            raise EstimationError(
                "perfect separation in the propensity model: covariate(s) "
                f"{', '.join(sep)} predict treatment perfectly for some observations; "
                "drop or recode them (Stata would drop them and the perfectly predicted observations)"
            )

    family = Binomial(link=Probit() if link == "probit" else Logit())
    exog = pd.DataFrame(Xc, index=idx, columns=["_cons", *names])
    model = GLM(t, exog, family=family, freq_weights=w if weighted else None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = model.fit(tol=1e-12, maxiter=200)
        except Exception as exc:  # statsmodels raises PerfectSeparationError in some versions
            if "separation" in str(exc).lower():
                raise EstimationError(f"perfect separation in the propensity model ({exc})") from exc
            raise EstimationError(f"propensity model could not be fitted: {exc}") from exc
    sep_warn = [str(c.message) for c in caught if "separation" in str(c.message).lower()]
    if not res.converged and not (_deviance_settled(res) or _converged_as_stata_judges(res)):
        raise ConvergenceError(f"{link} propensity model: IRLS did not converge in 200 iterations")
    xb = Xc @ res.params.to_numpy()
    with np.errstate(over="ignore", under="ignore"):  # huge |xb| under separation: p is 0 or 1
        p = family.link.inverse(xb)
    extreme = (p < _SEPARATION_EPS) | (p > 1 - _SEPARATION_EPS)
    n_ext = int(extreme.sum())
    # Extreme fitted probabilities alone are not separation: an outlying count covariate can
    # legitimately push |xb| far out. Whether the MLE exists is settled exactly by a linear
    # programme (Konis 2007, as in R's detectseparation).
    diverging = bool(sep_warn) or (n_ext > 0 and _separated(Xc, t))
    if check_separation and (sep_warn or diverging):
        raise EstimationError(
            "perfect separation in the propensity model: a linear combination of "
            f"{', '.join(names)} predicts treatment perfectly ({n_ext} fitted probabilities are 0 or 1)"
        )
    if not np.all(np.isfinite(xb)):
        raise EstimationError("propensity model produced non-finite linear predictions")
    if n_ext and not diverging:
        notes.append(f"{n_ext} fitted probabilities are within {_SEPARATION_EPS:g} of 0 or 1 "
                     "(completely determined observations; the model is not separated)")

    llf = float(np.sum(w * (t * np.log(np.clip(p, 1e-300, None)) + (1 - t) * np.log(np.clip(1 - p, 1e-300, None)))))
    pbar = float(np.sum(w * t) / np.sum(w))
    llnull = float(np.sum(w) * (pbar * np.log(pbar) + (1 - pbar) * np.log(1 - pbar)))
    # reorder params so the constant comes last, as Stata prints it
    params = res.params.copy()
    bse = res.bse.copy()
    order = [*names, "_cons"]
    params, bse = params[order], bse[order]
    return PropensityModel(
        link=link,
        treatment=treatment,
        covariates=names,
        params=params,
        bse=bse,
        pscore=pd.Series(p, index=idx, name="_pscore"),
        xb=pd.Series(xb, index=idx, name="_xb"),
        llf=llf,
        llnull=llnull,
        df_model=len(names),
        nobs=int(use.sum()),
        sum_weights=float(np.sum(w)),
        weighted=weighted,
        converged=True,  # else ConvergenceError above
        warnings=notes,
    )


def pscore_from_arrays(X: np.ndarray, treatment: np.ndarray, link: str = "probit",
                       given: np.ndarray | None = None) -> np.ndarray:
    """Propensity scores for array data (the bootstrap's resamples): ``given`` when the caller
    supplied scores, else those of :func:`fit_propensity` on the covariate columns of ``X``."""
    if given is not None:
        return given
    cols = [f"x{j}" for j in range(X.shape[1])]
    df = pd.DataFrame(X, columns=cols)
    df["_treatment"] = treatment
    return fit_propensity(df, "_treatment", cols, link=link).pscore.to_numpy()
