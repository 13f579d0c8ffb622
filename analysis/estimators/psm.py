"""Propensity-score matching with Stata ``psmatch2`` (4.0.12) semantics, plus ``pstest`` balance.

Entry points
------------
:func:`match`   -- estimate the ATT (and ATU/ATE on request) by nearest-neighbour, radius or
                   kernel matching on the propensity score; returns :class:`PSMResult`.
:func:`balance` -- Stata ``pstest``-style covariate balance before and after matching;
                   returns :class:`BalanceResult` (also attached to every PSMResult).

Semantics (psmatch2 4.0.12 unless stated)
-----------------------------------------
* Propensity score: probit by default (``link="logit"`` available), fitted on all rows; the
  fitted probability is matched on. A precomputed score can be passed with ``pscore="col"``.
* Matching is with replacement. ``common_support=True`` is psmatch2's ``common``: treated whose
  score is below the minimum or above the maximum control score are off support (bounds
  inclusive: a treated unit exactly at the control min/max stays on support); with
  ``estimand="ate"`` controls outside the treated range are dropped too.
* Nearest neighbour (``method="nearest"``, ``k`` neighbours): the ``k`` closest controls in
  absolute score difference. Without ``ties`` an exact distance tie between candidates is broken
  towards the lower score, then by position in the score-sorted control list (stable sort, so
  data order). ``caliper`` is strict: a neighbour is used only if ``|p_t - p_c| < caliper``;
  a treated unit with no neighbour inside the caliper goes off support. Each matched control
  gets weight ``1/M_i`` from treated ``i`` (``M_i`` = number of its matches).
* ``ties=True`` (R ``Matching::Match`` semantics; ``ties="matching"`` is the same): every
  control whose distance equals the ``k``-th smallest distance is used, all with equal weight
  ``1/M_i``. "Equal" is Sekhon's rule: a control is tied if its squared distance, in units of the
  score's standard deviation (ddof=1, over the on-support sample), is within
  ``distance.tolerance = 1e-5`` of the ``k``-th smallest (override with ``tie_tol``); this
  tolerance can also tie controls whose scores differ slightly. Sekhon's NSW numbers (ATT
  2624.2768, AI SE 802.1876) are ``ties=True, se="ai", link="logit", common_support=False``;
  with the default common support 4 treated units are off support.
* ``ties="exact"`` (Stata ``teffects psmatch`` semantics: teffects keeps every control tied
  with the ``k``-th nearest, but counts only exact ties): only distances equal within
  ``tie_tol`` (default 1e-12) times ``max(1, |p_t|)`` tie, i.e. floating-point noise only. It
  is not the same as ``ties=True``, which follows R Matching's tolerance.
* Radius (``method="radius"``, ``radius=r``, or ``caliper=r`` as in psmatch2): all controls with
  ``|p_t - p_c| <= r`` with equal weight (psmatch2's uniform kernel).
* Kernel (``method="kernel"``): weights ``K((p_c - p_t)/h)`` normalised to sum to one per
  treated unit. ``kernel="normal"`` is the untruncated Gaussian density (every control gets a
  positive weight); ``"epan"`` is psmatch2's Epanechnikov ``1 - (d/h)^2`` for ``|d| <= h``
  (the 3/4 constant cancels in the normalisation); ``"uniform"``, ``"biweight"``,
  ``"tricube"`` as psmatch2 defines them. Treated units with no positive kernel weight go off
  support. Note psmatch2's own default kernel is ``epan``; this function's default is
  ``"normal"`` with ``bandwidth=0.06`` (the CLDS paper's Table 4 setting).
* ``weights`` (psmatch2's ``_weight``): 1 for treated on support; for controls the sum over
  treated of the weights they received; NaN for unused/off-support units. With
  ``estimand="ate"`` the treated's ``_weight`` is their use as matches for controls.

Standard errors
---------------
``se="default"``: psmatch2's analytic approximation, treating the score as fixed::

    se(ATT) = sqrt( Var(y | treated on support) / N1
                    + Var(y | matched controls) * sum_j w_j^2 / N1^2 )

with ddof=1 variances, "matched controls" = controls with positive weight (psmatch2 4.0.12
uses ``_weight < .``). For the ATU/ATE (``estimand="ate"``) the analogous approximations of
psmatch2 4.1 are used (4.0.12 leaves them missing).

``se="ai"``: Abadie-Imbens (2006) standard errors for nearest-neighbour matching, exactly as
Sekhon's R ``Matching::Match`` computes them by default: ``Var.calc = 0`` (homoskedastic
conditional variance estimated from the matched pairs, sigma^2 = 0.5 * sum_i sum_{j in J(i)}
(y_i - y_j - tau)^2 / M_i / N1) and the population (marginal) variance
``[sigma^2 * sum_j (K_j^2 - KK_j) + sum_i (tau_i - tau)^2] / N1^2`` (``K_j = sum_i 1/M_i``,
``KK_j = sum_i 1/M_i^2`` over the treated that use control ``j``). The score is treated as known.

``se="bootstrap"`` (radius and kernel): the whole procedure -- propensity fit, common support,
matching -- is re-run on ``n_boot`` resamples of the rows (seeded with ``seed``; replicate ``b``
uses ``SeedSequence(seed).spawn(n_boot)[b]`` so the result does not depend on ``n_jobs``), in
parallel with ``concurrent.futures`` processes when ``n_jobs > 1``. The SE is the standard
deviation (ddof=1) of the replicate estimates.

Speed
-----
Nothing loops over treated x controls in Python. Controls are sorted once; nearest neighbours
come from ``searchsorted`` plus a k-step two-pointer expansion; every match set is a contiguous
window of the sorted controls, expanded to (treated, control) pairs in bounded chunks and summed
with ``bincount``. The untruncated normal kernel, whose weight matrix is dense, is computed
either directly in blocks (``kernel_method="direct"``) or -- the default for large problems --
by a box-wise Taylor (fast-Gauss-transform style) factorisation that turns each block of the
kernel matrix into a product of two rank-14 matrices evaluated with BLAS; the truncation error is
below 1e-19 relative *per kernel entry* (see :func:`_normal_kernel_fgt`), i.e. at the level of
double-precision rounding of the direct computation, which the tests check (against the direct
computation and an 80-bit extended-precision evaluation). ``kernel_method="auto"`` uses the
expansion when n_treated x n_controls > 1e6. Its cost grows with the number of score boxes
(score range / bandwidth): 50,000 x 50,000 at bandwidth 0.06 takes about 0.1 s; at bandwidth
0.001 a few seconds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .errors import EstimationError
from .common import KERNELS, bootstrap_replicates, check_binary, check_columns
from .propensity import PropensityModel, fit_propensity, pscore_from_arrays
from .results import EstimationResults, Summary, coef_table

__all__ = ["match", "balance", "PSMResult", "BalanceResult", "MatchSide", "match_side"]

_KERNELS = KERNELS  # old private name
_MAX_PAIRS = 1 << 21  # pairs per chunk when expanding match windows (bounded memory)
_EPS = np.finfo(float).eps


# ---------------------------------------------------------------------------------------------
# Windows of the sorted control scores
# ---------------------------------------------------------------------------------------------
def _exact_window(a: np.ndarray, b: np.ndarray, thr: np.ndarray | float, strict: bool) -> tuple[np.ndarray, np.ndarray]:
    """Index range [lo, hi) of sorted ``b`` with ``|a - b| <= thr`` (``< thr`` if strict).

    The comparison is made on the floating-point value ``abs(a - b)``, exactly as Stata
    evaluates ``abs(dif) <= bw``; that set is contiguous in sorted ``b`` because rounded
    subtraction is monotone. ``searchsorted`` on ``a -/+ thr`` with a little slack gives a
    superset, which is then trimmed (jumping over runs of equal values) until both ends pass.
    """
    a = np.asarray(a, dtype=float)
    thr = np.broadcast_to(np.asarray(thr, dtype=float), a.shape)
    slack = 8 * _EPS * (np.abs(a) + thr) + 1e-300
    lo = np.searchsorted(b, a - thr - slack, side="left")
    hi = np.searchsorted(b, a + thr + slack, side="right")

    def inside(j: np.ndarray, rows: np.ndarray) -> np.ndarray:
        d = np.abs(a[rows] - b[j])
        return d < thr[rows] if strict else d <= thr[rows]

    rows = np.nonzero(lo < hi)[0]
    while rows.size:
        bad = ~inside(lo[rows], rows)
        rows = rows[bad]
        if not rows.size:
            break
        lo[rows] = np.searchsorted(b, b[lo[rows]], side="right")
        rows = rows[lo[rows] < hi[rows]]
    rows = np.nonzero(lo < hi)[0]
    while rows.size:
        bad = ~inside(hi[rows] - 1, rows)
        rows = rows[bad]
        if not rows.size:
            break
        hi[rows] = np.searchsorted(b, b[hi[rows] - 1], side="left")
        rows = rows[lo[rows] < hi[rows]]
    hi = np.maximum(hi, lo)
    return lo, hi


def _nn_window(a: np.ndarray, b: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest elements of sorted ``b`` to each ``a`` as a window [lo, hi).

    In one dimension the k nearest neighbours are contiguous in sorted order. Starting from the
    insertion point, each of k steps takes the closer of the next left/right candidate (the left,
    i.e. lower score, on an exact tie), all treated units at once.
    """
    n = b.size
    k = min(k, n)
    pos = np.searchsorted(b, a, side="left")
    left = pos - 1
    right = pos.copy()
    for _ in range(k):
        dl = np.where(left >= 0, np.abs(a - b[np.clip(left, 0, n - 1)]), np.inf)
        dr = np.where(right < n, np.abs(a - b[np.clip(right, 0, n - 1)]), np.inf)
        take_left = dl <= dr
        left = np.where(take_left, left - 1, left)
        right = np.where(take_left, right, right + 1)
    return left + 1, right


