"""Livelihood-resilience index by the entropy-weight method (buffering, self-organisation and
learning capacities; Cao et al., ``seeds/000``, and the applied SLA literature).

Method, for indicators j = 1..m measured on the n rows of a *base* sample:

1. min-max normalisation with the base bounds: x'_ij = (x_ij - min_j) / (max_j - min_j) for a
   positive indicator ('+', more is more resilient), (max_j - x_ij) / (max_j - min_j) for a
   negative one ('-');
2. proportions p_ij = x'_ij / sum_i x'_ij;
3. entropy e_j = -(1 / ln n) sum_i p_ij ln p_ij, with 0 ln 0 = 0;
4. weights w_j = (1 - e_j) / sum_k (1 - e_k), over *all* indicators.

Aggregation (one consistent choice). Weights are computed once over all indicators. The overall
index is the all-indicator entropy index ``resilience_i = sum_j w_j x'_ij``. A capacity's score is
the entropy index of its own indicators, ``capacity_ci = sum_{j in c} (w_j / W_c) x'_ij`` with
``W_c = sum_{j in c} w_j`` -- identical to computing entropy weights within the capacity, since
w_j is proportional to 1 - e_j and e_j depends on indicator j only. Hence each capacity lies in
[0, 1] on the base sample, capacities are comparable with each other, and
``resilience = sum_c W_c * capacity_c``: the capacity weights ``W_c`` are the entropy weights of
the capacities. (``capacity_scores="contribution"`` reports ``W_c * capacity_c`` instead, the
convention of papers whose capacity scores add up to the overall index.)

Base sample. Bounds and weights are fitted on a base sample (a wave, the baseline scenario) with
:func:`fit_index` and then applied unchanged to any panel with :meth:`EntropyIndex.transform`, so
indices are comparable across waves and scenarios. Values outside the base bounds are *not*
clipped by default: a household richer than anyone in the base gets a normalised value above 1
(the index is linear, so improvements beyond the base range stay visible); pass ``clip=True``
to clip to [0, 1].

Constant indicators. An indicator constant on the base sample carries no information: its
weight is 0 (its entropy is set to 1, the value of a uniform distribution) and its normalised
value is 0 everywhere, so no NaN arises. A capacity whose indicators are all constant gets weight
0 and score 0. If every indicator is constant an :class:`EstimationError` is raised.

``indicators`` forms accepted (directions are '+' or '-')::

    {"buffering": [("income", "+"), ("debt", "-")], "learning": ["training", "edu"]}
    {"buffering": {"income": "+", "debt": "-"}, ...}

i.e. per capacity a list of (column, direction) pairs or bare column names (meaning '+'), or a
dict column -> direction. An indicator may belong to one capacity only. The conventional
capacities are ``buffering``, ``self_organisation`` and ``learning`` (constants below), but any
names work; the output has one column per capacity plus ``resilience``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .errors import EstimationError
from .results import EstimationResults, Summary, coef_table, format_table

__all__ = ["CAPACITIES", "EntropyIndex", "fit_index", "index", "entropy_weights"]

CAPACITIES = ("buffering", "self_organisation", "learning")


def _parse_indicators(indicators) -> pd.DataFrame:
    """Normalise the accepted forms to a frame: indicator (index), capacity, direction."""
    if not isinstance(indicators, Mapping) or not indicators:
        raise EstimationError("indicators must be a non-empty dict capacity -> indicators")
    rows = []
    for cap, spec in indicators.items():
        if isinstance(spec, Mapping):
            items = list(spec.items())
        elif isinstance(spec, str):
            items = [(spec, "+")]
        else:
            items = [(s, "+") if isinstance(s, str) else tuple(s) for s in spec]
        if not items:
            raise EstimationError(f"capacity {cap!r} has no indicators")
        for item in items:
            if len(item) != 2:
                raise EstimationError(f"capacity {cap!r}: indicator spec {item!r} is not (column, direction)")
            col, direction = item
            if direction not in ("+", "-"):
                raise EstimationError(f"indicator {col!r} ({cap}): direction must be '+' or '-', got {direction!r}")
            rows.append((col, str(cap), direction))
    spec = pd.DataFrame(rows, columns=["indicator", "capacity", "direction"])
    dup = spec["indicator"][spec["indicator"].duplicated()].tolist()
    if dup:
        raise EstimationError(f"indicator(s) listed more than once: {dup}")
    if "resilience" in set(spec["capacity"]):
        raise EstimationError("'resilience' is the name of the overall index, not a capacity")
    return spec.set_index("indicator")


def _values(panel: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    if not isinstance(panel, pd.DataFrame):
        raise EstimationError(f"panel must be a pandas DataFrame, got {type(panel).__name__}")
    missing = [c for c in columns if c not in panel.columns]
    if missing:
        raise EstimationError(f"indicator column(s) not in panel: {missing}")
    nonnum = [c for c in columns if not (pd.api.types.is_numeric_dtype(panel[c]) or pd.api.types.is_bool_dtype(panel[c]))]
    if nonnum:
        raise EstimationError(f"non-numeric indicator column(s): {nonnum}")
    arr = np.array(panel[list(columns)].to_numpy(dtype=float), dtype=float, copy=True)
    bad = ~np.isfinite(arr)
    if bad.any():
        detail = {c: int(k) for c, k in zip(columns, bad.sum(axis=0)) if k}
        raise EstimationError(f"missing or infinite indicator values (count per column): {detail}")
    return arr


def _normalise(arr: np.ndarray, lo: np.ndarray, hi: np.ndarray, negative: np.ndarray, clip: bool) -> np.ndarray:
    rng = hi - lo
    const = rng == 0
    safe = np.where(const, 1.0, rng)
    z = np.where(negative, hi - arr, arr - lo) / safe
    z[:, const] = 0.0  # constant on the base: no information, and no 0/0
    if clip:
        np.clip(z, 0.0, 1.0, out=z)
    return z


def entropy_weights(normalised: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Entropy e_j and weights w_j of the columns of a non-negative (n x m) matrix.

    Columns summing to zero (constant indicators) get e_j = 1 and w_j = 0. Raises if n < 2 or
    every column has zero weight.
    """
    x = np.asarray(normalised, dtype=float)
    n = x.shape[0]
    if n < 2:
        raise EstimationError(f"entropy weights need at least 2 observations, got {n}")
    if np.any(x < 0):
        raise EstimationError("entropy weights need non-negative normalised values")
    tot = x.sum(axis=0)
    ok = tot > 0
    p = x / np.where(ok, tot, 1.0)
    # 0 ln 0 = 0: evaluate the log only where p > 0
    plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    e = np.where(ok, -plogp.sum(axis=0) / np.log(n), 1.0)
    # p ln p sums can round a uniform column to e marginally above 1
    e = np.minimum(e, 1.0)
    d = 1.0 - e
    if d.sum() <= 0:
        raise EstimationError("all indicators are constant (or uniform) on the base sample: entropy weights undefined")
    return e, d / d.sum()


