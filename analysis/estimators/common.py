"""Public helpers shared by the estimators: input checks, design-matrix checks, the kernels
of kernel matching, and the bootstrap driver.

Each estimator module uses these instead of another estimator's private functions, so the
modules of :mod:`ruralabm.analysis.estimators` depend on each other only through public names.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd
from scipy.linalg import lapack

from .errors import EstimationError

__all__ = ["KERNELS", "check_columns", "check_no_missing", "check_binary", "require_columns", "numeric_block", "gram", "check_design",
           "COLLINEAR_TOL", "bootstrap_replicates"]

# Kernels of kernel matching (psmatch2's kerneltype; PSM and PSM-DID).
KERNELS = ("normal", "epan", "uniform", "biweight", "tricube")


# ----------------------------------------------------------------------------------------------
# Column checks (propensity, PSM, DID)


def _require_present(data: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise EstimationError(f"column(s) not found in {what}: {', '.join(map(str, missing))}")


def check_columns(data: pd.DataFrame, columns: Sequence[str], what: str = "data") -> None:
    """Raise EstimationError naming any of ``columns`` missing from ``data`` or holding NaNs."""
    if not isinstance(data, pd.DataFrame):
        raise EstimationError(f"{what} must be a pandas DataFrame, got {type(data).__name__}")
    _require_present(data, columns, what)
    for c in columns:
        col = data[c]
        if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)):
            raise EstimationError(f"column {c!r} is not numeric (dtype {col.dtype})")
        n_nan = int(col.isna().sum())
        if n_nan:
            raise EstimationError(f"column {c!r} has {n_nan} missing value(s); drop or impute them first")
        vals = col.to_numpy(dtype=float)
        if not np.all(np.isfinite(vals)):
            raise EstimationError(f"column {c!r} has non-finite values (inf)")


def check_no_missing(data: pd.DataFrame, columns: Sequence[str], what: str = "data") -> None:
    """Raise EstimationError naming any of ``columns`` (of any dtype: identifiers, cluster
    labels) that is missing from ``data`` or holds missing values (NaN, None, pd.NA, NaT)."""
    _require_present(data, columns, what)
    for c in columns:
        n_nan = int(data[c].isna().sum())
        if n_nan:
            raise EstimationError(f"column {c!r} has {n_nan} missing value(s); drop or impute them first")


def check_binary(values: pd.Series | np.ndarray, name: str) -> np.ndarray:
    """Return a 0/1 float array, raising EstimationError unless both classes 0 and 1 occur."""
    v = np.asarray(values, dtype=float)
    bad = ~np.isin(v, (0.0, 1.0))
    if bad.any():
        examples = ", ".join(map(str, np.unique(v[bad])[:5]))
        raise EstimationError(f"treatment {name!r} must be binary 0/1; found value(s) {examples}")
    n1 = int(v.sum())
    if n1 == 0:
        raise EstimationError(f"treatment {name!r}: no treated observations")
    if n1 == v.size:
        raise EstimationError(f"treatment {name!r}: no control (untreated) observations")
    return v



# ----------------------------------------------------------------------------------------------
# Design-matrix checks (VEP, OLS, Cox).


def require_columns(data: pd.DataFrame, columns: Sequence[str], what: str = "column") -> None:
    if not isinstance(data, pd.DataFrame):
        raise EstimationError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise EstimationError(f"{what}(s) not in data: {missing}")
    dup = sorted({c for c in columns if list(columns).count(c) > 1})
    if dup:
        raise EstimationError(f"{what}(s) listed more than once: {dup}")


def numeric_block(data: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Float matrix of ``columns``; raises naming any non-numeric column or NaN/inf values.

    A fresh array is returned, so later arithmetic can never write into ``data``.
    """
    cols = list(columns)
    bad_type = [c for c in cols if not (pd.api.types.is_numeric_dtype(data[c]) or pd.api.types.is_bool_dtype(data[c]))]
    if bad_type:
        raise EstimationError(f"non-numeric column(s): {bad_type}")
    arr = np.array(data[cols].to_numpy(dtype=float), dtype=float, copy=True)
    if arr.ndim == 1:
        arr = arr[:, None]
    finite = np.isfinite(arr)
    if not finite.all():
        counts = (~finite).sum(axis=0)
        detail = {c: int(k) for c, k in zip(cols, counts) if k}
        raise EstimationError(f"missing or infinite values in used column(s) (count per column): {detail}")
    return arr


