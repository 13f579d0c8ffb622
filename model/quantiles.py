"""Distribution functions the population builders need, equal to scipy.stats' to the last bit.

Why not scipy.stats itself: importing it costs about 0.35 s of every command's start-up (it is
the heaviest import of ``ruralabm.model`` after mesa), and its Poisson quantile inverts the CDF
numerically value by value (0.4 s for 100,000 households). The builders use these functions only
with scalar shape parameters, so a discrete quantile is a search in one CDF table, computed with
the same special function scipy.stats uses to check its own answer. tests/test_quantiles.py
checks equality with scipy.stats on 150,000 values per parameter set (4 million when written).
"""
from __future__ import annotations

import numpy as np
from scipy import special


def norm_cdf(x):
    return special.ndtr(x)  # scipy.stats.norm.cdf


def norm_ppf(q):
    return special.ndtri(q)  # scipy.stats.norm.ppf


def beta_ppf(q, a: float, b: float) -> np.ndarray:
    """scipy.stats.beta.ppf(q, a, b) (both call Boost's incomplete-beta inverse)."""
    return _continuous(q, special.betaincinv(a, b, q), 0.0, 1.0)


def gamma_ppf(q, a: float, scale: float = 1.0) -> np.ndarray:
    """scipy.stats.gamma.ppf(q, a, scale=scale)."""
    return _continuous(q, special.gammaincinv(a, q) * scale, 0.0, np.inf)


def poisson_ppf(q, mu: float) -> np.ndarray:
    """scipy.stats.poisson.ppf(q, mu): the smallest k with P(X <= k) >= q."""
    k = np.arange(int(mu + 40.0 * np.sqrt(mu) + 60.0))
    return _discrete(q, special.pdtr(k, mu), lambda qq: _scipy_stats().poisson.ppf(qq, mu))


def nbinom_ppf(q, n: float, p: float) -> np.ndarray:
    """scipy.stats.nbinom.ppf(q, n, p) for real n > 0: the smallest k with P(X <= k) >= q."""
    mean = n * (1 - p) / p
    sd = np.sqrt(mean / p)
    k = np.arange(int(mean + 60.0 * sd + 100.0))
    table = special.betainc(n, k + 1.0, p)  # scipy.stats' nbinom CDF
    return _discrete(q, table, lambda qq: _scipy_stats().nbinom.ppf(qq, n, p))


def _continuous(q, inner, low: float, high: float) -> np.ndarray:
    q = np.asarray(q, dtype=float)
    out = np.where((q > 0) & (q < 1), inner, np.nan)
    return np.where(q == 0, low, np.where(q == 1, high, out))


def _discrete(q, cdf_table: np.ndarray, fallback) -> np.ndarray:
    q = np.asarray(q, dtype=float)
    out = np.searchsorted(cdf_table, q, side="left").astype(float)
    # Within 1e-9 of 1 the table's CDF has too few digits (scipy.stats works with the survival
    # function there), and beyond its end it has none: ask scipy.stats for these rare values.
    beyond = (q > min(cdf_table[-1], 1.0 - 1e-9)) & (q < 1)
    if beyond.any():
        out[beyond] = fallback(q[beyond])
    # scipy.stats' conventions at the ends of the unit interval and outside it
    out[q == 0] = -1.0
    out[q == 1] = np.inf
    out[~((q >= 0) & (q <= 1))] = np.nan
    return out


def _scipy_stats():
    from scipy import stats
    return stats
