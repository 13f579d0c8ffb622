"""Benchmark for analysis.cmp: a two-equation recursive CMP (probit participation D plus a
continuous outcome Y on D and X) on 100,000 observations, timed including starting values.

Run as ``python benchmarks/bench_cmp.py``; ``main()`` prints each figure.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ruralabm.analysis import cmp


def simulate(n: int, rho: float = 0.5, seed: int = 2024) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    z = rng.normal(size=n)  # exclusion restriction (participation only)
    u = rng.multivariate_normal([0.0, 0.0], [[1.0, rho * 2.0], [rho * 2.0, 4.0]], size=n)
    d = (0.2 + 0.5 * x1 - 0.3 * x2 + 0.8 * z + u[:, 0] > 0).astype(float)
    y = 1.0 + 1.5 * d + 0.7 * x1 + 0.4 * x2 + u[:, 1]
    return pd.DataFrame({"y": y, "d": d, "x1": x1, "x2": x2, "z": z})


def bench_two_equation(n: int = 100_000) -> tuple[float, object]:
    data = simulate(n)
    eqs = [
        cmp.Equation("d", ["x1", "x2", "z"], "probit"),
        cmp.Equation("y", ["d", "x1", "x2"], "continuous"),
    ]
    t0 = time.perf_counter()
    res = cmp.fit(data, eqs)
    return time.perf_counter() - t0, res


def bench_bivariate_probit(n: int = 100_000) -> tuple[float, object]:
    rng = np.random.default_rng(7)
    u = rng.multivariate_normal([0.0, 0.0], [[1.0, 0.4], [0.4, 1.0]], size=n)
    x1, x2 = rng.normal(size=(2, n))
    data = pd.DataFrame({"x1": x1, "x2": x2,
                         "a": (0.3 + 0.8 * x1 + u[:, 0] > 0).astype(float),
                         "b": (-0.2 + 0.5 * x2 + u[:, 1] > 0).astype(float)})
    eqs = [cmp.Equation("a", ["x1"], "probit"), cmp.Equation("b", ["x2", "x1"], "probit")]
    t0 = time.perf_counter()
    res = cmp.fit(data, eqs)
    return time.perf_counter() - t0, res


def bench_ghk(n: int = 10_000, draws: int = 50) -> tuple[float, object]:
    rng = np.random.default_rng(9)
    R = np.array([[1.0, 0.5, 0.3], [0.5, 1.0, -0.4], [0.3, -0.4, 1.0]])
    u = rng.multivariate_normal(np.zeros(3), R, size=n)
    x = rng.normal(size=(n, 3))
    data = pd.DataFrame(x, columns=["x1", "x2", "x3"])
    data["a"] = (0.3 + 0.8 * data.x1 + u[:, 0] > 0).astype(float)
    data["b"] = (-0.2 + 0.6 * data.x2 + 0.5 * data.a + u[:, 1] > 0).astype(float)
    data["c"] = (0.1 - 0.7 * data.x3 + u[:, 2] > 0).astype(float)
    eqs = [cmp.Equation("a", ["x1"], "probit"), cmp.Equation("b", ["x2", "a"], "probit"),
           cmp.Equation("c", ["x3"], "probit")]
    t0 = time.perf_counter()
    res = cmp.fit(data, eqs, ghk_draws=draws)
    return time.perf_counter() - t0, res


def bench_bvn(n: int = 1_000_000) -> float:
    from ruralabm.analysis._bvn import bvn_cdf

    rng = np.random.default_rng(1)
    h, k, r = rng.normal(size=n), rng.normal(size=n), rng.uniform(-0.99, 0.99, size=n)
    t0 = time.perf_counter()
    bvn_cdf(h, k, r)
    return time.perf_counter() - t0


def main() -> None:
    secs, res = bench_two_equation()
    print(f"cmp probit+continuous, n=100,000 (incl. starting values): {secs:.2f} s "
          f"({res.iterations} Newton iterations, rho={res.rho.iloc[0]:.4f}, sig={res.sig.iloc[0]:.4f})")
    secs, res = bench_bivariate_probit()
    print(f"cmp bivariate probit, n=100,000: {secs:.2f} s ({res.iterations} Newton iterations)")
    secs, res = bench_ghk()
    print(f"cmp trivariate probit (GHK, 50 Halton draws/obs), n=10,000: {secs:.2f} s "
          f"({res.iterations} Newton iterations)")
    print(f"bivariate normal CDF, 1,000,000 evaluations: {bench_bvn():.2f} s")


if __name__ == "__main__":
    main()
