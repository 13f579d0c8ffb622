"""Validation of analysis.psm (psmatch2 / R Matching semantics) and the pstest balance table."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from ruralabm.analysis.errors import EstimationError
from ruralabm.analysis.psm import _normal_kernel_direct, _normal_kernel_fgt, balance, match

RTOL = 1e-4
NSW_COV = ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75"]


@pytest.fixture(scope="module")
def nsw() -> pd.DataFrame:
    causaldata = pytest.importorskip("causaldata")
    d = causaldata.nsw_mixtape.load_pandas().data
    assert len(d) == 445 and (d["data_id"] == "Dehejia-Wahba Sample").all()  # experimental sample only
    # stored as float32/int8; Sekhon's lalonde is double
    return d.astype({c: float for c in ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75", "re78", "treat"]})


# --------------------------------------------------------------------------------------------
# NSW experimental sample (Sekhon 2011, JSS, section on propensity score matching)
# --------------------------------------------------------------------------------------------
def test_nsw_raw_difference(nsw):
    t = nsw["treat"] == 1
    diff = nsw.loc[t, "re78"].mean() - nsw.loc[~t, "re78"].mean()
    assert diff == pytest.approx(1794.342, rel=RTOL)
    r = match(nsw, "treat", "re78", NSW_COV, link="logit", compute_balance=False)
    assert r.unmatched_diff == pytest.approx(1794.342, rel=RTOL)


def test_nsw_sekhon_matching_att_and_ai_se(nsw):
    # Sekhon: glm logit on the fitted probability (glm1$fitted), Match(Y, Tr, X=glm1$fitted):
    # M=1, ties=TRUE, distance.tolerance=1e-5, no common support, AI SE with Var.calc=0
    r = match(nsw, "treat", "re78", NSW_COV, link="logit", ties=True, se="ai", common_support=False)
    assert r.att == pytest.approx(2624.2768, rel=RTOL)
    assert r.se == pytest.approx(802.1876, rel=RTOL)
    assert r.n_treated == 185 and r.n_off_support == 0


def test_nsw_exact_ties_differ_from_matching_tolerance(nsw):
    # With exact ties (1e-12) the near-ties that Matching's 1e-5 tolerance on the squared
    # standardised distance merges are not tied: a different (documented) estimate.
    exact = match(nsw, "treat", "re78", NSW_COV, link="logit", ties="exact", se="ai", common_support=False,
                  compute_balance=False)
    same = match(nsw, "treat", "re78", NSW_COV, link="logit", ties="matching", se="ai", common_support=False,
                 compute_balance=False)
    assert same.att == pytest.approx(2624.2768, rel=RTOL)
    assert exact.att == pytest.approx(2639.8646, rel=RTOL)
    nat = match(nsw, "treat", "re78", NSW_COV, link="logit", ties=False, common_support=False, compute_balance=False)
    # ties=True only ever adds equidistant controls; weights per treated still sum to one
    assert np.nansum(exact.weights[nsw.treat == 0]) == pytest.approx(185)
    assert np.nansum(nat.weights[nsw.treat == 0]) == pytest.approx(185)


def test_nsw_summary_and_frames(nsw):
    before = nsw.copy()
    r = match(nsw, "treat", "re78", NSW_COV, method="kernel", kernel="epan", bandwidth=0.06)
    pd.testing.assert_frame_equal(nsw, before)  # input untouched
    text = str(r.summary())
    assert "ATT" in text and "%bias" in text and "re74 M" in text
    fr = r.to_frame()
    assert list(fr.columns[:4]) == ["coef", "se", "z", "p"] and fr.loc["ATT", "coef"] == r.att
    assert r.pscore.index.equals(nsw.index) and r.weights.index.equals(nsw.index)
    assert r.balance.table3().shape == (2 * len(NSW_COV), 6)


# --------------------------------------------------------------------------------------------
# Simulated selection on observables: the ATT is recovered within Monte Carlo error
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sim() -> tuple[pd.DataFrame, float]:
    rng = np.random.default_rng(20240611)
    n = 4000
    x1 = rng.normal(size=n)
    x2 = rng.binomial(1, 0.5, n).astype(float)
    p = stats.norm.cdf(-0.4 + 0.7 * x1 + 0.5 * x2)
    t = (rng.uniform(size=n) < p).astype(float)
    y0 = 1 + x1 + 0.5 * x2 + x1**2 * 0.3 + rng.normal(size=n)
    tau = 1.0 + 0.5 * x1  # heterogeneous effect: ATT != ATE
    y = y0 + t * tau
    df = pd.DataFrame({"t": t, "y": y, "x1": x1, "x2": x2})
    satt = float(tau[t == 1].mean())
    return df, satt


@pytest.mark.parametrize(
    "kw",
    [
        dict(method="nearest", k=4, se="ai"),
        dict(method="nearest", k=1, se="default"),
        dict(method="kernel", kernel="normal", bandwidth=0.06),
        dict(method="kernel", kernel="epan", bandwidth=0.06),
        dict(method="radius", radius=0.01),
    ],
)
def test_simulated_att_recovered(sim, kw):
    df, satt = sim
    r = match(df, "t", "y", ["x1", "x2"], compute_balance=False, **kw)
    # tolerance: 4 standard errors of the estimator (two-sided 6e-5 chance for a correct SE);
    # the sample ATT (mean of the true tau over the treated) is the target
    assert abs(r.att - satt) < 4 * r.se, (r.att, satt, r.se)
    assert 0.02 < r.se < 0.2  # a sane SE for n = 4000


def test_simulated_ate_and_atu(sim):
    df, _ = sim
    tau = 1.0 + 0.5 * df["x1"]
    r = match(df, "t", "y", ["x1", "x2"], k=4, estimand="ate", se="ai", compute_balance=False)
    assert abs(r.ate - tau.mean()) < 4 * r.se_ate
    assert abs(r.atu - tau[df.t == 0].mean()) < 4 * r.se_atu
    n1, n0 = r.n_treated, int((df.t == 0).sum()) - int((~r.support & (df.t == 0)).sum())
    assert r.ate == pytest.approx((n1 * r.att + n0 * r.atu) / (n1 + n0), rel=1e-12)


def test_a_propensity_model_fitted_once_gives_every_method_the_numbers_of_its_own_fit(sim):
    """``propensity=`` reuses a fitted model (the papers' tables match several methods and
    outcomes on one sample): everything equals a match that fits its own, balance included; a
    model of other rows, another treatment, link or covariates is refused."""
    from ruralabm.analysis.propensity import fit_propensity

    df, _ = sim
    df = df.assign(y2=df["y"] ** 2, flat=1.0)
    fitted = fit_propensity(df, "t", ["x1", "x2", "flat"])
    for kw in (dict(method="nearest", k=4, se="ai"), dict(method="kernel", bandwidth=0.06),
               dict(method="radius", radius=0.01)):
        for y in ("y", "y2"):
            own = match(df, "t", y, ["x1", "x2", "flat"], **kw)
            shared = match(df, "t", y, ["x1", "x2", "flat"], **kw, propensity=fitted)
            assert (shared.att, shared.se, shared.n_treated, shared.n_off_support) == (
                own.att, own.se, own.n_treated, own.n_off_support)
            pd.testing.assert_series_equal(shared.weights, own.weights)
            pd.testing.assert_frame_equal(shared.balance.table, own.balance.table)
            assert shared.propensity is fitted and shared.warnings == own.warnings
    refused = [(dict(data=df.iloc[1:]), "other rows"), (dict(link="logit"), "logit"),
               (dict(covariates=["x1"]), "other covariates"), (dict(pscore="x1"), "not both"),
               (dict(data=df.rename(columns={"t": "d"}), treatment="d"), "other rows")]
    base = dict(data=df, treatment="t", outcome="y", covariates=["x1", "x2"], propensity=fitted)
    assert match(**base).att == match(df, "t", "y", ["x1", "x2"]).att  # the constant dropped in both
    for change, message in refused:
        with pytest.raises(EstimationError, match=message):
            match(**{**base, **change})


# --------------------------------------------------------------------------------------------
# Mechanics on tiny hand-checkable data (dyadic scores: exact in floating point)
# --------------------------------------------------------------------------------------------
def _frame(pt, pc, yt=None, yc=None):
    pt, pc = np.asarray(pt, float), np.asarray(pc, float)
    yt = np.arange(pt.size, dtype=float) + 100 if yt is None else np.asarray(yt, float)
    yc = np.arange(pc.size, dtype=float) if yc is None else np.asarray(yc, float)
    return pd.DataFrame({"t": np.r_[np.ones(pt.size), np.zeros(pc.size)], "y": np.r_[yt, yc], "ps": np.r_[pt, pc]})


def test_ties_true_vs_false():
    df = _frame([0.5], [0.25, 0.75, 0.0625], yt=[10.0], yc=[2.0, 6.0, 100.0])
    no = match(df, "t", "y", pscore="ps", compute_balance=False)
    # without ties the lower score wins an exact distance tie
    assert no.att == pytest.approx(10 - 2) and no.weights.iloc[1] == 1 and np.isnan(no.weights.iloc[2])
    yes = match(df, "t", "y", pscore="ps", ties=True, compute_balance=False)
    assert yes.att == pytest.approx(10 - 4)
    assert yes.weights.iloc[1] == yes.weights.iloc[2] == 0.5
    # k=2 with ties: the third control is farther, not tied
    k2 = match(df, "t", "y", pscore="ps", k=2, ties=True, compute_balance=False)
    assert k2.att == pytest.approx(6) and np.isnan(k2.weights.iloc[3])


def test_nearest_k_window_and_weights():
    df = _frame([0.5, 0.125], [0.0625, 0.25, 0.375, 0.5625, 0.9375])
    r = match(df, "t", "y", pscore="ps", k=2, common_support=False, compute_balance=False)
    # treated 0.5 -> controls 0.5625 (d=1/16) and 0.375 (1/8); treated 0.125 -> 0.0625, 0.25
    w = r.weights.to_numpy()[2:]
    np.testing.assert_allclose(w, [0.5, 0.5, 0.5, 0.5, np.nan])
    assert np.nansum(w) == pytest.approx(r.n_treated)  # sum of control weights = N1


def test_caliper_is_strict():
    df = _frame([0.5, 0.75], [0.25, 0.8125])
    r = match(df, "t", "y", pscore="ps", caliper=0.25, common_support=False, compute_balance=False)
    # |0.5 - 0.25| = 0.25 is not < 0.25 -> treated 0.5 off support; |0.75 - 0.8125| < 0.25 matched
    assert r.n_treated == 1 and r.n_off_support == 1 and not r.support.iloc[0]
    r2 = match(df, "t", "y", pscore="ps", caliper=0.25 + 2**-20, common_support=False, compute_balance=False)
    assert r2.n_treated == 2 and r2.n_off_support == 0


def test_radius_is_inclusive_and_uniform():
    df = _frame([0.5], [0.25, 0.75, 0.5, 0.0], yt=[9.0], yc=[1.0, 2.0, 3.0, 50.0])
    r = match(df, "t", "y", pscore="ps", method="radius", radius=0.25, common_support=False, compute_balance=False)
    assert r.att == pytest.approx(9 - 2.0)  # controls at distance <= 0.25 equally weighted
    np.testing.assert_allclose(r.weights.to_numpy()[1:], [1 / 3, 1 / 3, 1 / 3, np.nan])
    # caliper= is accepted as the radius, as in psmatch2's "radius caliper(#)"
    r2 = match(df, "t", "y", pscore="ps", method="radius", caliper=0.25, common_support=False, compute_balance=False)
    assert r2.att == r.att


def test_common_support_bounds_inclusive():
    df = _frame([0.25, 0.75, 0.875, 0.125], [0.25, 0.5, 0.75])
    r = match(df, "t", "y", pscore="ps", compute_balance=False)
    # treated exactly at the control min (0.25) and max (0.75) stay; 0.875 and 0.125 are dropped
    assert r.support.iloc[:4].tolist() == [True, True, False, False]
    assert r.n_off_support == 2 and r.n_treated == 2
    r_all = match(df, "t", "y", pscore="ps", common_support=False, compute_balance=False)
    assert r_all.n_off_support == 0


def test_kernel_weights_normalised_per_treated():
    rng = np.random.default_rng(5)
    df = _frame(rng.uniform(0.2, 0.8, 40), rng.uniform(0.1, 0.9, 60), yt=rng.normal(size=40), yc=rng.normal(size=60))
    for kern in ["normal", "epan", "uniform", "biweight", "tricube"]:
        r = match(df, "t", "y", pscore="ps", method="kernel", kernel=kern, bandwidth=0.1, compute_balance=False)
        wc = r.weights[df.t == 0]
        assert np.nansum(wc) == pytest.approx(r.n_treated, rel=1e-12)
        # manual ATT with psmatch2's kernel formulas
        pt, pc = df.ps[df.t == 1].to_numpy(), df.ps[df.t == 0].to_numpy()
        d = pt[:, None] - pc[None, :]
        u = d / 0.1
        K = {"normal": stats.norm.pdf(u), "epan": np.where(np.abs(d) <= 0.1, 1 - u**2, 0),
             "uniform": (np.abs(d) <= 0.1) * 1.0, "biweight": np.where(np.abs(d) <= 0.1, (1 - u**2) ** 2, 0),
             "tricube": np.where(np.abs(d) <= 0.1, (1 - np.abs(u) ** 3) ** 3, 0)}[kern]
        ok = K.sum(1) > 0
        m = (K[ok] @ df.y[df.t == 0].to_numpy()) / K[ok].sum(1)
        att = np.mean(df.y[df.t == 1].to_numpy()[ok] - m)
        assert r.att == pytest.approx(att, rel=1e-12, abs=1e-13)
        np.testing.assert_allclose(np.nan_to_num(wc.to_numpy()), (K[ok] / K[ok].sum(1, keepdims=True)).sum(0),
                                   rtol=1e-12, atol=1e-15)


def test_default_se_formula_psmatch2():
    rng = np.random.default_rng(7)
    df = _frame(rng.uniform(0.2, 0.8, 30), rng.uniform(0.1, 0.9, 50), yt=rng.normal(size=30), yc=rng.normal(size=50))
    r = match(df, "t", "y", pscore="ps", k=3, compute_balance=False)
    on = r.support.to_numpy() & (df.t == 1).to_numpy()
    w = r.weights[df.t == 0].to_numpy()
    used = np.isfinite(w)
    y1, y0 = df.y[on].to_numpy(), df.y[df.t == 0].to_numpy()
    se = np.sqrt(y1.var(ddof=1) / on.sum() + y0[used].var(ddof=1) * np.sum(w[used] ** 2) / on.sum() ** 2)
    assert r.se == pytest.approx(se, rel=1e-12)


def test_normal_kernel_expansion_matches_direct_and_extended_precision():
    rng = np.random.default_rng(11)
    for h in (0.06, 0.01, 0.2):
        a = rng.beta(2, 3, 400)
        b = np.sort(rng.beta(3, 2, 700))
        y = rng.normal(size=700) * 3 + 10
        S1, N1, W1 = _normal_kernel_direct(a, b, y, h)
        S2, N2, W2 = _normal_kernel_fgt(a, b, y, h)
        np.testing.assert_allclose(S2, S1, rtol=1e-13)
        np.testing.assert_allclose(N2 / S2, N1 / S1, rtol=1e-13)
        np.testing.assert_allclose(W2, W1, rtol=1e-12, atol=1e-300)
        # both against an extended-precision (80-bit) direct evaluation
        al, bl = a.astype(np.longdouble), b.astype(np.longdouble)
        u = (al[:, None] - bl[None, :]) / np.longdouble(h)
        K = np.exp(-u * u / 2)
        S = K.sum(1)
        np.testing.assert_allclose(S2, S.astype(float), rtol=1e-14)
        np.testing.assert_allclose(N2 / S2, ((K * y.astype(np.longdouble)).sum(1) / S).astype(float), rtol=1e-13)


def test_kernel_methods_agree_through_match():
    rng = np.random.default_rng(12)
    df = _frame(rng.uniform(0.2, 0.8, 300), rng.uniform(0.1, 0.9, 500), yt=rng.normal(size=300), yc=rng.normal(size=500))
    a = match(df, "t", "y", pscore="ps", method="kernel", kernel_method="fgt", compute_balance=False)
    b = match(df, "t", "y", pscore="ps", method="kernel", kernel_method="direct", compute_balance=False)
    assert a.att == pytest.approx(b.att, rel=1e-12)
    assert a.se == pytest.approx(b.se, rel=1e-12)


def test_bootstrap_reproducible_and_parallel_equal(sim):
    df, _ = sim
    small = df.iloc[:600]
    kw = dict(method="kernel", kernel="epan", se="bootstrap", n_boot=12, seed=3, compute_balance=False)
    r1 = match(small, "t", "y", ["x1", "x2"], n_jobs=1, **kw)
    r2 = match(small, "t", "y", ["x1", "x2"], n_jobs=2, **kw)
    np.testing.assert_array_equal(r1.boot_estimates, r2.boot_estimates)
    assert r1.se == r2.se and r1.se > 0
    r3 = match(small, "t", "y", ["x1", "x2"], n_jobs=1, **{**kw, "seed": 4})
    assert r3.se != r1.se


# --------------------------------------------------------------------------------------------
# pstest balance, checked by hand on a small data set
# --------------------------------------------------------------------------------------------
def test_pstest_by_hand():
    rng = np.random.default_rng(99)
    n = 40
    x1 = np.round(rng.normal(size=n), 2)
    x2 = rng.binomial(1, 0.5, n).astype(float)
    t = (rng.uniform(size=n) < stats.norm.cdf(0.3 * x1 + 0.4 * x2 - 0.2)).astype(float)
    df = pd.DataFrame({"t": t, "x1": x1, "x2": x2})
    w = np.where(t == 1, 1.0, np.round(rng.uniform(0, 2, n), 1))
    w[np.nonzero(t == 0)[0][:3]] = np.nan  # unused controls
    sup = np.ones(n, bool)
    sup[np.nonzero(t == 1)[0][0]] = False  # one treated off support
    b = balance(df, "t", ["x1", "x2"], w, support=sup)

    wa = np.where(np.isnan(w), 0.0, w)
    wa[t == 1] = sup[t == 1]
    after = sup & (wa > 0)
    for v in ["x1", "x2"]:
        x = df[v].to_numpy()
        m1u, m0u = x[t == 1].mean(), x[t == 0].mean()
        v1u, v0u = x[t == 1].var(ddof=1), x[t == 0].var(ddof=1)
        sel1, sel0 = after & (t == 1), after & (t == 0)
        m1m = np.average(x[sel1], weights=wa[sel1])
        m0m = np.average(x[sel0], weights=wa[sel0])
        bu = 100 * (m1u - m0u) / np.sqrt((v1u + v0u) / 2)
        bm = 100 * (m1m - m0m) / np.sqrt((v1u + v0u) / 2)
        row = b.table.loc[v]
        assert row.mean_treated_u == pytest.approx(m1u) and row.mean_control_m == pytest.approx(m0m)
        assert row.bias_u == pytest.approx(bu) and row.bias_m == pytest.approx(bm)
        assert row.reduction == pytest.approx(100 * (abs(bu) - abs(bm)) / abs(bu))
        # t after matching: regress x on t with iweights (df = sum w - 2), in matrix form
        Xd = np.column_stack([np.ones(after.sum()), t[after]])
        W = wa[after]
        XtWX = Xd.T @ (W[:, None] * Xd)
        beta = np.linalg.solve(XtWX, Xd.T @ (W * x[after]))
        e = x[after] - Xd @ beta
        s2 = np.sum(W * e**2) / (W.sum() - 2)
        tm = beta[1] / np.sqrt(s2 * np.linalg.inv(XtWX)[1, 1])
        assert row.t_m == pytest.approx(tm, rel=1e-10)
        assert row.p_m == pytest.approx(2 * stats.t.sf(abs(tm), W.sum() - 2), rel=1e-8)
        tu = stats.ttest_ind(x[t == 1], x[t == 0]).statistic
        assert row.t_u == pytest.approx(tu, rel=1e-10)

    # overall: weighted probit by direct likelihood maximisation
    X = np.column_stack([np.ones(n), x1, x2])

    def fit(weights):
        def nll(beta):
            xb = X @ beta
            return -np.sum(weights * (t * stats.norm.logcdf(xb) + (1 - t) * stats.norm.logcdf(-xb)))
        res = optimize.minimize(nll, np.zeros(3), method="BFGS", options={"gtol": 1e-10})
        pbar = np.sum(weights * t) / np.sum(weights)
        ll0 = np.sum(weights) * (pbar * np.log(pbar) + (1 - pbar) * np.log(1 - pbar))
        return -res.fun, ll0, X @ res.x

    ll_u, ll0_u, xb_u = fit(np.ones(n))
    ll_m, ll0_m, xb_m = fit(np.where(after, wa, 0.0))
    ov = b.overall
    assert ov.loc["Unmatched", "pseudo_r2"] == pytest.approx(1 - ll_u / ll0_u, rel=1e-6)
    assert ov.loc["Matched", "pseudo_r2"] == pytest.approx(1 - ll_m / ll0_m, rel=1e-6)
    assert ov.loc["Matched", "lr_chi2"] == pytest.approx(2 * (ll_m - ll0_m), rel=1e-6)
    assert ov.loc["Matched", "p_chi2"] == pytest.approx(stats.chi2.sf(2 * (ll_m - ll0_m), 2), rel=1e-5)
    absb = b.table["bias_m"].abs()
    assert ov.loc["Matched", "mean_bias"] == pytest.approx(absb.mean())
    assert ov.loc["Matched", "median_bias"] == pytest.approx(absb.median())
    # Rubin's B and R on the probit index, iweighted after matching
    sel1, sel0 = after & (t == 1), after & (t == 0)

    def wmv(v, ww):
        m = np.sum(ww * v) / ww.sum()
        return m, np.sum(ww * (v - m) ** 2) / (ww.sum() - 1)

    m1, v1 = wmv(xb_m[sel1], wa[sel1])
    m0, v0 = wmv(xb_m[sel0], wa[sel0])
    assert ov.loc["Matched", "B"] == pytest.approx(100 * (m1 - m0) / np.sqrt((v1 + v0) / 2), rel=1e-5)
    assert ov.loc["Matched", "R"] == pytest.approx(v1 / v0, rel=1e-5)
    m1, v1 = wmv(xb_u[t == 1], np.ones(int(t.sum())))
    m0, v0 = wmv(xb_u[t == 0], np.ones(int(n - t.sum())))
    assert ov.loc["Unmatched", "B"] == pytest.approx(100 * (m1 - m0) / np.sqrt((v1 + v0) / 2), rel=1e-5)
    assert "x1 M" in str(b.summary())


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------
def test_bad_inputs(sim):
    df, _ = sim
    cov = ["x1", "x2"]
    with pytest.raises(EstimationError, match="not found"):
        match(df, "t", "y", ["x1", "nope"])
    bad = df.assign(t=df.t * 2)
    with pytest.raises(EstimationError, match="binary"):
        match(bad, "t", "y", cov)
    with pytest.raises(EstimationError, match="no treated"):
        match(df.assign(t=0.0), "t", "y", cov)
    with pytest.raises(EstimationError, match="no control"):
        match(df.assign(t=1.0), "t", "y", cov)
    nan = df.copy()
    nan.loc[nan.index[3], "x1"] = np.nan
    with pytest.raises(EstimationError, match="missing"):
        match(nan, "t", "y", cov)
    sep = df.assign(s=df.t)  # a covariate equal to the treatment
    with pytest.raises(EstimationError, match="separation"):
        match(sep, "t", "y", ["x1", "s"])
    rng = np.random.default_rng(1)
    lin = pd.DataFrame({"t": 0.0, "y": rng.normal(size=200), "x1": rng.normal(size=200), "x2": rng.normal(size=200)})
    lin["t"] = (lin.x1 + lin.x2 > 0).astype(float)  # separation by a linear combination only
    with pytest.raises(EstimationError, match="separation"):
        match(lin, "t", "y", cov)
    # An outlying count covariate gives fitted probabilities of 1 without separation: a note, not an error.
    cnt = pd.DataFrame({"x1": rng.poisson(1.0, 400).astype(float), "x2": rng.normal(size=400)})
    cnt["t"] = (0.8 * cnt.x1 - 0.6 + rng.normal(size=400) > 0).astype(float)
    cnt.loc[0, ["x1", "t"]] = [40.0, 1.0]
    cnt["y"] = rng.normal(size=400)
    res = match(cnt, "t", "y", cov)
    assert np.isfinite(res.att)
    assert any("completely determined" in w for w in res.propensity.warnings)
    with pytest.raises(EstimationError, match="common support"):
        match(_frame([0.9, 0.95], [0.1, 0.2]), "t", "y", pscore="ps")
    with pytest.raises(EstimationError, match="no treated unit has a match"):
        match(_frame([0.5], [0.25]), "t", "y", pscore="ps", caliper=0.01, common_support=False)
    with pytest.raises(EstimationError, match="nearest"):
        match(df, "t", "y", cov, method="kernel", se="ai")
    with pytest.raises(EstimationError, match="bootstrap"):
        match(df, "t", "y", cov, se="bootstrap")
    with pytest.raises(EstimationError, match="method"):
        match(df, "t", "y", cov, method="optimal")
    with pytest.raises(EstimationError, match="radius"):
        match(df, "t", "y", cov, method="radius")


def test_probit_settled_below_the_rounding_noise_of_the_deviance_is_converged():
    """A simulated CLDS sample (2,827 households, seed 6 of benchmarks/cao_orderings.py on the shipped
    default) on which IRLS with the absolute tolerance 1e-12 oscillates between deviances 3e-11 apart
    (1e-14 of the deviance, 1,519.5) for 200 iterations: fit_propensity must accept the fit, and its
    coefficients are the maximum-likelihood ones (statsmodels' Newton probit, to 1e-10)."""
    import statsmodels.api as sm

    from ruralabm.analysis.estimators.propensity import fit_propensity

    path = Path(__file__).parent / "data" / "propensity_rounding_noise.csv.gz"
    data = pd.read_csv(path, dtype={"age": np.float32, "distance": np.float32, "hroad": np.float32})
    covariates = [c for c in data.columns if c != "T"]
    X = sm.add_constant(data[covariates].astype(float))
    raw = sm.GLM(data["T"].astype(float), X, family=sm.families.Binomial(link=sm.families.links.Probit()))
    assert not raw.fit(tol=1e-12, maxiter=200).converged  # the case is real: IRLS alone gives up
    model = fit_propensity(data, "T", covariates)
    assert model.converged
    newton = sm.Probit(data["T"].astype(float), X).fit(method="newton", tol=1e-12, maxiter=100, disp=0)
    assert newton.mle_retvals["converged"]
    ours = model.params.rename({"_cons": "const"})[newton.params.index]
    assert np.allclose(ours, newton.params, rtol=0, atol=1e-10)
    assert model.llf == pytest.approx(newton.llf, abs=1e-8)



@pytest.mark.parametrize("name, atol", [("propensity_oscillation", 1e-7), ("propensity_oscillation_tails", 1e-5)])
def test_probit_oscillating_within_statas_tolerances_is_converged(monkeypatch, name, atol):
    """Simulated CLDS samples of the Bayesian calibration (6,124 and 4,527 households; 5 of its
    1,800 simulations had such a sample) on which IRLS oscillates for 200 iterations between
    deviances 1.2e-5 and 1.7e-3 apart (on 6,050 and 3,506), from rounding noise in the probit's
    tails. A Newton-Raphson iteration from the final estimates would stop by Stata's rule (step
    under tolerance 1e-4 of the coefficients, decrement under nrtolerance 1e-5): fit_propensity
    accepts the fit, and its coefficients are the maximum-likelihood ones (statsmodels' Newton
    probit) to 1e-7 and 1e-5 (measured 4.5e-9 and 1.1e-6). A fit stopped early is still refused."""
    import statsmodels.api as sm

    from ruralabm.analysis.errors import ConvergenceError
    from ruralabm.analysis.estimators import propensity
    from ruralabm.analysis.estimators.propensity import fit_propensity

    path = Path(__file__).parent / "data" / f"{name}.csv.gz"
    data = pd.read_csv(path, dtype={"age": np.float32, "distance": np.float32, "hroad": np.float32})
    covariates = [c for c in data.columns if c != "T"]
    X = sm.add_constant(data[covariates].astype(float))
    raw = sm.GLM(data["T"].astype(float), X, family=sm.families.Binomial(link=sm.families.links.Probit()))
    irls = raw.fit(tol=1e-12, maxiter=200)
    assert not irls.converged and not propensity._deviance_settled(irls)  # the case is real
    model = fit_propensity(data, "T", covariates)
    assert model.converged
    newton = sm.Probit(data["T"].astype(float), X).fit(method="newton", tol=1e-12, maxiter=100, disp=0)
    assert newton.mle_retvals["converged"]
    ours = model.params.rename({"_cons": "const"})[newton.params.index]
    assert np.allclose(ours, newton.params, rtol=0, atol=atol)
    # IRLS stopped after 2 iterations: a Newton step would still move the estimates
    assert not propensity._converged_as_stata_judges(raw.fit(tol=1e-12, maxiter=2))
    monkeypatch.setattr(propensity, "_converged_as_stata_judges", lambda res: False)
    with pytest.raises(ConvergenceError):  # without the rule, the fit is refused as before
        fit_propensity(data, "T", covariates)