"""Every estimator's result follows one protocol (analysis.estimators.results.EstimationResults):
params, bse, pvalues, conf_int(), nobs, summary(), to_frame(), _repr_html_."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ruralabm.analysis import cmp, did, psm, resilience, survival, vep
from ruralabm.analysis.estimators.propensity import fit_propensity
from ruralabm.analysis.estimators.results import EstimationResults


@pytest.fixture(scope="module")
def cross_section():
    rng = np.random.default_rng(7)
    n = 600
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    t = (0.5 * x1 - 0.3 * x2 + rng.normal(size=n) > 0).astype(float)
    y = 1.0 + x1 + 0.5 * x2 + 0.8 * t + rng.normal(size=n)
    dur = rng.exponential(np.exp(-0.4 * x1))
    return pd.DataFrame({"x1": x1, "x2": x2, "t": t, "y": y, "lny": 8 + 0.3 * x1 + rng.normal(0, 0.5 + 0.2 * (x2 > 0), n),
                         "dur": dur, "event": (rng.uniform(size=n) < 0.8).astype(float)})


@pytest.fixture(scope="module")
def panel():
    rng = np.random.default_rng(3)
    n = 300
    x = rng.normal(size=n)
    g = (x + rng.normal(size=n) > 0).astype(float)
    rows = []
    for year, post in ((2014, 0), (2016, 1)):
        y = 0.5 * x + 0.3 * g + post * (0.2 + 0.4 * g) + rng.normal(size=n)
        rows.append(pd.DataFrame({"id": np.arange(n), "year": year, "x": x, "g": g, "D": g * post, "y": y}))
    return pd.concat(rows, ignore_index=True)


def _results(cross_section, panel):
    d = cross_section
    out = {
        "propensity": (fit_propensity(d, "t", ["x1", "x2"]), None),
        "psm": (psm.match(d, "t", "y", ["x1", "x2"], compute_balance=False), None),
        "twfe": (did.twfe(panel, "y", "D", "id", "year"), "df"),
        "psm_did": (did.psm_did(panel, "y", "g", "id", "year", ["x"]), "df"),
        "cmp": (cmp.fit(d, [cmp.Equation("y", ["x1", "x2", "t"]), cmp.Equation("t", ["x1", "x2"], kind="probit")]),
                None),
        "vep": (vep.vulnerability(d, "lny", ["x1", "x2"], 2500.0), "vep"),
        "ols": (survival.ols(d, "y", ["x1", "x2"]), "df"),
        "cox": (survival.cox(d, "dur", "event", ["x1", "x2"]), None),
        "resilience": (resilience.fit_index(d, {"a": [("x1", "+")], "b": [("x2", "-"), ("y", "+")]}), None),
    }
    return out


@pytest.fixture(scope="module")
def results(cross_section, panel):
    return _results(cross_section, panel)


NAMES = ["propensity", "psm", "twfe", "psm_did", "cmp", "vep", "ols", "cox", "resilience"]


@pytest.mark.parametrize("name", NAMES)
def test_result_protocol(results, name):
    res, rule = results[name]
    assert isinstance(res, EstimationResults)
    params, bse, pvalues, ci = res.params, res.bse, res.pvalues, res.conf_int()
    assert isinstance(params, pd.Series) and isinstance(bse, pd.Series) and isinstance(pvalues, pd.Series)
    assert len(params) > 0
    assert list(bse.index) == list(params.index) == list(pvalues.index) == list(ci.index)
    assert list(ci.columns) == [0, 1]
    assert isinstance(res.nobs, (int, np.integer)) and res.nobs > 0
    # conf_int: params -/+ crit * bse, crit from the normal or, for t-based estimators, t(df)
    if rule is None:
        crit = stats.norm.ppf(0.975)
    elif rule == "vep":
        df = np.repeat(res.df_resid, [len(res.mean_table), len(res.variance_table)])
        crit = stats.t.ppf(0.975, df)
    else:
        df = res._inference_df()
        crit = stats.norm.ppf(0.975) if df is None else stats.t.ppf(0.975, df)
    np.testing.assert_allclose(ci[0].to_numpy(), (params - crit * bse).to_numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ci[1].to_numpy(), (params + crit * bse).to_numpy(), rtol=1e-12, atol=1e-12)
    if rule is None and name != "resilience":
        np.testing.assert_allclose(ci[1] - ci[0], 2 * 1.959963984540054 * bse, rtol=1e-9)
    # p-values agree with the coefficient table
    frame = res.to_frame()
    assert {"coef", "se", "p", "ci_low", "ci_high", "stars"} <= set(frame.columns)
    if name != "cmp":  # CMP's table appends sig_k / rho_jk after the parameters
        assert list(frame.index) == list(params.index)
    np.testing.assert_allclose(frame.loc[params.index, "coef"].to_numpy(), params.to_numpy())
    np.testing.assert_allclose(frame.loc[params.index, "p"].to_numpy(dtype=float), pvalues.to_numpy(dtype=float),
                               rtol=1e-10, equal_nan=True)
    # summary: text with the coefficient table and N
    text = str(res.summary())
    assert isinstance(text, str)
    if name != "resilience":  # the index summarises weights, not estimates
        for word in ("coef", "se", "p", "stars"):
            assert word in text
        assert any(z in text for z in (" z ", " t ", "  z", "  t"))
    assert str(res.nobs) in text or f"{res.nobs:,}" in text
    html = res._repr_html_()
    assert "<table" in html and "</table>" in html


def test_deprecated_aliases(results):
    r, _ = results["psm_did"]
    with pytest.warns(DeprecationWarning):
        assert r.coef.equals(r.params)
    with pytest.warns(DeprecationWarning):
        assert r.se.equals(r.bse)
    v, _ = results["vep"]
    with pytest.warns(DeprecationWarning):
        np.testing.assert_array_equal(v.params_mean.to_numpy(), v.params.filter(like="mean:").to_numpy())


def test_per_household_outputs_have_their_own_methods(results, cross_section):
    v, _ = results["vep"]
    frame = v.household_frame()
    assert len(frame) == len(cross_section) and {"fitted_mean", "fitted_variance", "vul"} <= set(frame.columns)
    idx, _ = results["resilience"]
    assert {"weight", "entropy"} <= set(idx.weight_table().columns)
    assert len(idx.transform(cross_section)) == len(cross_section)