def _range_pairs(lo: np.ndarray, hi: np.ndarray, max_pairs: int = _MAX_PAIRS) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Yield (row0, rows, cols) chunks expanding windows [lo_i, hi_i) into index pairs.

    ``rows`` are row numbers relative to ``row0``; each chunk holds complete rows, at most
    ``max_pairs`` pairs unless a single row is longer.
    """
    counts = (hi - lo).astype(np.int64)
    n = counts.size
    csum = np.concatenate([[0], np.cumsum(counts)])
    r0 = 0
    while r0 < n:
        r1 = int(np.searchsorted(csum, csum[r0] + max_pairs, side="right")) - 1
        r1 = min(max(r1, r0 + 1), n)
        c = counts[r0:r1]
        total = int(c.sum())
        if total:
            rows = np.repeat(np.arange(r1 - r0), c)
            starts = csum[r0:r1] - csum[r0]
            cols = np.repeat(lo[r0:r1], c) + (np.arange(total) - np.repeat(starts, c))
            yield r0, rows, cols
        r0 = r1


# ---------------------------------------------------------------------------------------------
# Kernels
# ---------------------------------------------------------------------------------------------
def _kernel_values(kernel: str, d: np.ndarray, h: float) -> np.ndarray:
    """psmatch2's kernel weights for differences ``d`` (already restricted to |d| <= h where compact)."""
    u = d / h
    if kernel == "epan":
        return 1.0 - u * u
    if kernel == "uniform":
        return np.ones_like(u)
    if kernel == "biweight":
        return (1.0 - u * u) ** 2
    if kernel == "tricube":
        return (1.0 - np.abs(u) ** 3) ** 3
    if kernel == "normal":
        return np.exp(-0.5 * u * u)  # normalden without 1/sqrt(2 pi): cancels in normalisation
    raise EstimationError(f"unknown kernel {kernel!r}; choose one of {', '.join(KERNELS)}")


