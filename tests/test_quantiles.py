"""model/quantiles.py must give exactly scipy.stats' values (the population builders use it in
place of scipy.stats for start-up speed; any difference would change every seeded world)."""
import numpy as np
import pytest
from scipy import stats

from ruralabm.model import quantiles as dist


@pytest.fixture(scope="module")
def q():
    rng = np.random.default_rng(20261206)
    # the builders' inputs are normal CDFs of standard normals; wider tails as well, and the ends
    z = np.concatenate([rng.standard_normal(100_000), 3.0 * rng.standard_normal(30_000)])
    return np.concatenate([stats.norm.cdf(z), rng.random(20_000), [0.0, 1.0, 0.5, 1e-300, 1 - 1e-16]])


def test_normal_functions_are_scipy_stats(q):
    z = np.random.default_rng(1).standard_normal(200_000) * 4
    assert np.array_equal(dist.norm_cdf(z), stats.norm.cdf(z))
    assert np.array_equal(dist.norm_ppf(q), stats.norm.ppf(q))


@pytest.mark.parametrize("a,b", [(2.0, 2.0), (6.0, 4.0), (0.6 * 5, 0.4 * 5), (1.3, 4.7), (0.4, 0.7)])
def test_beta_quantile_is_scipy_stats(q, a, b):
    assert np.array_equal(dist.beta_ppf(q, a, b), stats.beta.ppf(q, a, b), equal_nan=True)


@pytest.mark.parametrize("a,scale", [(1.7, 2.0), (0.8, 10.0), (5.0, 0.3)])
def test_gamma_quantile_is_scipy_stats(q, a, scale):
    assert np.array_equal(dist.gamma_ppf(q, a, scale=scale), stats.gamma.ppf(q, a, scale=scale), equal_nan=True)


@pytest.mark.parametrize("mu", [0.05, 0.5, 1.26, 2.3, 7.0])
def test_poisson_quantile_is_scipy_stats(q, mu):
    assert np.array_equal(dist.poisson_ppf(q, mu), stats.poisson.ppf(q, mu), equal_nan=True)


@pytest.mark.parametrize("mean,sd", [(0.5, 0.9), (1.2, 1.5), (0.3, 0.6), (2.0, 1.6), (3.0, 6.0)])
def test_negative_binomial_quantile_is_scipy_stats(q, mean, sd):
    r = mean**2 / (sd**2 - mean)
    p = r / (r + mean)
    assert np.array_equal(dist.nbinom_ppf(q, r, p), stats.nbinom.ppf(q, r, p), equal_nan=True)


def test_outside_the_unit_interval_is_nan_as_in_scipy_stats():
    q = np.array([-0.1, 1.1, np.nan])
    assert np.isnan(dist.poisson_ppf(q, 1.0)).all() and np.isnan(stats.poisson.ppf(q, 1.0)).all()
    assert np.isnan(dist.beta_ppf(q, 2.0, 2.0)).all() and np.isnan(stats.beta.ppf(q, 2.0, 2.0)).all()


def test_building_the_model_does_not_import_scipy_stats():
    import subprocess
    import sys
    code = ("import sys; from ruralabm.model import RuralModel, Params; p = Params(); "
            "p.population.n_households = 500; p.population.n_counties = 4; RuralModel(p, seed=1); "
            "print('scipy.stats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
