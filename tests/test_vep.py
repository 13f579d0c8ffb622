"""Vulnerability to expected poverty: recovery on simulated data, a hand check of the three
FGLS steps, non-positive variance handling, and bad input."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ruralabm.analysis.errors import EstimationError
from ruralabm.analysis.vep import vulnerability

BETA = np.array([8.0, 0.5, 0.3, -0.2])
THETA = np.array([0.2, 0.4, 0.1, 0.2])


def simulate(n, seed):
    """ln y = X beta + e, Var(e) = X theta > 0 (all regressors non-negative)."""
    rng = np.random.default_rng(seed)
    x1 = rng.uniform(0, 1, n)
    x2 = np.abs(rng.normal(0, 1, n))
    x3 = rng.integers(0, 2, n).astype(float)
    X = np.column_stack([np.ones(n), x1, x2, x3])
    s2 = X @ THETA
    lny = X @ BETA + rng.normal(size=n) * np.sqrt(s2)
    df = pd.DataFrame({"lny": lny, "x1": x1, "x2": x2, "x3": x3}, index=pd.RangeIndex(1000, 1000 + n))
    return df, X


@pytest.fixture(scope="module")
def sim():
    return simulate(100_000, seed=20240601)


@pytest.mark.parametrize("weighting", ["amemiya", "sqrt"])
def test_recovers_beta_theta_and_vulnerability(sim, weighting):
    df, X = sim
    z = 3500.0
    r = vulnerability(df, "lny", ["x1", "x2", "x3"], z, variance_weighting=weighting)
    # Tolerance: 4 reported standard errors. Over 40 Monte Carlo replications (n = 50,000) the
    # sampling sd of every coefficient was within ~15% of the mean reported SE, so 4 SE is a
    # 3.5+ sigma band; the seed is fixed, so the test is deterministic.
    for table, truth in ((r.mean_table, BETA), (r.variance_table, THETA)):
        dev = np.abs(table["coef"].to_numpy() - truth)
        assert np.all(dev < 4 * table["se"].to_numpy()), (weighting, table, truth)
    true_vul = stats.norm.cdf((np.log(z) - X @ BETA) / np.sqrt(X @ THETA))
    err = np.abs(r.vulnerability.to_numpy() - true_vul)
    # Vul is a smooth function of 8 estimated parameters each known to ~0.01
    assert err.mean() < 0.005 and err.max() < 0.03
    assert r.n_nonpositive_ols == 0 and r.n_nonpositive_fgls == 0 and r.n_floored == 0
    assert r.N == len(df)
    pd.testing.assert_index_equal(r.vulnerability.index, df.index)


def _hand(df, ycol, xcols, z, weighting):
    """The three steps written out with lstsq, dropping non-positive fitted variances."""
    y = df[ycol].to_numpy()
    X = np.column_stack([np.ones(len(df))] + [df[c].to_numpy() for c in xcols])
    b1 = np.linalg.lstsq(X, y, rcond=None)[0]
    e2 = (y - X @ b1) ** 2
    t1 = np.linalg.lstsq(X, e2, rcond=None)[0]
    s2_ols = X @ t1
    k = s2_ols > 0
    d = s2_ols[k] if weighting == "amemiya" else np.sqrt(s2_ols[k])
    t2 = np.linalg.lstsq(X[k] / d[:, None], e2[k] / d, rcond=None)[0]
    s2 = X @ t2
    k2 = s2 > 0
    sd = np.sqrt(s2[k2])
    b2 = np.linalg.lstsq(X[k2] / sd[:, None], y[k2] / sd, rcond=None)[0]
    floor = s2[k2].min()
    vul = stats.norm.cdf((np.log(z) - X @ b2) / np.sqrt(np.maximum(s2, floor)))
    return b2, t2, vul, int((~k).sum()), int((~k2).sum())


TINY = pd.DataFrame(
    {
        "lny": [7.1, 7.9, 8.4, 6.2, 9.0, 7.7, 8.8, 7.3, 6.9, 8.1, 7.5, 9.4, 6.5, 8.6],
        "edu": [0, 3, 6, 0, 12, 6, 9, 3, 0, 9, 6, 16, 0, 12],
        "land": [2.0, 1.5, 3.0, 0.5, 4.0, 2.5, 1.0, 3.5, 0.8, 2.2, 1.8, 5.0, 1.2, 2.8],
    }
)


@pytest.mark.parametrize("weighting", ["amemiya", "sqrt"])
def test_three_steps_by_hand(weighting):
    z = 2300.0
    b, t, vul, n1, n2 = _hand(TINY, "lny", ["edu", "land"], z, weighting)
    r = vulnerability(TINY, "lny", ["edu", "land"], z, variance_weighting=weighting)
    np.testing.assert_allclose(r.mean_table["coef"].to_numpy(), b, rtol=1e-10)
    np.testing.assert_allclose(r.variance_table["coef"].to_numpy(), t, rtol=1e-10)
    np.testing.assert_allclose(r.vulnerability.to_numpy(), vul, rtol=1e-10)
    assert (r.n_nonpositive_ols, r.n_nonpositive_fgls) == (n1, n2)
    inc = np.mean(TINY["lny"] < np.log(z))
    assert r.incidence["vul"] == pytest.approx(inc)
    np.testing.assert_array_equal(r.high.to_numpy(), vul >= 0.5)
    np.testing.assert_array_equal(r.low.to_numpy(), vul >= inc)


def test_nonpositive_variances_counted_and_handled():
    # Residual spread shrinks fast with x, so the linear variance fit crosses zero at large x.
    rng = np.random.default_rng(3)
    n = 400
    x = rng.uniform(0, 10, n)
    y = 8 + 0.1 * x + rng.normal(size=n) * np.where(x < 3, 1.5, 0.05)
    df = pd.DataFrame({"lny": y, "x": x})
    b, t, vul, n1, n2 = _hand(df, "lny", ["x"], 3000.0, "amemiya")
    assert n1 > 0 and n2 > 0  # the example does exercise the handling
    r = vulnerability(df, "lny", ["x"], 3000.0)
    assert r.n_nonpositive_ols == n1 and r.n_nonpositive_fgls == n2
    assert r.n_floored == n2
    np.testing.assert_allclose(r.mean_table["coef"].to_numpy(), b, rtol=1e-10)
    np.testing.assert_allclose(r.vulnerability.to_numpy(), vul, rtol=1e-10)
    assert np.all(r.fitted_variance > 0) and np.isfinite(r.vulnerability).all()
    assert (r.raw_fitted_variance <= 0).sum() == n2
    assert r.household_frame()["variance_floored"].sum() == n2
    # a user floor applies to every variance below it
    r2 = vulnerability(df, "lny", ["x"], 3000.0, min_variance=0.5)
    assert r2.fitted_variance.min() == pytest.approx(0.5)
    assert r2.n_floored == int((r2.raw_fitted_variance < 0.5).sum())
    assert "Non-positive" in str(r.summary())


def test_several_lines_and_column_lines():
    lines = {"usd19": 1.9 * 365 * 2.3, "national": 2300.0, "usd31": 3.1 * 365 * 2.3}
    r = vulnerability(TINY, "lny", ["edu", "land"], lines)
    assert list(r.vulnerability.columns) == list(lines)
    for name, z in lines.items():
        single = vulnerability(TINY, "lny", ["edu", "land"], z)
        np.testing.assert_allclose(r.vulnerability[name], single.vulnerability)
        assert r.incidence[name] == single.incidence["vul"]
    # higher line, higher vulnerability
    assert np.all(r.vulnerability["usd31"] >= r.vulnerability["national"])
    frame = r.household_frame()
    assert {"vul_national", "high_usd31", "low_usd19", "fitted_mean", "fitted_variance"} <= set(frame.columns)
    # a per-row line column equal to a scalar gives the same answer
    df = TINY.assign(z=2300.0)
    rc = vulnerability(df, "lny", ["edu", "land"], "z")
    np.testing.assert_allclose(rc.vulnerability, vulnerability(TINY, "lny", ["edu", "land"], 2300.0).vulnerability)
    text = str(r.summary())
    assert "Mean equation" in text and "national" in text


def test_input_not_mutated():
    df = TINY.copy()
    vulnerability(df, "lny", ["edu", "land"], 2300.0)
    pd.testing.assert_frame_equal(df, TINY)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(covariates=["edu", "nope"]), "nope"),
        (dict(poverty_line=0.0), "positive"),
        (dict(poverty_line=-5), "-5"),
        (dict(poverty_line={"a": 2300, "b": float("nan")}), "'b'"),
        (dict(poverty_line="nocol"), "nocol"),
        (dict(covariates=["edu", "const1"]), "constant covariate"),
        (dict(covariates=["edu", "land", "edu2"]), "collinear"),
        (dict(variance_weighting="bad"), "variance_weighting"),
    ],
)
def test_bad_input(kwargs, match):
    df = TINY.assign(const1=1.0, edu2=2 * TINY["edu"] + TINY["land"])
    args = dict(data=df, log_income="lny", covariates=["edu", "land"], poverty_line=2300.0)
    args.update(kwargs)
    with pytest.raises(EstimationError, match=match):
        vulnerability(**args)


def test_nan_and_nonpositive_line_column():
    df = TINY.copy()
    df.loc[3, "edu"] = np.nan
    with pytest.raises(EstimationError, match="edu"):
        vulnerability(df, "lny", ["edu", "land"], 2300.0)
    df = TINY.assign(z=2300.0)
    df.loc[2, "z"] = 0.0
    with pytest.raises(EstimationError, match="non-positive"):
        vulnerability(df, "lny", ["edu", "land"], "z")