def _normal_kernel_direct(a, b, yb, h, block_elems=1 << 20):
    """S_i, sum_j K_ij y_j and W_j = sum_i K_ij / S_i for the Gaussian kernel, by dense blocks."""
    nt, nc = a.size, b.size
    S = np.empty(nt)
    N = np.empty(nt)
    W = np.zeros(nc)
    step = max(1, block_elems // max(nc, 1))
    Y2 = np.column_stack([np.ones(nc), yb])
    for s in range(0, nt, step):
        u = (a[s : s + step, None] - b[None, :]) / h
        u *= u
        u *= -0.5
        np.exp(u, out=u)
        SN = u @ Y2  # BLAS: kernel sums and kernel-weighted outcome sums for the whole block
        S[s : s + step] = SN[:, 0]
        N[s : s + step] = SN[:, 1]
        with np.errstate(divide="ignore"):
            inv = np.where(SN[:, 0] > 0, 1.0 / SN[:, 0], 0.0)
        W += inv @ u
    return S, N, W


def _fgt_order(r: float, target: float = 2.0**-60) -> int:
    """Smallest p with r^(2p)/p! * e^(2 r^2) < target (Taylor truncation bound, see below)."""
    p = 1
    while r ** (2 * p) / math.factorial(p) * math.exp(2 * r * r) >= target:
        p += 1
    return p


def _normal_kernel_fgt(a, b, yb, h, r=0.5):
    """Same output as :func:`_normal_kernel_direct`, exact to double precision, in O(n) BLAS work.

    Scale by h (x = a/h, y = b/h) and cut both axes into boxes of half-width r (scaled units).
    For a treated box with centre c_T and a control box with centre c_C, write delta = c_T - c_C,
    alpha = x - c_T, beta = y - c_C (|alpha|, |beta| <= r). Then exactly

        exp(-(x-y)^2/2) = exp(e_U(alpha)) * exp(e_V(beta)) * exp(alpha*beta),
        e_U = -delta^2/4 - delta*alpha - alpha^2/2,   e_V = -delta^2/4 + delta*beta - beta^2/2,

    and exp(alpha*beta) = sum_{n<p} alpha^n beta^n / n! + R with
    |R| <= (r^2)^p/p! * e^(r^2) <= [r^(2p)/p! * e^(2r^2)] * exp(alpha*beta), so every kernel entry
    carries a relative truncation error below that bracket (< 2^-60 for the chosen p; p=14 at
    r=0.5). The block of the kernel matrix is thus U V^T with U = exp(e_U) alpha^n/sqrt(n!),
    V = exp(e_V) beta^n/sqrt(n!), and the sums we need are matrix products. Splitting
    -delta^2/2 evenly between U and V keeps both factors inside double range whenever the
    entries themselves are (exponents above about -700); sign cancellation in the series is
    bounded by e^(2 r^2) = 1.65. Block pairs whose entries would all underflow to exactly 0 in the
    direct computation are skipped; pairs touching the subnormal range are computed directly so
    the result (including exact zeros) matches the direct computation.
    """
    nt, nc = a.size, b.size
    p = _fgt_order(r)
    x = a / h
    y = b / h
    width = 2.0 * r
    origin = min(x.min(), y.min())
    bx = np.floor((x - origin) / width).astype(np.int64)
    by = np.floor((y - origin) / width).astype(np.int64)
    order_t = np.argsort(bx, kind="stable")
    xs, bxs = x[order_t], bx[order_t]
    # controls are sorted by score already (caller guarantees), hence by box
    t_ids, t_start = np.unique(bxs, return_index=True)
    t_end = np.append(t_start[1:], nt)
    c_ids, c_start = np.unique(by, return_index=True)
    c_end = np.append(c_start[1:], nc)
    fact = np.sqrt(np.array([math.factorial(n) for n in range(p)], dtype=float))
    powers = np.arange(p)

    def basis(v, centre):
        d = v - centre
        return d, d[:, None] ** powers / fact

    tb = []
    for bid, s, e in zip(t_ids, t_start, t_end):
        centre = origin + (bid + 0.5) * width
        al, A = basis(xs[s:e], centre)
        tb.append((centre, s, e, al, A))
    cb = []
    for bid, s, e in zip(c_ids, c_start, c_end):
        centre = origin + (bid + 0.5) * width
        be, B = basis(y[s:e], centre)
        cb.append((centre, s, e, be, B, np.column_stack([np.ones(e - s), yb[s:e]])))

    UNDER_ALL = 745.2  # exp(-z) == 0.0 exactly in double for z > ~745.13
    SUBNORMAL = 700.0
    S = np.zeros(nt)
    N = np.zeros(nt)
    plan = []
    c_centres = np.array([c[0] for c in cb])
    reach = math.sqrt(2 * UNDER_ALL) + 2 * r + 1.0  # boxes farther apart contribute exact zeros
    for ti, (ct, ts, te, al, A) in enumerate(tb):
        c0 = int(np.searchsorted(c_centres, ct - reach, side="left"))
        c1 = int(np.searchsorted(c_centres, ct + reach, side="right"))
        for ci in range(c0, c1):
            cc, cs, ce, be, B, Y2 = cb[ci]
            delta = ct - cc
            near = max(0.0, abs(delta) - 2 * r - 1e-9)
            far = abs(delta) + 2 * r + 1e-9
            if 0.5 * near * near > UNDER_ALL:
                continue  # every entry is exactly 0 in double precision
            direct = 0.5 * far * far > SUBNORMAL
            plan.append((ti, ci, direct))
            if direct:
                u = (xs[ts:te, None] - y[None, cs:ce])
                K = np.exp(-0.5 * u * u)
                SN = K @ Y2
            else:
                U = np.exp(-0.25 * delta * delta - delta * al - 0.5 * al * al)[:, None] * A
                V = np.exp(-0.25 * delta * delta + delta * be - 0.5 * be * be)[:, None] * B
                SN = U @ (V.T @ Y2)
            S[ts:te] += SN[:, 0]
            N[ts:te] += SN[:, 1]
    with np.errstate(divide="ignore"):
        invS = np.where(S > 0, 1.0 / S, 0.0)
    W = np.zeros(nc)
    for ti, ci, direct in plan:
        ct, ts, te, al, A = tb[ti]
        cc, cs, ce, be, B, _ = cb[ci]
        delta = ct - cc
        if direct:
            u = (xs[ts:te, None] - y[None, cs:ce])
            W[cs:ce] += invS[ts:te] @ np.exp(-0.5 * u * u)
        else:
            U = np.exp(-0.25 * delta * delta - delta * al - 0.5 * al * al)[:, None] * A
            V = np.exp(-0.25 * delta * delta + delta * be - 0.5 * be * be)[:, None] * B
            W[cs:ce] += V @ (U.T @ invS[ts:te])
    # back to the caller's treated order
    S_out = np.empty(nt)
    N_out = np.empty(nt)
    S_out[order_t] = S
    N_out[order_t] = N
    return S_out, N_out, W


# ---------------------------------------------------------------------------------------------
# One matching direction: "treated" a (rows to be matched) against sorted pool b
# ---------------------------------------------------------------------------------------------
@dataclass
class MatchSide:
    """Result of matching one group (a) against a sorted pool (b)."""

    matched: np.ndarray  # bool per a: has at least one match / positive kernel weight
    m: np.ndarray  # weighted mean outcome of the matches, per a (NaN if unmatched)
    W: np.ndarray  # per pool member: sum of weights received (psmatch2 _weight)
    KK: np.ndarray | None = None  # per pool member: sum of squared weights (AI variance)
    nmatch: np.ndarray | None = None  # per a: number of matches (nearest neighbour)
    lo: np.ndarray | None = None
    hi: np.ndarray | None = None


def match_side(a, b, yb, cfg: dict, score_sd: float) -> MatchSide:
    """Match each score in ``a`` to the pool ``b`` (outcomes ``yb``) by ``cfg["method"]``
    (nearest / radius / kernel, with psmatch2's options in ``cfg``); the matching engine shared
    with kernel PSM-DID (:func:`.did.psm_did`)."""
    method = cfg["method"]
    na, nb = a.size, b.size
    if method == "nearest":
        lo, hi = _nn_window(a, b, cfg["k"])
        ties = cfg["ties"]
        if ties:
            dk = np.maximum(np.abs(a - b[lo]), np.abs(a - b[hi - 1]))
            if ties in (True, "matching"):
                tol = 1e-5 if cfg["tie_tol"] is None else cfg["tie_tol"]
                thr = np.sqrt(dk * dk + tol * score_sd * score_sd)
            else:
                tol = 1e-12 if cfg["tie_tol"] is None else cfg["tie_tol"]
                thr = dk + tol * np.maximum(1.0, np.abs(a))
            lo, hi = _exact_window(a, b, thr, strict=False)
        if cfg["caliper"] is not None:
            clo, chi = _exact_window(a, b, cfg["caliper"], strict=True)
            lo, hi = np.maximum(lo, clo), np.minimum(hi, chi)
            hi = np.maximum(hi, lo)
        n = hi - lo
        matched = n > 0
        m = np.full(na, np.nan)
        sums = np.zeros(na)
        W = np.zeros(nb)
        KK = np.zeros(nb)
        with np.errstate(divide="ignore"):
            w_row = np.where(matched, 1.0 / np.maximum(n, 1), 0.0)
        for r0, rows, cols in _range_pairs(lo, hi):
            gr = rows + r0
            sums += np.bincount(gr, weights=yb[cols], minlength=na)
            W += np.bincount(cols, weights=w_row[gr], minlength=nb)
            KK += np.bincount(cols, weights=w_row[gr] ** 2, minlength=nb)
        m[matched] = sums[matched] / n[matched]
        return MatchSide(matched, m, W, KK, n, lo, hi)

    kernel = cfg["kernel"]
    h = cfg["bandwidth"]
    if kernel == "normal":
        use_fgt = cfg["kernel_method"] == "fgt" or (cfg["kernel_method"] == "auto" and na * nb > 1_000_000)
        S, N, W = (_normal_kernel_fgt if use_fgt else _normal_kernel_direct)(a, b, yb, h)
        matched = S > 0
        m = np.full(na, np.nan)
        m[matched] = N[matched] / S[matched]
        return MatchSide(matched, m, W)
    # compact kernels: only controls with |d| <= h carry weight
    lo, hi = _exact_window(a, b, h, strict=False)
    S = np.zeros(na)
    N = np.zeros(na)
    W = np.zeros(nb)
    for r0, rows, cols in _range_pairs(lo, hi):
        gr = rows + r0
        kv = _kernel_values(kernel, a[gr] - b[cols], h)
        s = np.bincount(rows, weights=kv, minlength=int(rows[-1]) + 1)
        S[r0 : r0 + s.size] = s
        N[r0 : r0 + s.size] = np.bincount(rows, weights=kv * yb[cols], minlength=s.size)
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = np.where(s > 0, 1.0 / s, 0.0)
        W += np.bincount(cols, weights=kv * inv[rows], minlength=nb)
    matched = S > 0
    m = np.full(na, np.nan)
    m[matched] = N[matched] / S[matched]
    return MatchSide(matched, m, W, lo=lo, hi=hi)


# ---------------------------------------------------------------------------------------------
# Core estimator on arrays
# ---------------------------------------------------------------------------------------------
_Side, _match_side = MatchSide, match_side  # old private names


def _core(y: np.ndarray, t: np.ndarray, p: np.ndarray, cfg: dict) -> dict:
    """ATT (and ATU/ATE) from outcome, treatment and score arrays. Raises EstimationError."""
    n = y.size
    treated = t == 1
    support = np.ones(n, dtype=bool)
    if cfg["common_support"]:
        pc, pt = p[~treated], p[treated]
        support[treated] = (p[treated] >= pc.min()) & (p[treated] <= pc.max())
        if cfg["estimand"] == "ate":
            support[~treated] = (p[~treated] >= pt.min()) & (p[~treated] <= pt.max())
    it = np.nonzero(treated & support)[0]
    ic = np.nonzero(~treated & support)[0]
    if it.size == 0:
        raise EstimationError("no common support: every treated unit lies outside the range of control propensity scores")
    if ic.size == 0:
        raise EstimationError("no common support: no control unit lies inside the range of treated propensity scores")
    score_sd = float(np.std(p[support], ddof=1)) if support.sum() > 1 else 0.0

    oc = ic[np.argsort(p[ic], kind="stable")]  # controls sorted by score, ties in data order
    side_t = match_side(p[it], p[oc], y[oc], cfg, score_sd)
    if not side_t.matched.any():
        raise EstimationError(
            "no treated unit has a match (caliper/radius/bandwidth too small or no overlap)"
        )
    support[it[~side_t.matched]] = False
    it_m = it[side_t.matched]
    y1 = y[it_m]
    m0 = side_t.m[side_t.matched]
    att = float(np.mean(y1 - m0))
    N1 = it_m.size

    weight = np.full(n, np.nan)
    Wc = np.zeros(n)
    Wc[oc] = side_t.W
    out = {"att": att, "n_treated": N1, "support": support, "side_t": side_t, "it": it, "oc": oc}

    side_c = None
    if cfg["estimand"] == "ate":
        # psmatch2 matches the controls against every treated unit on common support (also
        # those that later found no neighbour within the caliper)
        ot = it[np.argsort(p[it], kind="stable")]
        side_c = match_side(p[oc], p[ot], y[ot], cfg, score_sd)
        support[oc[~side_c.matched]] = False
        ic_m = oc[side_c.matched]
        atu = float(np.mean(side_c.m[side_c.matched] - y[ic_m]))
        N0 = ic_m.size
        ate = (N1 * att + N0 * atu) / (N1 + N0)
        Wt = np.zeros(n)
        Wt[ot] = side_c.W
        out.update(atu=atu, ate=float(ate), n_controls_ate=N0, side_c=side_c, ot=ot, Wt=Wt)
        weight[ot] = Wt[ot]
    else:
        weight[it_m] = 1.0
    weight[oc] = Wc[oc]
    weight[(weight == 0) | ~support] = np.nan
    out["weight"] = weight
    out["Wc"] = Wc
    return out


def _se_default(y, t, core, estimand):
    """psmatch2's approximate analytic SEs (score treated as fixed)."""
    support = core["support"]
    treated = t == 1
    w = core["weight"]
    y1 = y[treated & support]
    N1 = y1.size
    var1 = np.var(y1, ddof=1) if N1 > 1 else np.nan
    Wc = core["Wc"]
    ctrl_used = (~treated) & (Wc > 0) & support
    var0 = np.var(y[ctrl_used], ddof=1) if ctrl_used.sum() > 1 else 0.0
    wtot = float(np.sum(Wc[~treated] ** 2))
    se_att = math.sqrt(var1 / N1 + var0 * wtot / N1**2)
    se_atu = se_ate = None
    if estimand == "ate":
        # psmatch2 4.1 approximations for ATU/ATE (4.0.12 reports them as missing)
        Wt = core["Wt"]
        y0 = y[~treated & support]
        N0 = y0.size
        var0s = np.var(y0, ddof=1)
        wt2 = float(np.sum(Wt[treated & support] ** 2))
        se_atu = math.sqrt(var0s / N0 + var1 * wt2 / N0**2)
        a_t = float(np.sum((1 + Wt[treated & support]) ** 2))
        a_c = float(np.sum((1 + Wc[~treated & support]) ** 2))
        se_ate = math.sqrt((var1 * a_t + var0s * a_c) / (N0 + N1) ** 2)
    return se_att, se_atu, se_ate


def _ai_direction(y_a, side: MatchSide, y_pool, tau, sign):
    """Pieces of Matching's Var.calc=0 variance for one matching direction.

    ``sign=+1`` when the matched units are treated (unit effect y_a - mean match), ``-1`` when
    they are controls (mean match - y_a). Returns (sum_i (1/M_i) sum_{j in J(i)} eps_ij^2,
    sum_i (tau_i - tau)^2, number of matched units), eps_ij = sign*(y_i - y_j) - tau.
    """
    rows_m = np.nonzero(side.matched)[0]
    lo, hi = side.lo[rows_m], side.hi[rows_m]
    n = (hi - lo).astype(float)
    ya = y_a[rows_m]
    eps2 = 0.0
    for r0, rows, cols in _range_pairs(lo, hi):
        gr = rows + r0
        e = sign * (ya[gr] - y_pool[cols]) - tau
        eps2 += float(np.sum(e * e / n[gr]))
    tau_i = sign * (ya - side.m[rows_m])
    return eps2, float(np.sum((tau_i - tau) ** 2)), rows_m.size


def _se_ai(y, t, core, estimand):
    """Abadie-Imbens SE as R Matching::Match (Var.calc=0, population variance)."""
    it, oc = core["it"], core["oc"]
    st = core["side_t"]
    att = core["att"]
    eps2_t, dv_t, N1 = _ai_direction(y[it], st, y[oc], att, +1)
    sig2_t = 0.5 * eps2_t / N1
    var_att = (sig2_t * float(np.sum(st.W**2 - st.KK)) + dv_t) / N1**2
    se_att = math.sqrt(var_att)
    se_atu = se_ate = None
    if estimand == "ate":
        sc = core["side_c"]
        ot = core["ot"]
        atu, ate = core["atu"], core["ate"]
        # ATU: the ATT formula with the roles of the groups swapped (Matching's estimand="ATC")
        eps2_c, dv_c, N0 = _ai_direction(y[oc], sc, y[ot], atu, -1)
        sig2_c = 0.5 * eps2_c / N0
        se_atu = math.sqrt((sig2_c * float(np.sum(sc.W**2 - sc.KK)) + dv_c) / N0**2)
        # ATE (Matching All=1): one pooled sigma^2 over all pairs, K counts over both groups
        e_t, dvt, _ = _ai_direction(y[it], st, y[oc], ate, +1)
        e_c, dvc, _ = _ai_direction(y[oc], sc, y[ot], ate, -1)
        Ntot = N1 + N0
        sig2 = 0.5 * (e_t + e_c) / Ntot
        Kall = np.concatenate([st.W, sc.W])
        KKall = np.concatenate([st.KK, sc.KK])
        var_ate = (sig2 * float(np.sum(Kall**2 + 2 * Kall - KKall)) + dvt + dvc) / Ntot**2
        se_ate = math.sqrt(var_ate)
    return se_att, se_atu, se_ate


# ---------------------------------------------------------------------------------------------
# Bootstrap (module-level so worker processes can pickle it)
# ---------------------------------------------------------------------------------------------
def _estimate_arrays(y, t, X, p_given, cfg):
    """Full procedure on arrays (fit the score unless given, then match); returns (att, atu, ate)."""
    p = pscore_from_arrays(X, t, cfg["link"], given=p_given)
    core = _core(y, t, p, cfg)
    return core["att"], core.get("atu"), core.get("ate")


def _boot_worker(args):
    y, t, X, p_given, cfg, seeds = args
    out = []
    n = y.size
    for ss in seeds:
        rng = np.random.default_rng(ss)
        idx = rng.integers(0, n, n)
        try:
            ti = t[idx]
            if ti.min() == ti.max():
                raise EstimationError("resample has a single treatment class")
            out.append(_estimate_arrays(y[idx], ti, None if X is None else X[idx], None if p_given is None else p_given[idx], cfg))
        except EstimationError:
            out.append(None)
    return out


def _bootstrap(y, t, X, p_given, cfg, n_boot, seed, n_jobs):
    return bootstrap_replicates(_boot_worker, (y, t, X, p_given, cfg), n_boot, seed, n_jobs)


# ---------------------------------------------------------------------------------------------
# Balance (pstest)
# ---------------------------------------------------------------------------------------------
def _wmean_var(x, w):
    """Stata ``summarize [iweight]`` mean and variance: sum w (x-m)^2 / (sum w - 1)."""
    sw = w.sum()
    m = float(np.sum(w * x) / sw)
    v = float(np.sum(w * (x - m) ** 2) / (sw - 1)) if sw > 1 else np.nan
    return m, v


def _ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, undefined (NaN) when the denominator is 0 or not finite: a
    variance ratio of a covariate that is constant among the (matched) controls has no value."""
    if not np.isfinite(denominator) or denominator == 0:
        return np.nan
    return numerator / denominator


def _wls_t(x, d, w):
    """t statistic and p of the slope in Stata ``regress x d [iweight=w]`` (df = sum w - 2)."""
    sw = w.sum()
    md = np.sum(w * d) / sw
    mx = np.sum(w * x) / sw
    sdd = np.sum(w * (d - md) ** 2)
    b = np.sum(w * (d - md) * (x - mx)) / sdd
    e = x - mx - b * (d - md)
    df = sw - 2
    s2 = np.sum(w * e * e) / df
    se = math.sqrt(s2 / sdd)
    if se == 0:
        return (0.0, 1.0) if b == 0 else (np.inf * np.sign(b), 0.0)
    tval = b / se
    return float(tval), float(2 * stats.t.sf(abs(tval), df))


@dataclass
class BalanceResult:
    """Stata ``pstest`` balance statistics (before = unmatched, after = matched).

    ``table`` has one row per covariate with columns mean_treated_u, mean_control_u,
    mean_treated_m, mean_control_m, bias_u, bias_m (standardised % bias; the *unmatched*
    variances in the denominator in both), reduction (% reduction in |bias|), t_u, p_u, t_m,
    p_m (t-tests: OLS of x on treatment before; regression weighted by the matching weights on
    the on-support sample after), var_ratio_u / var_ratio_m (V(T)/V(C), continuous covariates
    only). ``overall`` holds pseudo-R2, LR chi2 and p of a probit of treatment on the covariates
    (always probit, as pstest; after matching re-fitted with the matching weights on the matched
    sample), mean and median |bias|, Rubin's B (standardised difference of the probit linear
    index, signed as pstest prints it) and Rubin's R (variance ratio of the index).
    """

    table: pd.DataFrame
    overall: pd.DataFrame
    n_treated: int
    n_controls_matched: int
    warnings: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def table3(self) -> pd.DataFrame:
        """Long layout of the CLDS paper's Table 3: Unmatched/Matched rows per variable."""
        rows = []
        idx = []
        for v, r in self.table.iterrows():
            idx.append(f"{v} U")
            rows.append([r.mean_treated_u, r.mean_control_u, r.bias_u, np.nan, r.t_u, r.p_u])
            idx.append(f"{v} M")
            rows.append([r.mean_treated_m, r.mean_control_m, r.bias_m, r.reduction, r.t_m, r.p_m])
        out = pd.DataFrame(rows, index=pd.Index(idx, name="Variable"),
                           columns=["Treated", "Control", "%bias", "%reduct |bias|", "t", "p>|t|"])
        return out

    def summary(self) -> Summary:
        facts = {
            "Treated (on support)": self.n_treated,
            "Matched controls": self.n_controls_matched,
        }
        return Summary("Covariate balance (pstest)", facts,
                       {"": self.table3(), "Overall": self.overall}, self.warnings)