@dataclass
class EntropyIndex(EstimationResults):
    """Entropy-weight index fitted on a base sample; apply it with :meth:`transform`.

    Attributes
    ----------
    spec : DataFrame
        Per indicator: capacity, direction.
    bounds : DataFrame
        Per indicator: min and max on the base sample (the normalisation bounds).
    entropy, weights : Series
        Per indicator e_j and w_j (weights sum to 1 over all indicators).
    capacity_weights : Series
        W_c = sum of the weights of capacity c's indicators (sum to 1).
    nobs : int
        Size of the base sample.
    clip : bool
        Whether normalised values are clipped to [0, 1].
    """

    spec: pd.DataFrame
    bounds: pd.DataFrame
    entropy: pd.Series
    weights: pd.Series
    capacity_weights: pd.Series
    nobs: int
    clip: bool = False
    capacity_scores: str = "normalised"

    @property
    def capacities(self) -> list[str]:
        return list(dict.fromkeys(self.spec["capacity"]))

    @property
    def within_weights(self) -> pd.Series:
        """w_j / W_c: the weights used inside each capacity score (0 for a zero-weight capacity)."""
        Wc = self.spec["capacity"].map(self.capacity_weights).to_numpy()
        w = self.weights.to_numpy()
        return pd.Series(np.divide(w, Wc, out=np.zeros_like(w), where=Wc > 0), index=self.weights.index, name="within_weight")

    def normalise(self, panel: pd.DataFrame) -> pd.DataFrame:
        """Normalised indicators x'_ij with the base bounds (indexed like ``panel``)."""
        cols = list(self.spec.index)
        z = _normalise(
            _values(panel, cols),
            self.bounds["min"].to_numpy(),
            self.bounds["max"].to_numpy(),
            (self.spec["direction"] == "-").to_numpy(),
            self.clip,
        )
        return pd.DataFrame(z, index=panel.index, columns=cols)

    def transform(self, panel: pd.DataFrame) -> pd.DataFrame:
        """Capacity scores and the overall ``resilience`` index for every row of ``panel``.

        The input is not modified; the result is indexed like ``panel``.
        """
        z = self.normalise(panel).to_numpy()
        caps = self.capacities
        # capacity membership matrix (m x C) times within-capacity weights: one matmul
        member = (self.spec["capacity"].to_numpy()[:, None] == np.array(caps)[None, :]).astype(float)
        within = self.within_weights.to_numpy()
        scores = z @ (member * within[:, None])
        if self.capacity_scores == "contribution":
            scores = scores * self.capacity_weights.reindex(caps).to_numpy()
        out = pd.DataFrame(scores, index=panel.index, columns=caps)
        out["resilience"] = z @ self.weights.to_numpy()
        out.attrs["weights"] = self.weights.copy()
        out.attrs["capacity_weights"] = self.capacity_weights.copy()
        return out

    # The result protocol (EstimationResults): the parameters are the indicators' entropy weights;
    # they are computed, not estimated with sampling error, so their standard errors are NaN.

    @property
    def params(self) -> pd.Series:
        """Entropy weight of each indicator (summing to 1)."""
        return self.weights.rename(None)

    @property
    def bse(self) -> pd.Series:
        return pd.Series(np.nan, index=self.weights.index)

    def to_frame(self) -> pd.DataFrame:
        """The weights in the coefficient-table layout (coef = weight; se, z, p, CI empty)."""
        return coef_table(self.weights.index, self.weights.to_numpy(dtype=float), self.bse.to_numpy())

    def weight_table(self) -> pd.DataFrame:
        """Per indicator: capacity, direction, min, max, entropy, weight, within-capacity weight."""
        return pd.concat(
            [self.spec, self.bounds, self.entropy.rename("entropy"), self.weights.rename("weight"), self.within_weights],
            axis=1,
        ).rename_axis("indicator")

    def summary(self) -> Summary:
        return Summary(
            title="Entropy-weight resilience index",
            facts={"Base N": self.nobs, "Indicators": len(self.spec), "Clip to [0,1]": self.clip,
                   "Capacity scores": self.capacity_scores},
            tables={
                "Indicators": self.weight_table(),
                "Capacity weights": self.capacity_weights.to_frame("weight").rename_axis("capacity"),
            },
            notes=["resilience = sum_j w_j x'_j = sum_c W_c * capacity_c (normalised capacity scores)."],
        )

    def __str__(self) -> str:
        return format_table(self.weight_table())


