"""Vulnerability to expected poverty (VEP) of Chaudhuri, Jalan & Suryahadi (2002).

A household's vulnerability is the probability that its (future) income falls below the poverty
line, with log income assumed normal and its mean *and* variance linear in household
characteristics X:

    ln y_i = X_i beta + e_i,     Var(e_i) = X_i theta,
    Vul_i  = Phi( (ln z - X_i beta) / sqrt(X_i theta) ).

``beta`` and ``theta`` are estimated by the three-step feasible GLS of Amemiya (1977) as in
Chaudhuri et al. (2002), the procedure used by the CLDS paper (``seeds/001``):

1. OLS of ln y on X (X includes a constant) -> residuals e.
2. OLS of e^2 on X -> theta_OLS and fitted variances s2_OLS = X theta_OLS.
3. FGLS. (a) Variance equation re-estimated on the observations transformed by the step-2
   fitted variance (see ``variance_weighting``) -> theta_FGLS and s2 = X theta_FGLS;
   (b) mean equation re-estimated with every observation divided by sqrt(s2) (WLS weights
   1/s2) -> beta_FGLS. In both transformed regressions *no* constant is added: the constant
   column of X is itself transformed (it becomes 1/sqrt(s2), resp. 1/s2_OLS).
   Finally Vul_i = Phi((ln z - X_i beta_FGLS) / sqrt(s2_i)).

Non-positive fitted variances. X theta is linear and nothing keeps it positive, so some
households can get s2 <= 0. This module handles them explicitly and reports their counts:

* in the weighting steps (3a uses s2_OLS, 3b uses s2) observations whose fitted variance is
  <= 0 are *dropped from that weighted regression* -- flooring them instead would give them
  the largest weight of all, although they are exactly the observations the variance model
  fits worst; their coefficients still apply to them afterwards;
* in the final probability the variance is floored: ``s2_used = max(s2, floor)`` where the
  floor is ``min_variance`` if given, else the smallest positive fitted variance in the sample
  (a household is then treated as no less uncertain than the most certain observed one).

The counts are ``n_nonpositive_ols`` (step 2), ``n_nonpositive_fgls`` (step 3) and
``n_floored`` (variances replaced by the floor in the final step).

Poverty lines are given in *income units* (yuan per person per year, say) and their log is
taken inside, because ``log_income`` is already in logs: pass ``poverty_line=2300``, not
``np.log(2300)``. A line may be a scalar, the name of a column holding a per-row line (e.g.
lines converted with year-specific PPP factors), or a dict name -> line to evaluate several
lines at once (the papers use $1.9/day, the national 2300 yuan, $3.1/day).

Vulnerability lines: a household is *highly* vulnerable when Vul >= 0.5 and *vulnerable at the
low line* when Vul >= the observed poverty incidence for that poverty line, i.e. the share of
the sample with ln y < ln z (Chaudhuri et al. 2002; CLDS paper section 3.2.1).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import linalg, special
from scipy.linalg import lapack

from .common import COLLINEAR_TOL, check_design, gram, numeric_block, require_columns
from .errors import EstimationError
from .results import EstimationResults, Summary, coef_table

__all__ = ["vulnerability", "VEPResult"]

_WEIGHTINGS = ("amemiya", "sqrt")


# Input checks (shared with :mod:`.survival`) are public helpers of :mod:`.common`; the private
# names are kept for callers of the old ones.
_require_columns, _numeric_block, _gram, _check_design = require_columns, numeric_block, gram, check_design
_COLLINEAR_TOL = COLLINEAR_TOL


# ----------------------------------------------------------------------------------------------
# Least squares on an explicit design (no constant added): the transformed FGLS regressions
# need exactly that.


@dataclass(frozen=True)
class _LS:
    params: np.ndarray
    cov: np.ndarray
    resid: np.ndarray
    df_resid: int


def _ls(X: np.ndarray, y: np.ndarray, what: str) -> _LS:
    """OLS by Cholesky of the column-scaled normal equations plus one step of iterative
    refinement, which recovers the accuracy lost to squaring the condition number; the result
    agrees with QR / lstsq to ~1e-12 on ordinary survey designs."""
    n, k = X.shape
    if n <= k:
        raise EstimationError(f"{what}: too few observations ({n}) for {k} parameters")
    norm, G = gram(X)
    try:
        cho = linalg.cho_factor(G, lower=False, check_finite=False)
    except np.linalg.LinAlgError:
        raise EstimationError(f"{what}: design matrix is rank deficient (collinear columns)") from None
    if np.abs(np.diag(cho[0])).min() <= _COLLINEAR_TOL:
        raise EstimationError(f"{what}: design matrix is rank deficient (collinear columns)")
    params = linalg.cho_solve(cho, (X.T @ y) / norm, check_finite=False) / norm
    resid = y - X @ params
    params = params + linalg.cho_solve(cho, (X.T @ resid) / norm, check_finite=False) / norm
    resid = y - X @ params
    df = n - k
    s2 = float(resid @ resid) / df
    cov = s2 * linalg.cho_solve(cho, np.eye(k), check_finite=False) / np.outer(norm, norm)
    return _LS(params, cov, resid, df)


def _table(fit: _LS, names: Sequence[str]) -> pd.DataFrame:
    return coef_table(names, fit.params, np.sqrt(np.diag(fit.cov)), df_resid=fit.df_resid)


# ----------------------------------------------------------------------------------------------


@dataclass
class VEPResult(EstimationResults):
    """Vulnerability to expected poverty, one value per household and poverty line.

    With a single poverty line ``vulnerability``, ``high`` and ``low`` are Series indexed like
    the input data; with a dict of lines they are DataFrames with one column per line name.

    Attributes
    ----------
    vulnerability, high, low : Series or DataFrame
        Vul_i; Vul_i >= 0.5; Vul_i >= observed poverty incidence of that line.
    fitted_mean : Series
        X_i beta_FGLS, expected log income.
    fitted_variance : Series
        Variance used in Vul_i (X_i theta_FGLS, floored as described in the module doc).
    raw_fitted_variance : Series
        X_i theta_FGLS before flooring (may be <= 0).
    mean_table, variance_table : DataFrame
        FGLS coefficient tables (conventional WLS standard errors, t statistics).
    ols_mean_table, ols_variance_table : DataFrame
        Steps 1 and 2 (plain OLS), kept for comparison.
    incidence : Series
        Observed poverty incidence (share with ln y < ln z) per poverty line.
    n_nonpositive_ols, n_nonpositive_fgls, n_floored : int
        Counts of non-positive fitted variances (step 2, step 3) and of floored variances.
    """

    vulnerability: pd.Series | pd.DataFrame
    high: pd.Series | pd.DataFrame
    low: pd.Series | pd.DataFrame
    fitted_mean: pd.Series
    fitted_variance: pd.Series
    raw_fitted_variance: pd.Series
    mean_table: pd.DataFrame
    variance_table: pd.DataFrame
    ols_mean_table: pd.DataFrame
    ols_variance_table: pd.DataFrame
    incidence: pd.Series
    poverty_lines: dict
    nobs: int
    n_nonpositive_ols: int
    n_nonpositive_fgls: int
    n_floored: int
    variance_floor: float
    variance_weighting: str
    log_income: str
    covariates: list = field(default_factory=list)
    _single: bool = True
    df_resid: tuple = (None, None)  # residual degrees of freedom of the FGLS mean and variance equations

    # The result protocol (EstimationResults): both FGLS equations, terms "mean:<x>" and
    # "variance:<x>" (constant first in each), t inference with each equation's df.

    def _coefficients(self) -> pd.DataFrame:
        parts = [t.set_axis([f"{eq}:{n}" for n in t.index], axis=0)
                 for eq, t in (("mean", self.mean_table), ("variance", self.variance_table))]
        return pd.concat(parts).rename_axis("term")

    @property
    def params(self) -> pd.Series:
        """beta_FGLS then theta_FGLS, indexed ``mean:<term>`` and ``variance:<term>``."""
        return self._coefficients()["coef"].rename(None)

    @property
    def bse(self) -> pd.Series:
        return self._coefficients()["se"].rename(None)

    def _inference_df(self):
        return np.repeat(np.asarray(self.df_resid, dtype=float), [len(self.mean_table), len(self.variance_table)])

    @property
    def params_mean(self) -> pd.Series:
        """Deprecated: beta_FGLS (constant first); use ``mean_table["coef"]`` or ``params``."""
        warnings.warn("VEPResult.params_mean is deprecated; use .params (mean:<term>) or .mean_table['coef']",
                      DeprecationWarning, stacklevel=2)
        return self.mean_table["coef"]

    @property
    def params_variance(self) -> pd.Series:
        """Deprecated: theta_FGLS (constant first); use ``variance_table["coef"]`` or ``params``."""
        warnings.warn("VEPResult.params_variance is deprecated; use .params (variance:<term>) or "
                      ".variance_table['coef']", DeprecationWarning, stacklevel=2)
        return self.variance_table["coef"]

    @property
    def N(self) -> int:  # noqa: N802 - the papers' notation
        return self.nobs

    def _frame(self, obj) -> pd.DataFrame:
        return obj.to_frame("vul") if isinstance(obj, pd.Series) else obj

    def to_frame(self) -> pd.DataFrame:
        """The coefficient table of both FGLS equations (terms ``mean:<x>``, ``variance:<x>``)."""
        return self._coefficients()

    def household_frame(self) -> pd.DataFrame:
        """Household-level frame: fitted mean and variance, then Vul / high / low per line.

        Column names are ``vul``, ``high``, ``low`` for a single line and ``vul_<name>``,
        ``high_<name>``, ``low_<name>`` for several.
        """
        out = pd.DataFrame(
            {
                "fitted_mean": self.fitted_mean,
                "fitted_variance": self.fitted_variance,
                "variance_floored": self.raw_fitted_variance < self.fitted_variance,
            }
        )
        if self._single:
            out["vul"] = self.vulnerability
            out["high"] = self.high
            out["low"] = self.low
        else:
            for name in self.vulnerability.columns:
                out[f"vul_{name}"] = self.vulnerability[name]
                out[f"high_{name}"] = self.high[name]
                out[f"low_{name}"] = self.low[name]
        return out

    def line_summary(self) -> pd.DataFrame:
        """Per poverty line: ln z description, incidence, mean Vul, shares high / low."""
        vul, high, low = (self._frame(o) for o in (self.vulnerability, self.high, self.low))
        if self._single:
            high, low = high.set_axis(["vul"], axis=1), low.set_axis(["vul"], axis=1)
        return pd.DataFrame(
            {
                "line": pd.Series({k: str(v) for k, v in self.poverty_lines.items()}),
                "incidence": self.incidence,
                "mean_vul": vul.mean().set_axis(list(self.poverty_lines)),
                "share_high": high.mean().set_axis(list(self.poverty_lines)),
                "share_low": low.mean().set_axis(list(self.poverty_lines)),
            }
        ).rename_axis("poverty line")

    def summary(self) -> Summary:
        facts = {
            "Dependent variable": self.log_income,
            "N": self.nobs,
            "Variance weighting": self.variance_weighting,
            "Variance floor": self.variance_floor,
            "Non-positive s2 (step 2)": self.n_nonpositive_ols,
            "Non-positive s2 (FGLS)": self.n_nonpositive_fgls,
            "Floored variances": self.n_floored,
        }
        return Summary(
            title="Vulnerability to expected poverty (Chaudhuri et al. 2002, 3-step FGLS)",
            facts=facts,
            tables={
                "Mean equation (FGLS): ln income": self.mean_table,
                "Variance equation (FGLS): squared residual": self.variance_table,
                "Poverty lines": self.line_summary(),
            },
            notes=[
                "Vul = Phi((ln z - Xb) / sqrt(X theta)); high: Vul >= 0.5; low: Vul >= poverty incidence.",
                "Observations with non-positive fitted variance are left out of the weighted regressions.",
            ],
        )


def _resolve_lines(data: pd.DataFrame, poverty_line, n: int) -> tuple[dict, dict, bool]:
    """Map name -> ln z (scalar or array of length n), and name -> description."""
    single = not isinstance(poverty_line, Mapping)
    lines = {"vul": poverty_line} if single else dict(poverty_line)
    if not lines:
        raise EstimationError("poverty_line: empty dict of poverty lines")
    logs, desc = {}, {}
    for name, line in lines.items():
        if isinstance(line, str):
            if line not in data.columns:
                raise EstimationError(f"poverty line {name!r}: column {line!r} not in data")
            z = numeric_block(data, [line])[:, 0]
            bad = z[z <= 0]
            if bad.size:
                raise EstimationError(
                    f"poverty line {name!r}: column {line!r} has {bad.size} non-positive value(s), e.g. {bad[0]!r}"
                    " (lines are in income units; the log is taken inside)"
                )
            logs[name], desc[name] = np.log(z), f"column {line}"
        else:
            try:
                z = float(line)
            except (TypeError, ValueError):
                raise EstimationError(f"poverty line {name!r}: not a number or column name: {line!r}") from None
            if not np.isfinite(z) or z <= 0:
                raise EstimationError(
                    f"poverty line {name!r} must be a positive income level (the log is taken inside), got {line!r}"
                )
            logs[name], desc[name] = np.log(z), z
    return logs, desc, single


def vulnerability(
    data: pd.DataFrame,
    log_income: str,
    covariates: Sequence[str],
    poverty_line: float | str | Mapping[str, float | str],
    *,
    variance_weighting: str = "amemiya",
    min_variance: float | None = None,
    tables: bool = True,
) -> VEPResult:
    """Vulnerability to expected poverty by three-step FGLS (see the module docstring).

    Parameters
    ----------
    data : DataFrame
        One row per household; never modified.
    log_income : str
        Column of log income (per capita, say) -- already in logs.
    covariates : sequence of str
        Columns of X (a constant is added).
    poverty_line : float, str or dict
        Poverty line in *income units* (its log is taken inside); a column name for a per-row
        line; or a dict name -> (float or column name) for several lines at once.
    variance_weighting : {"amemiya", "sqrt"}
        Transformation of the step-3 variance equation. ``"amemiya"`` (default) divides
        e^2 and X by the step-2 fitted variance X theta_OLS (WLS weights 1/(X theta_OLS)^2):
        this is Chaudhuri et al. (2002, eq. 5) and Amemiya's (1977) efficient choice, since
        Var(e^2) = 2 sigma^4 is proportional to the *square* of the variance under normality.
        ``"sqrt"`` divides by sqrt(X theta_OLS) (WLS weights 1/(X theta_OLS)), the weighting
        some applied code uses. Both are consistent; the mean equation is always divided by
        sqrt(X theta_FGLS).
    min_variance : float, optional
        Floor for the variance used in Vul. Default: the smallest positive fitted FGLS
        variance, so only non-positive fitted variances are replaced.

    tables : bool
        ``False`` leaves the four coefficient tables (``mean_table`` ...) as None: for callers
        that need only the vulnerabilities, such as the yearly means of ``compare``.

    Raises
    ------
    EstimationError
        Missing columns, NaN/inf values, constant or collinear covariates, non-positive
        poverty lines, or too few observations with a positive fitted variance.
    """
    if variance_weighting not in _WEIGHTINGS:
        raise EstimationError(f"variance_weighting must be one of {_WEIGHTINGS}, got {variance_weighting!r}")
    covariates = list(covariates)
    if not covariates:
        raise EstimationError("covariates: at least one covariate is needed for the variance model")
    require_columns(data, [log_income] + covariates)
    if log_income in covariates:
        raise EstimationError(f"log_income {log_income!r} is also listed as a covariate")
    y = numeric_block(data, [log_income])[:, 0]
    n = y.size
    X = np.empty((n, len(covariates) + 1))
    X[:, 0] = 1.0
    X[:, 1:] = numeric_block(data, covariates)
    names = ["const"] + covariates
    check_design(X, names, has_constant=True)
    if n < 2 * X.shape[1] + 2:
        raise EstimationError(f"too few observations for mean and variance equations: N = {n}, k = {X.shape[1]}")
    logz, desc, single = _resolve_lines(data, poverty_line, n)
    if min_variance is not None and not (np.isfinite(min_variance) and min_variance > 0):
        raise EstimationError(f"min_variance must be a positive number, got {min_variance!r}")

    # Step 1: OLS mean equation; step 2: OLS variance equation on the squared residuals.
    ols_mean = _ls(X, y, "step 1 (OLS mean equation)")
    e2 = ols_mean.resid**2
    ols_var = _ls(X, e2, "step 2 (OLS variance equation)")
    s2_ols = X @ ols_var.params
    pos_ols = s2_ols > 0
    n_nonpos_ols = int(n - pos_ols.sum())

    # Step 3a: FGLS variance equation, transformed by the step-2 fitted variance; observations
    # with s2_OLS <= 0 cannot be weighted and are left out of this regression only.
    d = s2_ols[pos_ols] if variance_weighting == "amemiya" else np.sqrt(s2_ols[pos_ols])
    fgls_var = _ls(X[pos_ols] / d[:, None], e2[pos_ols] / d, "step 3 (FGLS variance equation)")
    s2 = X @ fgls_var.params
    pos = s2 > 0
    n_nonpos = int(n - pos.sum())
    if not pos.any():
        raise EstimationError("FGLS variance equation: no observation has a positive fitted variance")

    # Step 3b: FGLS mean equation, every observation divided by its fitted standard deviation.
    sd = np.sqrt(s2[pos])
    fgls_mean = _ls(X[pos] / sd[:, None], y[pos] / sd, "step 3 (FGLS mean equation)")
    mu = X @ fgls_mean.params

    floor = float(min_variance) if min_variance is not None else float(s2[pos].min())
    s2_used = np.maximum(s2, floor)
    n_floored = int((s2 < floor).sum())
    sigma = np.sqrt(s2_used)

    idx = data.index
    vul_cols, high_cols, low_cols, inc = {}, {}, {}, {}
    for name, lz in logz.items():
        v = special.ndtr((lz - mu) / sigma)
        incidence = float(np.mean(y < lz))
        vul_cols[name], inc[name] = v, incidence
        high_cols[name] = v >= 0.5
        low_cols[name] = v >= incidence

    def pack(cols: dict, dtype=None):
        if single:
            return pd.Series(cols["vul"], index=idx, name="vul", dtype=dtype)
        return pd.DataFrame(cols, index=idx)

    return VEPResult(
        vulnerability=pack(vul_cols),
        high=pack(high_cols),
        low=pack(low_cols),
        fitted_mean=pd.Series(mu, index=idx, name="fitted_mean"),
        fitted_variance=pd.Series(s2_used, index=idx, name="fitted_variance"),
        raw_fitted_variance=pd.Series(s2, index=idx, name="raw_fitted_variance"),
        df_resid=(fgls_mean.df_resid, fgls_var.df_resid),
        mean_table=_table(fgls_mean, names) if tables else None,
        variance_table=_table(fgls_var, names) if tables else None,
        ols_mean_table=_table(ols_mean, names) if tables else None,
        ols_variance_table=_table(ols_var, names) if tables else None,
        incidence=pd.Series(inc, name="incidence"),
        poverty_lines=desc,
        nobs=n,
        n_nonpositive_ols=n_nonpos_ols,
        n_nonpositive_fgls=n_nonpos,
        n_floored=n_floored,
        variance_floor=floor,
        variance_weighting=variance_weighting,
        log_income=log_income,
        covariates=covariates,
        _single=single,
    )