def balance(
    data: pd.DataFrame,
    treatment: str,
    covariates: Sequence[str],
    weights: pd.Series | np.ndarray,
    support: pd.Series | np.ndarray | None = None,
) -> BalanceResult:
    """Stata ``pstest`` (``both``) for ``covariates`` given psmatch2-style matching ``weights``.

    ``weights``: psmatch2's ``_weight`` (NaN or 0 for unused controls; treated values are
    replaced by the support indicator, as pstest does). ``support``: boolean per row (default:
    every treated with a finite weight and every control is on support). "Before" statistics use
    every row; "after" statistics use on-support treated (weight 1) and controls with positive
    weight, weighted as Stata ``iweight``.
    """
    covariates = list(covariates)
    check_columns(data, [treatment, *covariates])
    t = check_binary(data[treatment], treatment)
    w = np.asarray(weights, dtype=float).copy()
    if w.shape != (len(data),):
        raise EstimationError("weights must have one entry per row of data")
    if support is None:
        sup = np.where(t == 1, np.isfinite(w) & (w > 0), True)
    else:
        sup = np.asarray(support, dtype=bool)
    w[t == 1] = sup[t == 1].astype(float)  # pstest: mweight = support for the treated
    w = np.where(np.isfinite(w), w, 0.0)
    after = sup & (w > 0)
    if not np.any(after & (t == 1)) or not np.any(after & (t == 0)):
        raise EstimationError("balance: the matched sample has no treated or no matched controls")
    X = data[covariates].to_numpy(dtype=float)
    n1m = int(np.sum(after & (t == 1)))
    f_lo_u, f_hi_u = stats.f.ppf([0.025, 0.975], int(t.sum()) - 1, int(t.sum()) - 1)
    f_lo_m, f_hi_m = stats.f.ppf([0.025, 0.975], n1m - 1, n1m - 1)
    rows = []
    wa = w[after]
    ta = t[after]
    cont_u = cont_m = n_cont = 0
    for j, v in enumerate(covariates):
        x = X[:, j]
        x1, x0 = x[t == 1], x[t == 0]
        m1u, m0u = x1.mean(), x0.mean()
        v1u, v0u = x1.var(ddof=1), x0.var(ddof=1)
        xa = x[after]
        m1m, v1m = _wmean_var(xa[ta == 1], wa[ta == 1])
        m0m, v0m = _wmean_var(xa[ta == 0], wa[ta == 0])
        denom = math.sqrt((v1u + v0u) / 2)
        bias_u = 100 * (m1u - m0u) / denom if denom > 0 else np.nan
        bias_m = 100 * (m1m - m0m) / denom if denom > 0 else np.nan
        reduct = -100 * (abs(bias_m) - abs(bias_u)) / abs(bias_u) if bias_u not in (0.0,) and np.isfinite(bias_u) else np.nan
        t_u, p_u = _wls_t(x, t, np.ones_like(x))
        t_m, p_m = _wls_t(xa, ta, wa)
        binary = np.all(np.isin(x, (0.0, 1.0)))
        vr_u = vr_m = np.nan
        if not binary:
            n_cont += 1
            vr_u, vr_m = _ratio(v1u, v0u), _ratio(v1m, v0m)
            cont_u += bool(np.isfinite(vr_u)) and not (f_lo_u <= vr_u <= f_hi_u)
            cont_m += bool(np.isfinite(vr_m)) and not (f_lo_m <= vr_m <= f_hi_m)
        rows.append([m1u, m0u, m1m, m0m, bias_u, bias_m, reduct, t_u, p_u, t_m, p_m, vr_u, vr_m])
    table = pd.DataFrame(rows, index=pd.Index(covariates, name="variable"), columns=[
        "mean_treated_u", "mean_control_u", "mean_treated_m", "mean_control_m", "bias_u", "bias_m",
        "reduction", "t_u", "p_u", "t_m", "p_m", "var_ratio_u", "var_ratio_m"])

    # Overall: probit before (all rows) and after (matched sample, iweights)
    notes: list[str] = []
    pm_u = fit_propensity(data, treatment, covariates, link="probit", check_separation=False)
    w_fit = np.where(after, w, 0.0)
    pm_m = fit_propensity(data, treatment, covariates, link="probit", weights=w_fit, check_separation=False)

    def rubin(xb, t_, w_):
        m1, v1 = _wmean_var(xb[t_ == 1], w_[t_ == 1])
        m0, v0 = _wmean_var(xb[t_ == 0], w_[t_ == 0])
        pooled = (v1 + v0) / 2
        return _ratio(100 * (m1 - m0), math.sqrt(pooled) if pooled > 0 else 0.0), _ratio(v1, v0)

    xb_u = pm_u.xb.to_numpy()
    B_u, R_u = rubin(xb_u, t, np.ones_like(xb_u))
    # linear index of the matched-sample probit for the matched rows (positional, so duplicate
    # index labels in ``data`` are harmless)
    xb_m = X[after][:, [covariates.index(c) for c in pm_m.covariates]] @ pm_m.params[pm_m.covariates].to_numpy() + pm_m.params["_cons"]
    B_m, R_m = rubin(xb_m, ta, wa)
    absb_u, absb_m = table["bias_u"].abs(), table["bias_m"].abs()
    overall = pd.DataFrame(
        {
            "pseudo_r2": [pm_u.pseudo_r2, pm_m.pseudo_r2],
            "lr_chi2": [pm_u.lr_chi2, pm_m.lr_chi2],
            "p_chi2": [pm_u.lr_pvalue, pm_m.lr_pvalue],
            "mean_bias": [absb_u.mean(), absb_m.mean()],
            "median_bias": [absb_u.median(), absb_m.median()],
            "B": [B_u, B_m],
            "R": [R_u, R_m],
            "pct_var": [100 * cont_u / n_cont if n_cont else np.nan, 100 * cont_m / n_cont if n_cont else np.nan],
        },
        index=pd.Index(["Unmatched", "Matched"], name="sample"),
    )
    for sample, col in (("unmatched", "var_ratio_u"), ("matched", "var_ratio_m")):
        continuous = ~table.index.isin([c for c in covariates if np.all(np.isin(X[:, covariates.index(c)], (0.0, 1.0)))])
        undefined = table.index[continuous & ~np.isfinite(table[col].to_numpy())]
        if len(undefined):
            notes.append(f"variance ratio undefined ({sample} sample) for {', '.join(map(str, undefined))}: "
                         "no variance among the controls")
    for name, value in (("unmatched", R_u), ("matched", R_m)):
        if not np.isfinite(value):
            notes.append(f"Rubin's R undefined ({name} sample): the controls' propensity index has no variance")
    notes += pm_u.warnings + pm_m.warnings
    return BalanceResult(table, overall, n1m, int(np.sum(after & (t == 0))), notes)


