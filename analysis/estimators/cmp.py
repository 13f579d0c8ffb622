"""Conditional mixed-process (CMP) estimator: fully observed recursive systems of continuous,
probit and ordered-probit equations fitted jointly by full-information maximum likelihood.

This follows the model of D. Roodman (2011), "Fitting fully observed recursive mixed-process
models with cmp", *Stata Journal* 11(2), 159–206:

* Each equation k has a latent linear index ``y*_k = x_k'b_k + e_k``; the errors are jointly
  normal with covariance ``Sigma``. Continuous equations observe ``y_k = y*_k``; probit equations
  observe ``1{y*_k > 0}`` and have unit error variance; ordered-probit equations observe the
  category j with ``cut_{j-1} < y*_k <= cut_j`` (unit variance, no constant, cutpoints
  ``cut_k_j`` estimated freely and required to increase).
* The dependent variable of one equation may appear as a regressor in another. If the system is
  *recursive* (the "uses-as-regressor" graph has no cycles) the likelihood is the joint density
  of the observed outcomes with the endogenous regressors treated as data; :func:`fit` checks
  recursivity and refuses cyclic systems.
* Selection: an equation can carry an ``indicator`` column; rows where it is 0 do not contribute
  that equation (its dependent may be missing there). A probit selection equation plus a
  continuous outcome observed when the probit is 1 is Heckman's selection model fitted by ML.

Likelihood for one observation, with C the continuous and P the probit equations it contributes:

``L = phi_C(e_C; Sigma_CC) * Pr(signs of P | e_C)``, where the probit errors conditional on the
continuous residuals are normal with mean ``Sigma_PC Sigma_CC^-1 e_C`` and covariance
``Sigma_PP - Sigma_PC Sigma_CC^-1 Sigma_CP``. Each probit/oprobit dimension contributes an
interval for its latent error (flipped in sign where unbounded above, so one-sided intervals are
always ``(-inf, B]``); the rectangle probability is the exact normal CDF (log-difference, accurate
in both tails) for one dimension, the exact bivariate normal CDF (Drezner–Wesolowsky/Genz,
:mod:`._bvn`; one evaluation for probits, inclusion–exclusion for two-sided oprobit intervals) for
two, and the GHK simulator with per-observation scrambled Halton draws for three or more.

Parametrisation (as cmp): ``lnsig_k`` for each continuous equation and ``atanhrho_jk`` for each
pair of equations that are ever observed together; ``sig`` and ``rho`` are reported with
delta-method standard errors.

Derivatives: the log-likelihood of observation i depends on the parameters only through its K
linear indices ``x_ik'b_k`` and the few auxiliary parameters. First and second derivatives in
that small "index space" are taken per observation by central finite differences (all
observations perturbed at once — they are independent), then mapped to the coefficient space by
the chain rule (``g = sum_i J_i' d_i``, ``H = sum_i J_i' h_i J_i``). This gives per-observation
scores (for robust/cluster VCE) and a Newton–Raphson optimiser with quadratic convergence at the
cost of ``1 + 2D + D(D-1)`` likelihood evaluations per iteration (D = indices + free auxiliary
parameters; only the observation groups a coordinate affects are recomputed). Step: 1e-4 times
the coordinate's scale (sigma for continuous indices, 1 otherwise); 2e-6 when only scores are
needed (BFGS fallback).
Should a Newton step fail far from the optimum, one scipy BFGS phase runs before Newton resumes.

Units: the fit does not depend on the units of the regressors (rescaling a column by c divides
its coefficient and standard error by c and changes nothing else). The Newton step and the
convergence test ``g' (-H)^-1 g`` are invariant by construction; where ``-H`` is not positive
definite the modified Newton step floors the |eigenvalues| of the Jacobi-equilibrated Hessian
``D H D`` (``D = diag(|H_ii|^-1/2)``), not of ``H`` itself (whose eigenvalues span eleven orders
of magnitude with an income in yuan beside dummies, so that a floor relative to the largest froze
the other parameters); BFGS and the ordered-probit starting fit work on standardised columns.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import linalg, stats
from scipy.special import log_ndtr, ndtr, ndtri

from ._bvn import bvn_cdf
from .errors import ConvergenceError, EstimationError
from .results import EstimationResults, Summary, coef_table

__all__ = ["Equation", "CMPResults", "fit", "KINDS"]

KINDS = ("continuous", "probit", "oprobit")
_LOG2PI = math.log(2.0 * math.pi)
_TINY = 1e-300


@dataclass(frozen=True)
class Equation:
    """One equation of a CMP system.

    Parameters
    ----------
    dependent : column holding the outcome (0/1 for probit).
    regressors : columns on the right-hand side; may include another equation's dependent
        (recursive system).
    kind : "continuous", "probit" or "oprobit" (ordered probit; its outcome's distinct values,
        sorted, are the categories).
    constant : add an intercept (named ``_cons``). Ignored for "oprobit", whose cutpoints
        ``cut_k_j`` take the intercept's place (as in Stata's oprobit and cmp).
    indicator : optional column with 0/1 values; rows where it is 0 do not contribute this
        equation (selection). The dependent (and this equation's regressors) may be missing there.
    name : label used in parameter names (defaults to the dependent's name).
    """

    dependent: str
    regressors: Sequence[str] = ()
    kind: str = "continuous"
    constant: bool = True
    indicator: str | None = None
    name: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.dependent


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------
@dataclass
class CMPResults(EstimationResults):
    """Fitted CMP system. ``params``/``bse`` are indexed ``"eq:var"``, ``lnsig_k``, ``atanhrho_jk``."""

    params: pd.Series
    bse: pd.Series
    cov_params: pd.DataFrame
    llf: float
    nobs: int
    converged: bool
    iterations: int
    sig: pd.Series
    sig_se: pd.Series
    rho: pd.Series
    rho_se: pd.Series
    equations: tuple
    vce: str
    n_clusters: int | None = None
    llf_independent: float | None = None
    fixed_rho: Mapping[str, float] = field(default_factory=dict)
    ghk_draws: int | None = None
    hessian_ok: bool = True
    nobs_by_equation: Mapping[str, int] = field(default_factory=dict)

    @property
    def N(self) -> int:
        """Number of observations (alias of ``nobs``, as cmp's e(N))."""
        return self.nobs

    @property
    def loglik(self) -> float:
        """Maximised log-likelihood (alias of ``llf``)."""
        return self.llf

    @property
    def tvalues(self) -> pd.Series:
        return self.params / self.bse

    @property
    def pvalues(self) -> pd.Series:
        return pd.Series(2 * stats.norm.sf(np.abs(self.tvalues)), index=self.params.index)

    @property
    def lr_independence(self) -> tuple[float, int, float] | None:
        """LR test of all free rho = 0: (chi2, df, p), from the single-equation fits."""
        n_rho = sum(1 for k in self.params.index if k.startswith("atanhrho_"))
        if self.llf_independent is None or n_rho == 0:
            return None
        chi2 = max(0.0, 2.0 * (self.llf - self.llf_independent))
        return chi2, n_rho, float(stats.chi2.sf(chi2, n_rho))

    def to_frame(self) -> pd.DataFrame:
        """Coefficient table (coef, se, z, p, CI, stars) for all parameters plus sig_k and rho_jk."""
        names = list(self.params.index) + list(self.sig.index) + list(self.rho.index)
        coef = np.concatenate([self.params.values, self.sig.values, self.rho.values])
        se = np.concatenate([self.bse.values, self.sig_se.values, self.rho_se.values])
        table = coef_table(names, coef, se)
        # CIs for sig and rho by transforming the lnsig/atanhrho intervals (as cmp does).
        for k in self.sig.index:
            src = "ln" + k
            if src in self.params.index:
                table.loc[k, "ci_low"] = math.exp(table.loc[src, "ci_low"])
                table.loc[k, "ci_high"] = math.exp(table.loc[src, "ci_high"])
        for k in self.rho.index:
            src = "atanh" + k
            if src in self.params.index:
                table.loc[k, "ci_low"] = math.tanh(table.loc[src, "ci_low"])
                table.loc[k, "ci_high"] = math.tanh(table.loc[src, "ci_high"])
        return table

    def summary(self) -> Summary:
        table = self.to_frame()
        tables: dict[str, pd.DataFrame] = {}
        for i, eq in enumerate(self.equations, start=1):
            prefix = eq.label + ":"
            rows = [n for n in self.params.index if n.startswith(prefix)]
            sub = table.loc[rows].copy()
            sub.index = pd.Index([r[len(prefix):] for r in rows], name="term")
            tables[f"[{i}] {eq.label} ({eq.kind})"] = sub
        aux = [n for n in table.index if n.startswith(("cut_", "lnsig_", "atanhrho_"))]
        aux += list(self.sig.index) + list(self.rho.index)
        if aux:
            tables["Auxiliary parameters"] = table.loc[aux]
        facts: dict[str, object] = {
            "Number of obs": self.nobs,
            "Log likelihood": self.llf,
            "Equations": len(self.equations),
            "VCE": self.vce + (f" ({self.n_clusters} clusters)" if self.n_clusters else ""),
            "Converged": self.converged,
            "Iterations": self.iterations,
        }
        notes = []
        lr = self.lr_independence
        if lr is not None:
            notes.append(f"LR test of indep. eqns.: chi2({lr[1]}) = {lr[0]:.2f}, Prob > chi2 = {lr[2]:.4f}")
        for k, v in self.fixed_rho.items():
            notes.append(f"{k} fixed at {v:g}")
        if self.ghk_draws:
            notes.append(f"GHK simulator with {self.ghk_draws} Halton draws per observation")
        if not self.hessian_ok:
            notes.append("Hessian not negative definite at the optimum; standard errors unavailable")
        lines = ", ".join(f"{k}: {v}" for k, v in self.nobs_by_equation.items())
        if lines:
            notes.append("Observations per equation: " + lines)
        return Summary("Mixed-process regression (CMP, FIML)", facts, tables, notes)


# --------------------------------------------------------------------------------------------
# Internal problem representation
# --------------------------------------------------------------------------------------------
@dataclass
class _Group:
    """Observations sharing the same set of contributing equations (contiguous after sorting)."""

    sl: slice
    cont: np.ndarray          # equation indices (continuous), ascending
    prob: np.ndarray          # equation indices (probit/oprobit: "censored" dims), ascending
    yc: np.ndarray            # (n_g, |cont|) observed continuous outcomes
    cat: np.ndarray           # (n_g, |prob|) 1-based category of each censored outcome
    s: np.ndarray             # (n_g, |prob|) sign flips: -1 where the interval is unbounded above
    draws: np.ndarray | None  # (n_g, R, |prob|-1) uniforms for GHK
    eqs: frozenset


def _as_float(frame: pd.DataFrame, col: str) -> np.ndarray:
    s = frame[col]
    if s.dtype == bool:
        return s.to_numpy(dtype=float)
    try:
        return pd.to_numeric(s, errors="raise").to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise EstimationError(f"cmp: column {col!r} is not numeric") from exc


def _check_recursive(equations: Sequence[Equation]) -> None:
    deps = [e.dependent for e in equations]
    if len(set(deps)) != len(deps):
        raise EstimationError("cmp: two equations share the same dependent variable")
    where = {d: i for i, d in enumerate(deps)}
    edges = {i: set() for i in range(len(equations))}
    for i, eq in enumerate(equations):
        for r in eq.regressors:
            if r == eq.dependent:
                raise EstimationError(
                    f"cmp: equation {eq.label!r} has its own dependent {r!r} as a regressor; "
                    "the system is not recursive"
                )
            if r in where:
                edges[i].add(where[r])
    state = [0] * len(equations)  # 0 unvisited, 1 on stack, 2 done

    def visit(i: int, path: list[int]) -> None:
        state[i] = 1
        for j in edges[i]:
            if state[j] == 1:
                cyc = path[path.index(j):] + [j] if j in path else [i, j]
                names = " -> ".join(equations[c].dependent for c in cyc)
                raise EstimationError(f"cmp: the system is not recursive (cycle {names})")
            if state[j] == 0:
                visit(j, path + [j])
        state[i] = 2

    for i in range(len(equations)):
        if state[i] == 0:
            visit(i, [i])


def _pair_name(j: int, k: int) -> str:
    return f"{j + 1}{k + 1}" if max(j, k) < 9 else f"{j + 1}_{k + 1}"


class _Problem:
    def __init__(self, data, equations, *, ghk_draws, ghk_antithetic, ghk_seed, fix_rho, independent):
        if not isinstance(data, pd.DataFrame):
            raise EstimationError("cmp: data must be a pandas DataFrame")
        if not equations:
            raise EstimationError("cmp: no equations given")
        equations = [e if isinstance(e, Equation) else Equation(*e) for e in equations]
        for eq in equations:
            if eq.kind not in KINDS:
                raise EstimationError(
                    f"cmp: equation {eq.label!r} has kind {eq.kind!r}; supported kinds are {KINDS}"
                )
            if isinstance(eq.regressors, str):
                raise EstimationError(f"cmp: regressors of {eq.label!r} must be a list of column names")
            if len(set(eq.regressors)) != len(eq.regressors):
                raise EstimationError(f"cmp: equation {eq.label!r} lists a regressor twice")
            if not eq.regressors and not eq.constant:
                raise EstimationError(f"cmp: equation {eq.label!r} has no regressors and no constant")
        labels = [e.label for e in equations]
        if len(set(labels)) != len(labels):
            raise EstimationError("cmp: equation names must be unique")
        needed = []
        for eq in equations:
            needed += [eq.dependent, *eq.regressors] + ([eq.indicator] if eq.indicator else [])
        missing = sorted({c for c in needed if c not in data.columns})
        if missing:
            raise EstimationError(f"cmp: column(s) not found in data: {missing}")
        _check_recursive(equations)

        self.equations = tuple(equations)
        K = self.K = len(equations)
        n_all = len(data)
        if n_all == 0:
            raise EstimationError("cmp: data has no rows")

        # Observation mask per equation (indicator), validated.
        obs = np.ones((n_all, K), dtype=bool)
        for k, eq in enumerate(equations):
            if eq.indicator:
                ind = _as_float(data, eq.indicator)
                if np.isnan(ind).any():
                    raise EstimationError(f"cmp: indicator {eq.indicator!r} of {eq.label!r} has missing values")
                if not np.isin(ind, (0.0, 1.0)).all():
                    raise EstimationError(f"cmp: indicator {eq.indicator!r} of {eq.label!r} must be 0/1")
                obs[:, k] = ind == 1.0
        keep = obs.any(axis=1)
        if not keep.any():
            raise EstimationError("cmp: no observation contributes any equation")

        Y = np.zeros((n_all, K))
        CAT = np.zeros((n_all, K), dtype=np.int64)   # 1-based category for probit/oprobit
        self.categories: dict[int, np.ndarray] = {}
        Xs, names, col_scales = [], [], []
        for k, eq in enumerate(equations):
            rows = obs[:, k]
            if rows.sum() == 0:
                raise EstimationError(f"cmp: equation {eq.label!r} has no observations (indicator all 0)")
            y = _as_float(data, eq.dependent)
            if np.isnan(y[rows]).any() or np.isinf(y[rows]).any():
                raise EstimationError(
                    f"cmp: dependent {eq.dependent!r} of {eq.label!r} has missing/infinite values in rows "
                    "where the equation is observed"
                )
            if eq.kind == "probit" and not np.isin(y[rows], (0.0, 1.0)).all():
                raise EstimationError(f"cmp: probit dependent {eq.dependent!r} must be binary 0/1")
            if eq.kind == "probit" and np.unique(y[rows]).size < 2:
                raise EstimationError(
                    f"cmp: probit dependent {eq.dependent!r} does not vary (outcome perfectly predicted)"
                )
            if eq.kind == "oprobit":
                cats = np.unique(y[rows])
                if cats.size < 2:
                    raise EstimationError(
                        f"cmp: oprobit dependent {eq.dependent!r} does not vary (outcome perfectly predicted)"
                    )
                self.categories[k] = cats
                CAT[rows, k] = np.searchsorted(cats, y[rows]) + 1
            elif eq.kind == "probit":
                self.categories[k] = np.array([0.0, 1.0])
                CAT[rows, k] = y[rows].astype(np.int64) + 1
            Y[:, k] = np.where(rows, y, 0.0)
            cols = []
            for r in eq.regressors:
                x = _as_float(data, r)
                bad = rows & ~np.isfinite(x)
                if bad.any():
                    raise EstimationError(
                        f"cmp: regressor {r!r} of {eq.label!r} has {int(bad.sum())} missing/infinite value(s)"
                    )
                cols.append(np.where(rows, x, 0.0))
            has_cons = eq.constant and eq.kind != "oprobit"
            if has_cons:
                cols.append(np.ones(n_all))
            X = np.column_stack(cols) if cols else np.zeros((n_all, 0))
            Xr = X[rows]
            # Root-mean-square of each column over the rows where the equation is observed: the
            # rank check, the ordered-probit starting fit and the BFGS fallback work on columns
            # divided by it, so that none depends on the units of the regressors.
            scale = np.sqrt(np.mean(Xr * Xr, axis=0)) if Xr.shape[1] else np.zeros(0)
            scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
            col_scales.append(scale)
            Xn = Xr / scale
            if eq.kind == "oprobit":
                # the cutpoints play the intercept's role: a constant column is not identified
                check = np.column_stack([Xn, np.ones(Xn.shape[0])])
            else:
                check = Xn
            rank = np.linalg.matrix_rank(check) if check.shape[1] else 0
            if rank < check.shape[1]:
                raise EstimationError(
                    f"cmp: regressors of {eq.label!r} are collinear (rank {rank} < {check.shape[1]})"
                    + (" with the cutpoints (a constant regressor?)" if eq.kind == "oprobit" else "")
                )
            if eq.kind in ("probit", "oprobit"):
                _check_separation(eq, Y[rows, k], Xr)
            Xs.append(X)
            names += [f"{eq.label}:{v}" for v in list(eq.regressors) + (["_cons"] if has_cons else [])]

        # Sort the contributing rows by pattern so every group is a contiguous slice.
        idx = np.flatnonzero(keep)
        codes = obs[idx] @ (1 << np.arange(K))
        order = np.argsort(codes, kind="stable")
        self.rows = idx[order]            # original row positions, in internal order
        self.n = self.rows.size
        self.X = [X[self.rows] for X in Xs]
        self.Y = Y[self.rows]
        self.CAT = CAT[self.rows]
        self.obs = obs[self.rows]
        self.kinds = [eq.kind for eq in equations]
        self.cont = [k for k in range(K) if self.kinds[k] == "continuous"]
        self.beta_names = names
        self.nbeta = [X.shape[1] for X in Xs]
        self.beta_offsets = np.concatenate([[0], np.cumsum(self.nbeta)]).astype(int)
        self.col_scales = col_scales

        # Auxiliary parameters: lnsig for continuous equations, atanhrho for co-observed pairs.
        co = self.obs.T.astype(float) @ self.obs.astype(float)
        self.aux_names: list[str] = []
        self.aux_kind: list[tuple] = []
        for k in range(K):
            if self.kinds[k] == "oprobit":
                for j in range(1, self.categories[k].size):
                    self.aux_names.append(f"cut_{k + 1}_{j}")
                    self.aux_kind.append(("cut", k, j))
        for k in self.cont:
            self.aux_names.append(f"lnsig_{k + 1}")
            self.aux_kind.append(("lnsig", k))
        self.pairs = [(j, k) for j in range(K) for k in range(j + 1, K) if co[j, k] > 0]
        for j, k in self.pairs:
            self.aux_names.append(f"atanhrho_{_pair_name(j, k)}")
            self.aux_kind.append(("rho", j, k))
        self.fixed: dict[int, float] = {}
        self._parse_fix(fix_rho, independent)
        self.free_aux = [a for a in range(len(self.aux_names)) if a not in self.fixed]

        # Groups.
        sorted_codes = codes[order]
        bounds = np.flatnonzero(np.diff(sorted_codes)) + 1
        starts = np.concatenate([[0], bounds])
        ends = np.concatenate([bounds, [self.n]])
        self.groups: list[_Group] = []
        self.ghk_draws = None
        rng_seed = ghk_seed
        for s, e in zip(starts, ends):
            pat = self.obs[s]
            eqs = np.flatnonzero(pat)
            cont = np.array([k for k in eqs if self.kinds[k] == "continuous"], dtype=int)
            prob = np.array([k for k in eqs if self.kinds[k] != "continuous"], dtype=int)
            yc = self.Y[s:e][:, cont]
            cat = self.CAT[s:e][:, prob]
            top = np.array([self.categories[k].size for k in prob], dtype=np.int64)
            flip = np.where(cat == top[None, :], -1.0, 1.0)
            draws = None
            if prob.size >= 3:
                draws = _halton_draws(e - s, ghk_draws, prob.size - 1, ghk_antithetic, rng_seed)
                rng_seed += 1
                self.ghk_draws = ghk_draws * (2 if ghk_antithetic else 1)
            self.groups.append(_Group(slice(s, e), cont, prob, yc, cat, flip, draws, frozenset(eqs.tolist())))
        self.nobs_by_eq = {eq.label: int(self.obs[:, k].sum()) for k, eq in enumerate(equations)}

    # ---- parameters ----
    def _parse_fix(self, fix_rho, independent) -> None:
        by_name = {n: a for a, n in enumerate(self.aux_names)}
        if independent:
            for a, kind in enumerate(self.aux_kind):
                if kind[0] == "rho":
                    self.fixed[a] = 0.0
        if not fix_rho:
            return
        labels = {eq.label: k for k, eq in enumerate(self.equations)}
        labels.update({eq.dependent: k for k, eq in enumerate(self.equations)})
        for key, val in dict(fix_rho).items():
            if isinstance(key, str):
                name = key if key.startswith("atanhrho_") else "atanhrho_" + key.removeprefix("rho_")
            else:
                try:
                    j, k = key
                except (TypeError, ValueError) as exc:
                    raise EstimationError(f"cmp: cannot interpret fix_rho key {key!r}") from exc
                j = labels[j] if isinstance(j, str) and j in labels else (int(j) - 1 if not isinstance(j, str) else None)
                k = labels[k] if isinstance(k, str) and k in labels else (int(k) - 1 if not isinstance(k, str) else None)
                if j is None or k is None:
                    raise EstimationError(f"cmp: fix_rho key {key!r} names an unknown equation")
                j, k = min(j, k), max(j, k)
                name = f"atanhrho_{_pair_name(j, k)}"
            if name not in by_name:
                raise EstimationError(f"cmp: fix_rho refers to {name!r}, which is not a parameter of this system")
            val = float(val)
            if not -1.0 < val < 1.0:
                raise EstimationError(f"cmp: fixed rho must lie strictly in (-1, 1), got {val}")
            self.fixed[by_name[name]] = math.atanh(val)

    @property
    def theta_scale(self) -> np.ndarray:
        """Scale of each free parameter's coordinate: the RMS of its regressor for coefficients,
        1 for auxiliary parameters (already in index units). ``phi = theta * theta_scale`` does
        not change when a regressor is rescaled (BFGS fallback)."""
        return np.concatenate(self.col_scales + [np.ones(len(self.free_aux))])

    @property
    def n_free(self) -> int:
        return int(self.beta_offsets[-1]) + len(self.free_aux)

    def param_names(self) -> list[str]:
        return self.beta_names + [self.aux_names[a] for a in self.free_aux]

    def split(self, theta: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        o = self.beta_offsets
        betas = [theta[o[k]:o[k + 1]] for k in range(self.K)]
        aux = np.zeros(len(self.aux_names))
        for a, v in self.fixed.items():
            aux[a] = v
        aux[self.free_aux] = theta[o[-1]:]
        return betas, aux

    def sigma(self, aux: np.ndarray) -> np.ndarray:
        sd = np.ones(self.K)
        R = np.eye(self.K)
        for a, kind in enumerate(self.aux_kind):
            if kind[0] == "lnsig":
                sd[kind[1]] = math.exp(aux[a])
            elif kind[0] == "rho":
                r = math.tanh(aux[a])
                R[kind[1], kind[2]] = R[kind[2], kind[1]] = r
        return R * np.outer(sd, sd)

    def cuts(self, aux: np.ndarray) -> dict[int, np.ndarray] | None:
        """Extended cutpoints [-inf, k_1, ..., k_{J-1}, inf] per censored equation (probit: [.., 0, ..]);
        None when an oprobit's cutpoints are not strictly increasing."""
        out = {k: np.array([-np.inf, 0.0, np.inf]) for k in range(self.K) if self.kinds[k] == "probit"}
        for k in range(self.K):
            if self.kinds[k] == "oprobit":
                vals = [aux[a] for a, kd in enumerate(self.aux_kind) if kd[0] == "cut" and kd[1] == k]
                if np.any(np.diff(vals) <= 0):
                    return None
                out[k] = np.concatenate([[-np.inf], vals, [np.inf]])
        return out

    def index(self, betas) -> np.ndarray:
        return np.column_stack([X @ b for X, b in zip(self.X, betas)])

    # ---- likelihood ----
    def ll_obs(self, XB: np.ndarray, aux: np.ndarray, groups=None, base=None) -> np.ndarray:
        """Per-observation log-likelihood (internal order). ``groups`` restricts the work to those
        groups, copying the others from ``base``."""
        Sigma = self.sigma(aux)
        cuts = self.cuts(aux)
        if cuts is None:
            return np.full(self.n, -np.inf)
        out = np.empty(self.n) if base is None else base.copy()
        for g in (self.groups if groups is None else groups):
            out[g.sl] = _group_ll(g, XB[g.sl], Sigma, cuts)
        return out

    def affected(self, which: tuple) -> list[_Group]:
        if which[0] == "xb":
            k = which[1]
            return [g for g in self.groups if k in g.eqs]
        kind = self.aux_kind[which[1]]
        if kind[0] in ("lnsig", "cut"):
            return [g for g in self.groups if kind[1] in g.eqs]
        return [g for g in self.groups if kind[1] in g.eqs and kind[2] in g.eqs]

    def derivs(self, theta: np.ndarray, hessian: bool = True):
        """Total log-likelihood, per-observation scores (n x p) and the Hessian (p x p)."""
        betas, aux = self.split(theta)
        XB = self.index(betas)
        f0 = self.ll_obs(XB, aux)
        sd = np.ones(self.K)
        for a, kind in enumerate(self.aux_kind):
            if kind[0] == "lnsig":
                sd[kind[1]] = math.exp(aux[a])
        # Index-space coordinates: K linear indices + free aux parameters.
        coords = [("xb", k) for k in range(self.K)] + [("aux", a) for a in self.free_aux]
        scale = np.array([sd[k] for k in range(self.K)] + [1.0] * len(self.free_aux))
        aff = [self.affected(c) for c in coords]

        def shifted(steps: dict[int, float]) -> np.ndarray:
            XBs, auxs = XB, aux
            groups: set[int] = set()
            for c, h in steps.items():
                kind, i = coords[c]
                if kind == "xb":
                    if XBs is XB:
                        XBs = XB.copy()
                    XBs[:, i] += h
                else:
                    if auxs is aux:
                        auxs = aux.copy()
                    auxs[i] += h
                groups |= {id(g) for g in aff[c]}
            gl = [g for g in self.groups if id(g) in groups]
            return self.ll_obs(XBs, auxs, gl, f0)

        D = len(coords)
        d1 = np.empty((self.n, D))
        if not hessian:
            hg = 2e-6 * scale
            for c in range(D):
                d1[:, c] = (shifted({c: hg[c]}) - shifted({c: -hg[c]})) / (2 * hg[c])
            return f0.sum(), self._to_params(d1), None, f0
        # One step size serves both: central-difference scores have truncation error of order
        # h^2 * (third derivative) / 6, about 2e-9 relative; second differences about 1e-8.
        hh = 1e-4 * scale
        fp = [shifted({c: hh[c]}) for c in range(D)]
        fm = [shifted({c: -hh[c]}) for c in range(D)]
        for c in range(D):
            d1[:, c] = (fp[c] - fm[c]) / (2 * hh[c])
        scores = self._to_params(d1)
        d2 = np.empty((self.n, D, D))
        for c in range(D):
            d2[:, c, c] = (fp[c] - 2 * f0 + fm[c]) / hh[c] ** 2
            for e in range(c):
                if not (set(map(id, aff[c])) & set(map(id, aff[e]))):
                    d2[:, c, e] = d2[:, e, c] = 0.0
                    continue
                fpp = shifted({c: hh[c], e: hh[e]})
                fmm = shifted({c: -hh[c], e: -hh[e]})
                v = (fpp + fmm - fp[c] - fm[c] - fp[e] - fm[e] + 2 * f0) / (2 * hh[c] * hh[e])
                d2[:, c, e] = d2[:, e, c] = v
        H = self._hess_to_params(d2)
        return f0.sum(), scores, H, f0

    def _to_params(self, d1: np.ndarray) -> np.ndarray:
        parts = [self.X[k] * d1[:, [k]] for k in range(self.K)]
        parts.append(d1[:, self.K:])
        return np.hstack(parts)

    def _hess_to_params(self, d2: np.ndarray) -> np.ndarray:
        p = self.n_free
        o = self.beta_offsets
        K = self.K
        A = len(self.free_aux)
        H = np.zeros((p, p))
        for k in range(K):
            for l in range(k + 1):
                blk = self.X[k].T @ (self.X[l] * d2[:, k, [l]])
                H[o[k]:o[k + 1], o[l]:o[l + 1]] = blk
                H[o[l]:o[l + 1], o[k]:o[k + 1]] = blk.T
            if A:
                blk = self.X[k].T @ d2[:, k, K:]
                H[o[k]:o[k + 1], o[-1]:] = blk
                H[o[-1]:, o[k]:o[k + 1]] = blk.T
        if A:
            H[o[-1]:, o[-1]:] = d2[:, K:, K:].sum(axis=0)
        return H

    def loglik(self, theta: np.ndarray) -> float:
        betas, aux = self.split(theta)
        v = self.ll_obs(self.index(betas), aux).sum()
        return float(v) if np.isfinite(v) else -np.inf


def _check_separation(eq: Equation, y: np.ndarray, X: np.ndarray) -> None:
    """Refuse (o)probit equations where a binary regressor perfectly predicts the lowest or the
    highest outcome (the coefficient would diverge)."""
    lo, hi = y.min(), y.max()
    for j, name in enumerate(eq.regressors):
        x = X[:, j]
        vals = np.unique(x)
        if vals.size == 2:
            for v in vals:
                sub = y[x == v]
                for extreme in (lo, hi):
                    if np.all(sub == extreme):
                        raise EstimationError(
                            f"cmp: in {eq.kind} equation {eq.label!r}, {name} == {v:g} predicts "
                            f"{eq.dependent} == {extreme:g} perfectly"
                        )


def _halton_draws(n: int, r: int, d: int, antithetic: bool, seed: int) -> np.ndarray:
    """Per-observation uniforms (n, r[*2], d): observation i uses points i*r .. i*r+r-1 of a
    scrambled Halton sequence (fixed seed), optionally with antithetic copies 1-u."""
    h = stats.qmc.Halton(d=d, scramble=True, seed=seed)
    u = h.random(n * r).reshape(n, r, d)
    if antithetic:
        u = np.concatenate([u, 1.0 - u], axis=1)
    return np.clip(u, 1e-12, 1 - 1e-12)


def _group_ll(g: _Group, XB: np.ndarray, Sigma: np.ndarray, cuts: dict[int, np.ndarray]) -> np.ndarray:
    n = XB.shape[0]
    ll = np.zeros(n)
    c, p = g.cont, g.prob
    L = None
    if c.size:
        e = g.yc - XB[:, c]
        try:
            L = linalg.cholesky(Sigma[np.ix_(c, c)], lower=True)
        except linalg.LinAlgError:
            return np.full(n, -np.inf)
        z = linalg.solve_triangular(L, e.T, lower=True).T
        ll += -0.5 * np.einsum("ij,ij->i", z, z) - np.log(np.diag(L)).sum() - 0.5 * c.size * _LOG2PI
    if p.size:
        m = XB[:, p]
        V = Sigma[np.ix_(p, p)]
        if L is not None:
            W = linalg.solve_triangular(L, Sigma[np.ix_(c, p)], lower=True)  # L^-1 Sigma_CP
            m = m + z @ W  # linear index plus conditional mean of the censored errors
            V = V - W.T @ W
        sd = np.sqrt(np.diag(V))
        if not np.all(sd > 0):
            return np.full(n, -np.inf)
        # Interval for u - mu: (cut[cat-1] - m, cut[cat] - m]; flipped (w = -(u - mu)) where the
        # upper end is +inf so that every one-sided interval is (-inf, B]. Probit is the special
        # case with the single cutpoint 0 and B = q * (xb + mu).
        A = np.empty((n, p.size))
        B = np.empty((n, p.size))
        for j, k in enumerate(p):
            ck = cuts[k]
            lo = ck[g.cat[:, j] - 1] - m[:, j]
            hi = ck[g.cat[:, j]] - m[:, j]
            flip = g.s[:, j] < 0
            A[:, j] = np.where(flip, -hi, lo) / sd[j]
            B[:, j] = np.where(flip, -lo, hi) / sd[j]
        if p.size == 1:
            ll += _log_interval(A[:, 0], B[:, 0])
        elif p.size == 2:
            r = V[0, 1] / (sd[0] * sd[1])
            if not abs(r) < 1:
                return np.full(n, -np.inf)
            r = g.s[:, 0] * g.s[:, 1] * r
            P = bvn_cdf(B[:, 0], B[:, 1], r)
            a0, a1 = np.isfinite(A[:, 0]), np.isfinite(A[:, 1])
            if a0.any():
                P[a0] -= bvn_cdf(A[a0, 0], B[a0, 1], r[a0])
            if a1.any():
                P[a1] -= bvn_cdf(B[a1, 0], A[a1, 1], r[a1])
            both = a0 & a1
            if both.any():
                P[both] += bvn_cdf(A[both, 0], A[both, 1], r[both])
            ll += np.log(np.maximum(P, _TINY))
        else:
            ll += _ghk_log(A, B, V / np.outer(sd, sd), g.s, g.draws)
    return ll


def _log_interval(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """log(Phi(b) - Phi(a)) for a < b, accurate in both tails (a may be -inf)."""
    out = log_ndtr(b)
    two = np.isfinite(a)
    if two.any():
        aa, bb = a[two], b[two]
        upper = aa > 0
        hi = np.where(upper, -aa, bb)   # larger of the two tail arguments
        lo = np.where(upper, -bb, aa)
        lh, ll_ = log_ndtr(hi), log_ndtr(lo)
        with np.errstate(divide="ignore"):
            val = lh + np.log1p(-np.exp(ll_ - lh))
        out[two] = np.maximum(val, math.log(_TINY))
    return out


def _ghk_log(A: np.ndarray, B: np.ndarray, R: np.ndarray, s: np.ndarray, U: np.ndarray) -> np.ndarray:
    """log Pr(A_i < w_i <= B_i), w_i ~ N(0, S_i R S_i) with S_i = diag(s_i), by the GHK simulator
    with uniforms U (n, draws, m-1)."""
    try:
        C0 = linalg.cholesky(R, lower=True)
    except linalg.LinAlgError:
        return np.full(A.shape[0], -np.inf)
    m = A.shape[1]
    n, nd = U.shape[0], U.shape[1]
    prob = np.ones((n, nd))
    eta = np.empty((n, nd, m - 1))
    for j in range(m):
        # Cholesky factor of S R S is S C0 S: entries C0[j, l] * s_j * s_l.
        acc = np.zeros((n, nd))
        for l in range(j):
            acc += (C0[j, l] * s[:, j] * s[:, l])[:, None] * eta[:, :, l]
        pb = ndtr((B[:, [j]] - acc) / C0[j, j])
        if np.isfinite(A[:, j]).any():
            pa = ndtr((A[:, [j]] - acc) / C0[j, j])
        else:
            pa = np.zeros_like(pb)
        pj = pb - pa
        prob *= pj
        if j < m - 1:
            eta[:, :, j] = ndtri(np.clip(pa + U[:, :, j] * pj, _TINY, 1 - 1e-16))
    return np.log(np.maximum(prob.mean(axis=1), _TINY))


# --------------------------------------------------------------------------------------------
# Starting values and optimiser
# --------------------------------------------------------------------------------------------
def _start_values(prob: _Problem) -> tuple[np.ndarray, float]:
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import (
        ConvergenceWarning, PerfectSeparationError, PerfectSeparationWarning,
    )

    betas, lnsig, cutpoints = [], {}, {}
    ll0 = 0.0
    for k, eq in enumerate(prob.equations):
        rows = prob.obs[:, k]
        X, y = prob.X[k][rows], prob.Y[rows, k]
        if eq.kind == "continuous":
            b, *_ = np.linalg.lstsq(X, y, rcond=None)
            resid = y - X @ b
            s2 = float(resid @ resid) / y.size
            if not s2 > 0:
                raise EstimationError(f"cmp: continuous equation {eq.label!r} fits perfectly (zero residual variance)")
            lnsig[k] = 0.5 * math.log(s2)
            ll0 += -0.5 * y.size * (_LOG2PI + math.log(s2) + 1.0)
        elif eq.kind == "oprobit":
            # BFGS (and the |b| < 1e3 separation check) on standardised columns, so that neither
            # depends on the regressors' units; least squares and probit Newton do not.
            cs = prob.col_scales[k]
            b, cut, llk = _oprobit_start(eq, X / cs, prob.CAT[rows, k], prob.categories[k].size)
            b = b / cs
            cutpoints[k] = cut
            ll0 += llk
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("error", PerfectSeparationWarning)
                warnings.simplefilter("ignore", RuntimeWarning)
                warnings.simplefilter("ignore", ConvergenceWarning)
                try:
                    res = sm.Probit(y, X).fit(disp=0, method="newton", maxiter=100)
                except (PerfectSeparationError, PerfectSeparationWarning) as exc:
                    raise EstimationError(
                        f"cmp: perfect prediction in probit equation {eq.label!r}: {exc}"
                    ) from exc
                except np.linalg.LinAlgError as exc:
                    raise EstimationError(f"cmp: probit starting fit of {eq.label!r} failed: {exc}") from exc
            b = np.asarray(res.params, dtype=float)
            p_obs = ndtr((2 * y - 1) * (X @ b))  # fitted probability of the observed outcome
            if (not np.all(np.isfinite(b)) or not res.mle_retvals.get("converged", True)
                    or np.all(p_obs > 1 - 1e-8)):
                raise EstimationError(
                    f"cmp: perfect prediction (separation) in probit equation {eq.label!r}: the "
                    "single-equation probit does not converge to finite coefficients"
                )
            ll0 += float(res.llf)
            betas.append(b)
            continue
        betas.append(b)
    aux = np.zeros(len(prob.aux_names))
    for a, kind in enumerate(prob.aux_kind):
        if kind[0] == "lnsig":
            aux[a] = lnsig[kind[1]]
        elif kind[0] == "cut":
            aux[a] = cutpoints[kind[1]][kind[2] - 1]
    theta = np.concatenate(betas + [aux[prob.free_aux]])
    return theta, ll0


def _oprobit_start(eq: Equation, X: np.ndarray, cat: np.ndarray, J: int):
    """Single-equation ordered probit: (coefficients, cutpoints, log-likelihood)."""
    counts = np.bincount(cat, minlength=J + 1)[1:].astype(float)
    if X.shape[1] == 0:
        shares = np.cumsum(counts)[:-1] / counts.sum()
        llk = float(np.sum(counts * np.log(counts / counts.sum())))
        return np.zeros(0), ndtri(shares), llk
    from statsmodels.miscmodels.ordinal_model import OrderedModel
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            model = OrderedModel(cat, X, distr="probit")
            res = model.fit(method="bfgs", disp=0, maxiter=500)
        except (np.linalg.LinAlgError, ValueError) as exc:
            raise EstimationError(f"cmp: oprobit starting fit of {eq.label!r} failed: {exc}") from exc
    params = np.asarray(res.params, dtype=float)
    nb = X.shape[1]
    cut = np.asarray(model.transform_threshold_params(params), dtype=float)[1:-1]
    b = params[:nb]
    if not (np.all(np.isfinite(params)) and res.mle_retvals.get("converged", True)
            and np.all(np.abs(b) < 1e3)):
        raise EstimationError(
            f"cmp: perfect prediction (separation) in oprobit equation {eq.label!r}: the "
            "single-equation ordered probit does not converge to finite coefficients"
        )
    return b, cut, float(res.llf)


def _newton(prob: _Problem, theta: np.ndarray, maxiter: int, tol: float):
    """Newton–Raphson with step halving on the exact-in-index-space Hessian. If a step cannot
    improve the likelihood far from the optimum (or the derivatives are not finite), one BFGS
    phase (scipy, same scores) is run from the current point before Newton resumes.

    Every part is invariant to the units of the regressors (rescaling a column rescales its
    coefficient and nothing else changes): the pure Newton step and the convergence criterion
    ``g' (-H)^-1 g`` are so by construction, the modified step used where ``-H`` is not positive
    definite is computed in Jacobi-equilibrated coordinates (:func:`_newton_step`), and BFGS runs
    on the coefficients times the RMS of their regressors (:attr:`_Problem.theta_scale`)."""
    f, S, H, _ = prob.derivs(theta)
    if not np.isfinite(f):
        raise EstimationError("cmp: log-likelihood is not finite at the starting values")
    converged = False
    used_bfgs = False
    steps = 0
    while steps < maxiter:
        g = S.sum(axis=0)
        step = _newton_step(g, H) if np.all(np.isfinite(H)) and np.all(np.isfinite(g)) else None
        if step is not None and np.all(np.isfinite(step)):
            dec = float(g @ step)
            if dec < tol:
                converged = True
                break
            t = 1.0
            while t >= 1e-12:
                cand = theta + t * step
                fc = prob.loglik(cand)
                if np.isfinite(fc) and fc >= f - 1e-12 * abs(f):
                    break
                t *= 0.5
            if t >= 1e-12:
                steps += 1
                theta, f_old = cand, f
                f, S, H, _ = prob.derivs(theta)
                if abs(f - f_old) < 1e-13 * max(1.0, abs(f)) and dec < 1e-7:
                    converged = True
                    break
                continue
            if dec < 1e-6:  # cannot improve, but already flat to within rounding
                converged = True
                break
        if used_bfgs:
            break
        used_bfgs = True
        theta = _bfgs(prob, theta)
        f, S, H, _ = prob.derivs(theta)
        if not np.isfinite(f):
            break
    return theta, f, S, H, converged, steps


def _bfgs(prob: _Problem, theta: np.ndarray) -> np.ndarray:
    """One scipy BFGS phase in standardised coordinates ``phi = theta * d`` (``d`` =
    :attr:`_Problem.theta_scale`), where BFGS's unit initial Hessian and gradient tolerance mean
    the same whatever the units of the regressors."""
    from scipy.optimize import minimize

    n = float(prob.n)
    d = prob.theta_scale

    def negll(phi):
        v = prob.loglik(phi / d)
        return -v / n if np.isfinite(v) else np.inf

    def grad(phi):
        _, S, _, _ = prob.derivs(phi / d, hessian=False)
        g = -S.sum(axis=0) / (n * d)
        return g if np.all(np.isfinite(g)) else np.zeros_like(g)

    res = minimize(negll, theta * d, jac=grad, method="BFGS", options={"maxiter": 500, "gtol": 1e-8})
    return res.x / d if np.isfinite(res.fun) else theta


def _newton_step(g: np.ndarray, H: np.ndarray) -> np.ndarray:
    """Ascent step: the Newton step ``(-H)^-1 g`` where ``-H`` is positive definite (Cholesky is
    insensitive to the scaling of the parameters). Elsewhere a modified Newton step with the
    |eigenvalues| floored, computed in Jacobi-equilibrated coordinates ``D (-H) D`` with
    ``D = diag(|H_ii|^-1/2)``, and mapped back. The equilibration makes the step invariant to the
    units of the regressors: in raw units a regressor in yuan beside dummies spreads the
    eigenvalues over many orders of magnitude, and a floor relative to the largest one would
    freeze every other parameter."""
    A = -H
    try:
        c = linalg.cho_factor(A)
        return linalg.cho_solve(c, g)
    except linalg.LinAlgError:
        pass
    diag = np.abs(np.diag(A))
    pos = diag[diag > 0]
    # a coordinate with zero curvature keeps a unit scale relative to the others' typical one
    dfill = float(np.exp(np.mean(np.log(pos)))) if pos.size else 1.0
    D = 1.0 / np.sqrt(np.where(diag > 0, diag, dfill))
    As = A * np.outer(D, D)
    w, Q = np.linalg.eigh(0.5 * (As + As.T))
    floor = 1e-6 * max(1.0, np.abs(w).max())
    w = np.maximum(np.abs(w), floor)
    return D * (Q @ ((Q.T @ (D * g)) / w))


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------
def fit(
    data: pd.DataFrame,
    equations: Iterable[Equation],
    *,
    vce: str = "oim",
    cluster: str | None = None,
    fix_rho: Mapping | None = None,
    independent: bool = False,
    start: Mapping[str, float] | Sequence[float] | None = None,
    ghk_draws: int = 100,
    ghk_antithetic: bool = False,
    ghk_seed: int = 12345,
    maxiter: int = 100,
    tol: float = 1e-10,
) -> CMPResults:
    """Fit a recursive mixed-process system by full-information maximum likelihood.

    Parameters
    ----------
    data : DataFrame (not modified).
    equations : list of :class:`Equation`.
    vce : "oim" (inverse negative Hessian), "robust" (sandwich) or "cluster" (needs ``cluster``).
    cluster : column with cluster identifiers (implies ``vce="cluster"``).
    fix_rho : fix correlations, e.g. ``{(1, 2): 0.0}`` (1-based equation numbers),
        ``{("D", "Y"): 0.3}`` (equation names/dependents) or ``{"atanhrho_12": 0.0}`` / ``{"12": 0}``.
        Values are rho (not atanh rho).
    independent : fix every rho at 0 (sum of single-equation likelihoods).
    start : starting values (Series/dict by parameter name, or a full vector); default from
        single-equation OLS/probit fits with all rho = 0.
    ghk_draws : Halton draws per observation for the GHK simulator (three or more probit/oprobit
        dimensions in one observation); ``ghk_antithetic`` doubles them with 1-u copies;
        ``ghk_seed`` fixes the scrambling so the likelihood is deterministic and smooth.
    maxiter, tol : Newton–Raphson iteration limit and tolerance on ``g' (-H)^-1 g``.
    """
    vce = (vce or "oim").lower()
    if cluster is not None:
        vce = "cluster"
    if vce not in ("oim", "robust", "cluster"):
        raise EstimationError(f"cmp: vce must be 'oim', 'robust' or 'cluster', got {vce!r}")
    if vce == "cluster" and cluster is None:
        raise EstimationError("cmp: vce='cluster' needs cluster=<column>")
    if ghk_draws < 1:
        raise EstimationError("cmp: ghk_draws must be positive")
    equations = list(equations)
    prob = _Problem(
        data, equations, ghk_draws=int(ghk_draws), ghk_antithetic=ghk_antithetic,
        ghk_seed=int(ghk_seed), fix_rho=fix_rho, independent=independent,
    )
    clusters = None
    if vce == "cluster":
        if cluster not in data.columns:
            raise EstimationError(f"cmp: cluster column {cluster!r} not found in data")
        cl = data[cluster].to_numpy()[prob.rows]
        if pd.isna(cl).any():
            raise EstimationError(f"cmp: cluster column {cluster!r} has missing values")
        clusters = pd.factorize(cl)[0]

    theta0, ll_indep = _start_values(prob)
    names = prob.param_names()
    if start is not None:
        if isinstance(start, (Mapping, pd.Series)):
            s = dict(start)
            unknown = set(s) - set(names)
            if unknown:
                raise EstimationError(f"cmp: start refers to unknown parameter(s) {sorted(unknown)}")
            theta0 = np.array([s.get(n, v) for n, v in zip(names, theta0)], dtype=float)
        else:
            theta0 = np.asarray(start, dtype=float).ravel()
            if theta0.size != len(names):
                raise EstimationError(f"cmp: start has {theta0.size} values, the model has {len(names)}")
    if any(v != 0.0 for v in prob.fixed.values()):
        ll_indep = None  # the single-equation fits are the rho = 0 model only
    with np.errstate(all="ignore"):
        theta, llf, S, H, converged, iters = _newton(prob, theta0, int(maxiter), float(tol))
    if not converged:
        raise ConvergenceError(
            f"cmp: Newton-Raphson did not converge after {iters} iteration(s) "
            f"(log likelihood {llf:.6f}); check for perfect prediction, rho near +/-1 or poor scaling"
        )
    if not np.all(np.isfinite(theta)):
        raise ConvergenceError("cmp: parameters diverged")

    p = theta.size
    hessian_ok = True
    try:
        cf = linalg.cho_factor(-H)
        Hinv = linalg.cho_solve(cf, np.eye(p))
    except linalg.LinAlgError:
        hessian_ok = False
        Hinv = np.full((p, p), np.nan)
    n_clusters = None
    if vce == "oim":
        V = Hinv
    else:
        if vce == "robust":
            meat = S.T @ S * (prob.n / (prob.n - 1.0))
        else:
            G = int(clusters.max()) + 1
            n_clusters = G
            if G < 2:
                raise EstimationError("cmp: cluster-robust VCE needs at least two clusters")
            Sc = np.zeros((G, p))
            np.add.at(Sc, clusters, S)
            meat = Sc.T @ Sc * (G / (G - 1.0))
        V = Hinv @ meat @ Hinv
    V = 0.5 * (V + V.T)
    se = np.sqrt(np.where(np.diag(V) >= 0, np.diag(V), np.nan))
    params = pd.Series(theta, index=names, name="coef")
    bse = pd.Series(se, index=names, name="se")
    cov = pd.DataFrame(V, index=names, columns=names)

    # sig and rho with delta-method standard errors; fixed correlations are listed separately.
    betas, aux = prob.split(theta)
    sig_n, sig_v, sig_s, rho_n, rho_v, rho_s = [], [], [], [], [], []
    fixed_report = {}
    for a, kind in enumerate(prob.aux_kind):
        nm = prob.aux_names[a]
        if kind[0] == "lnsig":
            val = math.exp(aux[a])
            sig_n.append(nm.replace("lnsig", "sig"))
            sig_v.append(val)
            sig_s.append(val * bse[nm] if nm in bse.index else np.nan)
        elif kind[0] == "rho":
            val = math.tanh(aux[a])
            label = nm.replace("atanhrho", "rho")
            if a in prob.fixed:
                fixed_report[label] = val
                continue
            rho_n.append(label)
            rho_v.append(val)
            rho_s.append((1 - val * val) * bse[nm])
    return CMPResults(
        params=params,
        bse=bse,
        cov_params=cov,
        llf=float(llf),
        nobs=int(prob.n),
        converged=bool(converged),
        iterations=int(iters),
        sig=pd.Series(sig_v, index=sig_n, dtype=float, name="sig"),
        sig_se=pd.Series(sig_s, index=sig_n, dtype=float, name="se"),
        rho=pd.Series(rho_v, index=rho_n, dtype=float, name="rho"),
        rho_se=pd.Series(rho_s, index=rho_n, dtype=float, name="se"),
        equations=tuple(prob.equations),
        vce=vce,
        n_clusters=n_clusters,
        llf_independent=ll_indep,
        fixed_rho=fixed_report,
        ghk_draws=prob.ghk_draws,
        hessian_ok=hessian_ok,
        nobs_by_equation=prob.nobs_by_eq,
    )
