"""Gaussian-process emulators of the simulated statistics (scikit-learn), one per statistic.

An emulator predicts, for a parameter vector ``u`` in the unit cube of the parameter box, the
*expected* value of one statistic over the model's randomness (the mean over replications) and
the emulator's own uncertainty about it. Each statistic k is modelled as

    f_k(u) = b_k0 + b_k' u + g_k(u),   g_k ~ GP(0, c_k Matern_5/2(u, u'; ARD length scales)),
    y_k(u, seed) = f_k(u) + e,          e ~ N(0, n_k)   (one replication's stochastic noise),

a linear trend by least squares and a Gaussian process on the residuals (the emulator of
history matching, Vernon et al. 2010, with a regression mean; Kennedy and O'Hagan 2001). The
hyperparameters (c_k, the length scales and the nugget n_k, which is the statistic's variance
between replications at one parameter vector) are fitted by maximum marginal likelihood
(:class:`sklearn.gaussian_process.GaussianProcessRegressor`) on at most ``HYPER_POINTS`` of the
training runs, in a picklable top-level function (:func:`fit_hyper`) so the statistics are
fitted in parallel on the shared executor (processes or Dask); the process is then conditioned
with the fitted hyperparameters on at most ``CONDITION_POINTS`` runs (the most recent waves
first, where the posterior is). :meth:`Emulator.predict` returns the mean of f_k and the
variance of f_k (the nugget excluded: the emulator's uncertainty about the expected statistic,
not the noise of one replication).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import cho_solve, solve_triangular

HYPER_POINTS = 220  # runs used to fit the hyperparameters of one statistic
CONDITION_POINTS = 900  # runs the fitted process is conditioned on (its mean)
VARIANCE_POINTS = 250  # the most recent of them, on which the emulator variance is computed


def _kernel(d: int):
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    return (ConstantKernel(1.0, (1e-3, 1e2)) * Matern(length_scale=np.full(d, 0.6), length_scale_bounds=(0.03, 30.0),
                                                      nu=2.5)
            + WhiteKernel(0.3, (1e-6, 10.0)))


def _design(u: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones(len(u)), u])


def fit_hyper(task: dict) -> dict:
    """Executor task: ``{"key", "u": runs x d, "y": runs, "seed"}`` -> the fitted trend and kernel
    hyperparameters (log scale, sklearn's ``theta``) of one statistic."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor

    u = np.asarray(task["u"], float)
    y = np.asarray(task["y"], float)
    beta, *_ = np.linalg.lstsq(_design(u), y, rcond=None)
    r = y - _design(u) @ beta
    scale = float(r.std()) or 1.0
    kernel = _kernel(u.shape[1])
    if task.get("start") is not None:  # warm start from the previous wave's hyperparameters
        kernel = kernel.clone_with_theta(np.clip(np.asarray(task["start"], float), kernel.bounds[:, 0],
                                                 kernel.bounds[:, 1]))
    gp = GaussianProcessRegressor(kernel, normalize_y=False, n_restarts_optimizer=0,
                                  random_state=int(task.get("seed", 0)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp.fit(u, r / scale)
    return {"key": task["key"], "beta": beta.tolist(), "scale": scale, "theta": gp.kernel_.theta.tolist(),
            "log_marginal_likelihood": float(gp.log_marginal_likelihood_value_)}


@dataclass
class StatEmulator:
    key: str
    beta: np.ndarray
    scale: float
    theta: np.ndarray
    u: np.ndarray = field(repr=False)  # conditioning runs
    alpha: np.ndarray = field(repr=False)
    L: np.ndarray = field(repr=False)
    signal: object = field(repr=False)  # the kernel without the nugget
    amplitude: float = 1.0
    nugget: float = 0.0  # variance of one replication (original units)
    Lv: np.ndarray | None = field(default=None, repr=False)  # inverse Cholesky factor of the variance subset
    nv: int = 0  # the variance subset: the last nv conditioning runs

    @classmethod
    def condition(cls, key: str, hyper: dict, u: np.ndarray, y: np.ndarray) -> "StatEmulator":
        kern = _kernel(u.shape[1]).clone_with_theta(np.asarray(hyper["theta"], float))
        beta, scale = np.asarray(hyper["beta"], float), float(hyper["scale"])
        r = (y - _design(u) @ beta) / scale
        K = kern(u)
        K[np.diag_indices_from(K)] += 1e-8
        L = np.linalg.cholesky(K)
        alpha = cho_solve((L, True), r)
        nv = min(VARIANCE_POINTS, len(u))
        Lv = solve_triangular(np.linalg.cholesky(K[-nv:, -nv:]), np.eye(nv), lower=True)  # its inverse
        return cls(key, beta, scale, np.asarray(hyper["theta"], float), u, alpha, L, kern.k1,
                   float(kern.k1.k1.constant_value), float(kern.k2.noise_level) * scale ** 2, Lv, nv)

    def predict(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of the expected statistic at ``u`` (points x d)."""
        Ks = self.signal(u, self.u)
        mean = _design(u) @ self.beta + self.scale * (Ks @ self.alpha)
        v = Ks[:, -self.nv:] @ self.Lv.T  # rows: L^-1 k(u) of each point
        var = self.amplitude - np.einsum("ij,ij->i", v, v)
        return mean, np.clip(var, 1e-12, None) * self.scale ** 2

    @property
    def length_scales(self) -> np.ndarray:
        return np.exp(self.theta[1:-1])


@dataclass
class Emulator:
    """One :class:`StatEmulator` per statistic, over the same parameter box."""

    keys: list[str]
    stats: dict[str, StatEmulator]
    n_train: dict[str, int]
    thetas: dict[str, list] = field(default_factory=dict)  # fitted hyperparameters (warm starts)

    def predict(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mean, variance), each points x statistics in the order of ``keys``."""
        u = np.atleast_2d(np.asarray(u, float))
        m = np.empty((len(u), len(self.keys)))
        v = np.empty_like(m)
        for j, k in enumerate(self.keys):
            m[:, j], v[:, j] = self.stats[k].predict(u)
        return m, v

    def nuggets(self) -> np.ndarray:
        return np.array([self.stats[k].nugget for k in self.keys])


def _pick(n_rows: int, order: np.ndarray, limit: int) -> np.ndarray:
    """The last ``limit`` rows in ``order`` (most recent first), in their original order."""
    keep = order[-limit:] if len(order) > limit else order
    return np.sort(keep)


def fit(u: np.ndarray, Y: dict[str, np.ndarray], executor, seed: int = 0,
        start: dict[str, list] | None = None) -> Emulator:
    """Emulators of every statistic of ``Y`` (key -> values per run, NaN where the statistic could
    not be computed) trained on the runs ``u`` (runs x d, unit cube; later rows = later waves).
    ``start``: hyperparameters (sklearn ``theta``) to start the optimiser from, per statistic."""
    u = np.asarray(u, float)
    order = np.arange(len(u))
    tasks, rows = [], {}
    rng = np.random.default_rng(seed)
    for key, y in Y.items():
        ok = np.flatnonzero(np.isfinite(y))
        if len(ok) < u.shape[1] + 5:
            raise ValueError(f"statistic {key}: only {len(ok)} runs computed it; cannot emulate")
        cond = _pick(len(u), order[ok], CONDITION_POINTS)
        recent = cond[-2 * HYPER_POINTS:] if len(cond) > 2 * HYPER_POINTS else cond
        hyper = np.sort(rng.choice(recent, size=min(HYPER_POINTS, len(recent)), replace=False))
        rows[key] = cond
        tasks.append({"key": key, "u": u[hyper].tolist(), "y": y[hyper].tolist(), "seed": seed,
                      "start": (start or {}).get(key)})
    fitted = {}
    for i, outcome in executor.run(fit_hyper, tasks):
        if not outcome.ok:
            raise RuntimeError(f"emulator of {tasks[i]['key']}: {outcome.error}")
        fitted[outcome.value["key"]] = outcome.value
    stats = {k: StatEmulator.condition(k, fitted[k], u[rows[k]], Y[k][rows[k]]) for k in Y}
    return Emulator(list(Y), stats, {k: len(rows[k]) for k in Y}, {k: fitted[k]["theta"] for k in Y})