# ---------------------------------------------------------------------------------------------
# Public estimator
# ---------------------------------------------------------------------------------------------
@dataclass
class PSMResult(EstimationResults):
    """Result of :func:`match`. Effects are ``att``/``atu``/``ate`` with SEs ``se``/``se_atu``/``se_ate``."""

    att: float
    se: float
    atu: float | None
    ate: float | None
    se_atu: float | None
    se_ate: float | None
    n_treated: int
    n_controls: int
    n_off_support: int
    pscore: pd.Series
    weights: pd.Series
    support: pd.Series
    balance: BalanceResult | None
    settings: dict
    outcome: str
    treatment: str
    mean_treated: float
    mean_control_matched: float
    unmatched_diff: float
    unmatched_se: float
    propensity: PropensityModel | None = None
    boot_estimates: np.ndarray | None = None
    warnings: list[str] = field(default_factory=list)

    # settings as attributes, statsmodels-style
    def __getattr__(self, name):
        settings = self.__dict__.get("settings", {})
        if name in settings:
            return settings[name]
        raise AttributeError(name)

    @property
    def nobs(self) -> int:
        """Observations in the estimation sample (treated and controls, on and off support)."""
        return int(self.pscore.notna().sum())

    @property
    def params(self) -> pd.Series:
        return self.to_frame()["coef"]

    @property
    def bse(self) -> pd.Series:
        return self.to_frame()["se"]

    def to_frame(self) -> pd.DataFrame:
        names, coef, se = ["ATT"], [self.att], [self.se]
        if self.atu is not None:
            names += ["ATU", "ATE"]
            coef += [self.atu, self.ate]
            se += [np.nan if self.se_atu is None else self.se_atu, np.nan if self.se_ate is None else self.se_ate]
        return coef_table(names, coef, se)

    def summary(self) -> Summary:
        s = self.settings
        if s["method"] == "nearest":
            desc = f"NN k={s['k']}" + (", ties" if s["ties"] else "") + (f", cal={s['caliper']}" if s["caliper"] is not None else "")
        elif s["method"] == "radius":
            desc = f"radius r={s['bandwidth']}"
        else:
            desc = f"kernel {s['kernel']} bw={s['bandwidth']}"
        facts = {
            "Outcome": self.outcome,
            "Treatment": self.treatment,
            "Matching": desc,
            "Propensity": "given" if s["pscore"] else s["link"],
            "N": self.nobs,
            "Treated on support": self.n_treated,
            "Controls used": self.n_controls,
            "Off support": self.n_off_support,
            "Common support": "yes" if s["common_support"] else "no",
            "SE": {"default": "psmatch2 analytic", "ai": "Abadie-Imbens",
                   "bootstrap": f"bootstrap ({s['n_boot']} reps)"}[s["se"]],
            "Unmatched diff": self.unmatched_diff,
            "Treated mean": self.mean_treated,
            "Matched ctrl mean": self.mean_control_matched,
        }
        tables = {"": self.to_frame()}
        if self.balance is not None:
            tables["Balance (pstest)"] = self.balance.table3()
            tables["Overall balance"] = self.balance.overall
        notes = list(self.warnings)
        notes.append({
            "default": "psmatch2 analytic SE; treats the propensity score as fixed.",
            "ai": "Abadie-Imbens SE as R Matching (Var.calc=0, population variance); score treated as fixed.",
            "bootstrap": "bootstrap SE: propensity fit, support and matching re-run on each resample.",
        }[s["se"]])
        return Summary("Propensity-score matching (psmatch2)", facts, tables, notes)

    def __repr__(self) -> str:
        return f"PSMResult(att={self.att:.6g}, se={self.se:.6g}, n_treated={self.n_treated})"


