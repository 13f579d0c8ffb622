"""Speed of propensity-score matching (analysis.psm.match).

Run: ``python benchmarks/bench_psm.py``. Figures printed:

1. nearest-neighbour matching, k=4, 200,000 observations (about 70,000 treated): the estimator
   on a given score (matching, ATT, default and Abadie-Imbens SEs), and the full call including
   the probit fit (statsmodels already imported; balance table off);
2. untruncated normal-kernel matching, 50,000 treated x 50,000 controls, bandwidth 0.06, on a
   given score, and including the probit fit; plus the accuracy check of the box-wise expansion
   against the direct dense computation for 2,000 of the treated (max relative difference of
   the kernel sums and of the matched outcome means).
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd


def _data(n_t: int, n_c: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_t + n_c
    X = rng.normal(size=(n, 3))
    t = np.r_[np.ones(n_t), np.zeros(n_c)]
    X[t == 1] += 0.4  # selection on observables
    y = X @ np.array([1.0, 0.5, -0.5]) + 2.0 * t + rng.normal(size=n)
    df = pd.DataFrame(X, columns=["x1", "x2", "x3"])
    df["t"] = t
    df["y"] = y
    return df


def _best(f, repeat=3):
    best = np.inf
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> dict:
    from ruralabm.analysis.propensity import fit_propensity
    from ruralabm.analysis.psm import _normal_kernel_direct, _normal_kernel_fgt, match

    figures = {}
    cov = ["x1", "x2", "x3"]

    # 1. nearest neighbour, k=4, n=200,000
    df = _data(70_000, 130_000, seed=1)
    df["ps"] = fit_propensity(df, "t", cov).pscore  # also warms up the statsmodels import
    t_nn, r = _best(lambda: match(df, "t", "y", k=4, pscore="ps", compute_balance=False))
    t_nn_ai, _ = _best(lambda: match(df, "t", "y", k=4, pscore="ps", se="ai", compute_balance=False))
    t_nn_full, _ = _best(lambda: match(df, "t", "y", cov, k=4, compute_balance=False), repeat=2)
    figures.update(nn_k4_200k_given_score=t_nn, nn_k4_200k_ai_se=t_nn_ai, nn_k4_200k_incl_probit=t_nn_full)
    print(f"NN k=4, n=200,000: {t_nn:.3f} s on given score (ATT {r.att:.4f}); "
          f"{t_nn_ai:.3f} s with AI SE; {t_nn_full:.3f} s including probit fit")

    # 2. normal kernel, 50,000 x 50,000
    df = _data(50_000, 50_000, seed=2)
    df["ps"] = fit_propensity(df, "t", cov).pscore
    t_k, r = _best(lambda: match(df, "t", "y", method="kernel", kernel="normal", bandwidth=0.06,
                                 pscore="ps", common_support=False, compute_balance=False))
    t_k_full, _ = _best(lambda: match(df, "t", "y", cov, method="kernel", kernel="normal", bandwidth=0.06,
                                      common_support=False, compute_balance=False), repeat=2)
    figures.update(kernel_normal_50k_given_score=t_k, kernel_normal_50k_incl_probit=t_k_full)
    print(f"normal kernel 50,000 x 50,000 (exact, untruncated): {t_k:.3f} s on given score "
          f"(ATT {r.att:.4f}); {t_k_full:.3f} s including probit fit")

    p = df["ps"].to_numpy()
    t = df["t"].to_numpy()
    y = df["y"].to_numpy()
    a = p[t == 1][:2000]
    order = np.argsort(p[t == 0], kind="stable")
    b, yb = p[t == 0][order], y[t == 0][order]
    t0 = time.perf_counter()
    S1, N1, _ = _normal_kernel_direct(a, b, yb, 0.06)
    t_direct = time.perf_counter() - t0
    S2, N2, _ = _normal_kernel_fgt(a, b, yb, 0.06)
    rel_s = float(np.max(np.abs(S2 / S1 - 1)))
    rel_m = float(np.max(np.abs(N2 / S2 - N1 / S1)) / np.max(np.abs(N1 / S1)))
    figures.update(fgt_vs_direct_rel_S=rel_s, fgt_vs_direct_rel_mean=rel_m, direct_2k_x_50k=t_direct)
    print(f"expansion vs direct (2,000 x 50,000): max rel. diff kernel sums {rel_s:.2e}, "
          f"matched means {rel_m:.2e}; direct took {t_direct:.2f} s "
          f"(~{t_direct * 25:.0f} s extrapolated to 50,000 treated)")
    return figures


if __name__ == "__main__":
    main()
