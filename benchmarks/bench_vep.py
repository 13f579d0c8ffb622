"""Benchmark: VEP (three-step FGLS + vulnerability) on 100,000 households.

Target: under 1 s per fit on one core. Run as ``python benchmarks/bench_vep.py``.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ruralabm.analysis.vep import vulnerability

N = 100_000
K = 10  # covariates, about as many as the CLDS paper's income equation


def make_data(n: int = N, k: int = K, seed: int = 0) -> tuple[pd.DataFrame, list[str]]:
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.uniform(0, 1, (n, k))])
    beta = np.concatenate([[8.0], rng.normal(0, 0.3, k)])
    theta = np.concatenate([[0.2], rng.uniform(0, 0.1, k)])
    lny = X @ beta + rng.normal(size=n) * np.sqrt(X @ theta)
    cols = [f"x{j}" for j in range(1, k + 1)]
    df = pd.DataFrame(X[:, 1:], columns=cols)
    df["lny"] = lny
    return df, cols


def _time(fn, repeat: int = 5) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times[0], min(times)


def main() -> None:
    df, cols = make_data()
    lines = {"usd19": 1.9 * 365 * 2.3, "national": 2300.0, "usd31": 3.1 * 365 * 2.3}
    first, best = _time(lambda: vulnerability(df, "lny", cols, 2300.0))
    print(f"VEP, N={N:,}, k={K}, one poverty line: first {first:.3f} s, best of 5 {best:.3f} s")
    first, best = _time(lambda: vulnerability(df, "lny", cols, lines))
    print(f"VEP, N={N:,}, k={K}, three poverty lines: first {first:.3f} s, best of 5 {best:.3f} s")
    print("target: < 1 s")


if __name__ == "__main__":
    main()