def match(
    data: pd.DataFrame,
    treatment: str,
    outcome: str,
    covariates: Sequence[str] | None = None,
    method: str = "nearest",
    k: int = 1,
    caliper: float | None = None,
    radius: float | None = None,
    kernel: str = "normal",
    bandwidth: float = 0.06,
    link: str = "probit",
    common_support: bool = True,
    ties: bool | str = False,
    estimand: str = "att",
    se: str = "default",
    *,
    pscore: str | None = None,
    propensity: PropensityModel | None = None,
    tie_tol: float | None = None,
    n_boot: int = 200,
    seed: int | None = 12345,
    n_jobs: int | None = None,
    kernel_method: str = "auto",
    compute_balance: bool = True,
) -> PSMResult:
    """Propensity-score matching estimate of the ATT (psmatch2 semantics; see module docstring).

    Parameters
    ----------
    data : DataFrame (not modified). Rows with missing values in used columns are an error.
    treatment, outcome : column names; treatment must be 0/1 with both classes present.
    covariates : propensity-model regressors (also the balance covariates). May be omitted
        when ``pscore`` is given (then no balance table unless covariates are given).
    method : "nearest", "radius" or "kernel".
    k : number of nearest neighbours.
    caliper : nearest neighbour: maximum score distance (strict ``<``); with
        ``method="radius"`` and no ``radius``, the radius (psmatch2's ``radius caliper(r)``).
    radius : radius for ``method="radius"`` (``<=``).
    kernel, bandwidth : kernel type and bandwidth for ``method="kernel"``.
    link : "probit" (default, as psmatch2) or "logit".
    common_support : psmatch2's ``common`` (inclusive bounds).
    ties : False (psmatch2: one neighbour per rank, ties broken by score then data order),
        True (= "matching": R ``Matching::Match``'s tolerance rule, ``distance.tolerance``
        1e-5 in score-SD units) or "exact" (Stata ``teffects psmatch``: only exact ties, i.e.
        distances equal within ``tie_tol``, default 1e-12).
    estimand : "att" or "ate" (the latter also reports the ATU and ATE).
    se : "default" (psmatch2 analytic), "ai" (nearest neighbour only) or "bootstrap"
        (radius/kernel only; ``n_boot`` replicates, ``seed``, ``n_jobs`` worker processes).
    pscore : name of a column holding a precomputed propensity score to match on.
    propensity : a model already fitted on these rows, ``fit_propensity(data, treatment,
        covariates, link=link)``: its scores are matched on and it is reported as if fitted
        here, without refitting (one fit for several methods or outcomes on the same sample).
    kernel_method : normal kernel: "auto", "fgt" (box-wise expansion) or "direct".
    compute_balance : attach the pstest balance table (needs covariates).
    """
    method = str(method).lower()
    if method not in ("nearest", "radius", "kernel"):
        raise EstimationError(f"method must be 'nearest', 'radius' or 'kernel', got {method!r}")
    estimand = str(estimand).lower()
    if estimand not in ("att", "ate"):
        raise EstimationError(f"estimand must be 'att' or 'ate', got {estimand!r}")
    se = str(se).lower()
    if se not in ("default", "ai", "bootstrap"):
        raise EstimationError(f"se must be 'default', 'ai' or 'bootstrap', got {se!r}")
    if se == "ai" and method != "nearest":
        raise EstimationError("se='ai' (Abadie-Imbens) is only defined for nearest-neighbour matching")
    if se == "bootstrap" and method == "nearest":
        raise EstimationError(
            "se='bootstrap' is not valid for nearest-neighbour matching (Abadie and Imbens 2008); use se='ai'"
        )
    if ties not in (False, True, "matching", "exact"):
        raise EstimationError(f"ties must be False, True ('matching', R Matching's 1e-5 rule) or 'exact'; got {ties!r}")
    if int(k) != k or k < 1:
        raise EstimationError(f"k must be a positive integer, got {k!r}")
    kernel = str(kernel).lower()
    if kernel == "epanechnikov":
        kernel = "epan"
    if kernel == "gaussian":
        kernel = "normal"
    if kernel not in KERNELS:
        raise EstimationError(f"unknown kernel {kernel!r}; choose one of {', '.join(KERNELS)}")
    if kernel_method not in ("auto", "fgt", "direct"):
        raise EstimationError("kernel_method must be 'auto', 'fgt' or 'direct'")
    if method == "radius":
        r = radius if radius is not None else caliper
        if r is None:
            raise EstimationError("radius matching needs radius= (or caliper=)")
        bw, kern = float(r), "uniform"
    else:
        bw, kern = float(bandwidth), kernel
    if not (bw > 0 and np.isfinite(bw)):
        raise EstimationError(f"bandwidth/radius must be positive, got {bw!r}")
    if caliper is not None and method == "nearest" and not caliper > 0:
        raise EstimationError(f"caliper must be positive, got {caliper!r}")
    if se == "bootstrap" and int(n_boot) < 2:
        raise EstimationError("n_boot must be at least 2")

    covariates = list(covariates) if covariates is not None else []
    if pscore is None and not covariates:
        raise EstimationError("give covariates for the propensity model or a pscore column")
    used = [treatment, outcome, *covariates] + ([pscore] if pscore is not None else [])
    check_columns(data, list(dict.fromkeys(used)))
    t = check_binary(data[treatment], treatment)
    y = data[outcome].to_numpy(dtype=float)
    warn: list[str] = []

    pmodel = None
    if propensity is not None:
        if pscore is not None:
            raise EstimationError("give either pscore or propensity, not both")
        if (propensity.treatment, propensity.link) != (treatment, link) or not propensity.pscore.index.equals(data.index):
            raise EstimationError(f"propensity was fitted for {propensity.treatment!r} by {propensity.link} on other "
                                  f"rows; it must be fit_propensity(data, {treatment!r}, covariates, link={link!r})")
        other = ([c for c in propensity.covariates if c not in covariates]
                 + [c for c in covariates if c not in propensity.covariates and data[c].nunique() > 1])
        if other:
            raise EstimationError(f"propensity was fitted on other covariates than those given ({', '.join(other)})")
    if pscore is None:
        pmodel = propensity if propensity is not None else fit_propensity(data, treatment, covariates, link=link)
        p = pmodel.pscore.to_numpy()
        warn += pmodel.warnings
    else:
        p = data[pscore].to_numpy(dtype=float)

    cfg = dict(method=method, k=int(k), caliper=(None if method != "nearest" else caliper), ties=ties,
               tie_tol=tie_tol, kernel=kern, bandwidth=bw, kernel_method=kernel_method,
               common_support=bool(common_support), estimand=estimand, link=link)
    core = _core(y, t, p, cfg)

    if se == "default":
        se_att, se_atu, se_ate = _se_default(y, t, core, estimand)
    elif se == "ai":
        se_att, se_atu, se_ate = _se_ai(y, t, core, estimand)
    boot = None
    if se == "bootstrap":
        X = data[covariates].to_numpy(dtype=float) if pscore is None else None
        reps = _bootstrap(y, t, X, None if pscore is None else p, cfg, int(n_boot), seed, n_jobs)
        ok = [r for r in reps if r is not None]
        n_fail = len(reps) - len(ok)
        if len(ok) < 2:
            raise EstimationError(f"bootstrap: only {len(ok)} of {n_boot} replicates could be estimated")
        if n_fail:
            warn.append(f"bootstrap: {n_fail} of {n_boot} replicates failed and were skipped")
        boot = np.array([[np.nan if v is None else v for v in r] for r in ok], dtype=float)
        se_att = float(np.std(boot[:, 0], ddof=1))
        se_atu = float(np.std(boot[:, 1], ddof=1)) if estimand == "ate" else None
        se_ate = float(np.std(boot[:, 2], ddof=1)) if estimand == "ate" else None

    support = core["support"]
    weights = pd.Series(core["weight"], index=data.index, name="_weight")
    n_off = int(np.sum((t == 1) & ~support)) + (int(np.sum((t == 0) & ~support)) if estimand == "ate" else 0)
    if n_off:
        warn.append(f"{n_off} observation(s) off common support")
    n_controls = int(np.sum((t == 0) & (core["Wc"] > 0)))

    y1, y0 = y[t == 1], y[t == 0]
    udiff = float(y1.mean() - y0.mean())
    n_all = y.size
    s2 = (np.sum((y1 - y1.mean()) ** 2) + np.sum((y0 - y0.mean()) ** 2)) / (n_all - 2)
    use_se = float(math.sqrt(s2 * (1 / y1.size + 1 / y0.size)))

    bal = None
    if compute_balance and covariates:
        try:
            bal = balance(data, treatment, covariates, weights.to_numpy(), support=support)
        except EstimationError as exc:
            warn.append(f"balance table not computed: {exc}")
    mt = float(np.mean(y[(t == 1) & support]))
    settings = dict(method=method, k=int(k), caliper=caliper, radius=(bw if method == "radius" else None),
                    kernel=(kern if method == "kernel" else None), bandwidth=bw, link=link,
                    common_support=bool(common_support), ties=ties, tie_tol=tie_tol, estimand=estimand,
                    se=se, pscore=pscore, n_boot=(int(n_boot) if se == "bootstrap" else None), seed=seed,
                    kernel_method=kernel_method)
    return PSMResult(
        att=core["att"], se=float(se_att), atu=core.get("atu"), ate=core.get("ate"),
        se_atu=se_atu, se_ate=se_ate, n_treated=core["n_treated"], n_controls=n_controls,
        n_off_support=n_off, pscore=pd.Series(p, index=data.index, name="_pscore"), weights=weights,
        support=pd.Series(support, index=data.index, name="_support"), balance=bal, settings=settings,
        outcome=outcome, treatment=treatment, mean_treated=mt, mean_control_matched=mt - core["att"],
        unmatched_diff=udiff, unmatched_se=use_se, propensity=pmodel, boot_estimates=boot, warnings=warn,
    )