def gram(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column norms of X and the Gram matrix of the norm-scaled columns (unit diagonal).

    Everything below works on this k x k matrix: one tall matrix product is the only pass
    over the n rows, which keeps the fits fast and -- unlike LAPACK's tall QR -- insensitive to
    BLAS thread oversubscription on a busy machine.
    """
    norm = np.sqrt(np.einsum("ij,ij->j", X, X))
    norm = np.where(norm > 0, norm, 1.0)
    G = (X.T @ X) / np.outer(norm, norm)
    return norm, G


# A column is treated as collinear when the share of its (scaled) norm not explained by the
# other columns is below this, i.e. R^2 on the others > 1 - 1e-14. The Gram matrix resolves
# such shares down to about sqrt(machine eps) = 1.5e-8, hence this threshold.
COLLINEAR_TOL = 1e-7


def check_design(X: np.ndarray, names: Sequence[str], has_constant: bool) -> None:
    """Raise if a covariate is constant or the columns of X are linearly dependent.

    ``has_constant``: the first column of X is the constant (so a constant covariate is
    collinear with it); without one (Cox) a constant covariate is absorbed by the baseline
    hazard and is equally unidentified.
    """
    n, k = X.shape
    start = 1 if has_constant else 0
    sd = X[:, start:].std(axis=0)
    if np.any(sd == 0):
        values = {names[start + j]: float(X[0, start + j]) for j in np.flatnonzero(sd == 0)}
        raise EstimationError(f"constant covariate(s) (no variation; value): {values}")
    if n <= k:
        raise EstimationError(f"too few observations: N = {n} for {k} parameters")
    # Pivoted Cholesky (LAPACK dpstrf) of the scaled Gram matrix = pivoted QR of X: columns
    # beyond the numerical rank are (near) linear combinations of the others; naming them
    # tells the user what to drop.
    _, G = gram(X)
    _, piv, rank, _ = lapack.dpstrf(G.copy(), tol=COLLINEAR_TOL**2, lower=0)
    if rank < k:
        dropped = [names[j - 1] for j in piv[rank:]]
        raise EstimationError(
            f"collinear covariates: rank {rank} < {k} parameters; linearly dependent on the others: {dropped}"
        )




# ----------------------------------------------------------------------------------------------
# Bootstrap (PSM, PSM-DID)


def bootstrap_replicates(worker: Callable, args: tuple, n_boot: int, seed, n_jobs: int | None) -> list:
    """Run ``n_boot`` bootstrap replicates, in parallel processes when ``n_jobs`` allows.

    ``worker((*args, seeds))`` must return one entry per seed (``None`` for a failed replicate)
    and be a module-level function (it is pickled). Replicate ``b`` always uses the ``b``-th
    child of ``SeedSequence(seed)``, whatever the number of processes, so results do not depend
    on ``n_jobs`` (``None``: one process per CPU).
    """
    seeds = np.random.SeedSequence(seed).spawn(int(n_boot))
    n_jobs = (os.cpu_count() or 1) if n_jobs is None else max(1, int(n_jobs))
    if n_jobs == 1 or n_boot < 2:
        return worker((*args, seeds))
    with ProcessPoolExecutor(max_workers=n_jobs) as ex:
        parts = list(ex.map(worker, [(*args, seeds[i::n_jobs]) for i in range(n_jobs)]))
    # re-interleave so replicate b is always seeds[b]
    out = [None] * len(seeds)
    for i, part in enumerate(parts):
        out[i::n_jobs] = part
    return out