def fit_index(
    base_panel: pd.DataFrame,
    indicators: Mapping,
    *,
    clip: bool = False,
    capacity_scores: str = "normalised",
) -> EntropyIndex:
    """Fit bounds and entropy weights on ``base_panel`` (see the module docstring)."""
    if capacity_scores not in ("normalised", "contribution"):
        raise EstimationError(f"capacity_scores must be 'normalised' or 'contribution', got {capacity_scores!r}")
    spec = _parse_indicators(indicators)
    cols = list(spec.index)
    arr = _values(base_panel, cols)
    lo, hi = arr.min(axis=0), arr.max(axis=0)
    z = _normalise(arr, lo, hi, (spec["direction"] == "-").to_numpy(), clip=False)
    e, w = entropy_weights(z)
    weights = pd.Series(w, index=cols, name="weight")
    capw = weights.groupby(spec["capacity"], sort=False).sum()
    capw = capw.reindex(list(dict.fromkeys(spec["capacity"]))).rename("capacity_weight")
    return EntropyIndex(
        spec=spec,
        bounds=pd.DataFrame({"min": lo, "max": hi}, index=cols),
        entropy=pd.Series(e, index=cols, name="entropy"),
        weights=weights,
        capacity_weights=capw,
        nobs=arr.shape[0],
        clip=clip,
        capacity_scores=capacity_scores,
    )


def index(
    panel: pd.DataFrame,
    indicators: Mapping,
    *,
    base: pd.DataFrame | pd.Series | np.ndarray | None = None,
    clip: bool = False,
    capacity_scores: str = "normalised",
) -> pd.DataFrame:
    """Capacity scores and overall resilience index of every row of ``panel``.

    ``base`` fixes the normalisation bounds and entropy weights: None (fit on ``panel``
    itself), a DataFrame (a base wave / baseline scenario), or a boolean mask over the rows of
    ``panel`` (e.g. ``panel.year == 2020``). The result has one column per capacity plus
    ``resilience``; the weights are in ``result.attrs["weights"]`` and
    ``result.attrs["capacity_weights"]``, and the fitted :class:`EntropyIndex` (with ``summary()``
    and ``to_frame()``) in ``result.attrs["index"]``.
    """
    if base is None:
        base_panel = panel
    elif isinstance(base, pd.DataFrame):
        base_panel = base
    else:
        mask = np.asarray(base)
        if mask.dtype != bool or mask.shape != (len(panel),):
            raise EstimationError(f"base must be a DataFrame or a boolean mask of length {len(panel)}")
        if not mask.any():
            raise EstimationError("base mask selects no rows")
        base_panel = panel.loc[mask]
    fitted = fit_index(base_panel, indicators, clip=clip, capacity_scores=capacity_scores)
    out = fitted.transform(panel)
    out.attrs["index"] = fitted  # the result object: summary(), to_frame(), weights, bounds
    return out
