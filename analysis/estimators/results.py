"""Shared pieces of the estimators' result objects: the coefficient table every econometrician
recognises (coef, SE, z or t, p, 95% CI, stars) and a plain-text layout for ``summary()``.

Every estimator in :mod:`analysis` returns an object that carries its own numbers; this module
only formats them, so the layout is identical across PSM, DID, CMP, VEP, OLS and Cox.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .tables import text_table


def stars(p: float) -> str:
    """Conventional significance stars: *** p<0.01, ** p<0.05, * p<0.1."""
    if p is None or not np.isfinite(p):
        return ""
    return "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.1 else ""


def coef_table(
    names: Sequence[str],
    coef: Sequence[float],
    se: Sequence[float],
    df_resid: float | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Coefficient table with z (normal) or t (when ``df_resid`` is given) statistics.

    Columns: coef, se, z|t, p, ci_low, ci_high, stars. Standard errors that are zero, negative
    or missing give NaN statistics rather than infinite ones.
    """
    coef = np.asarray(coef, dtype=float)
    se = np.asarray(se, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.where(se > 0, coef / se, np.nan)
    if df_resid is None:
        dist, label = stats.norm, "z"
        p = 2 * dist.sf(np.abs(stat))
        crit = dist.ppf(1 - alpha / 2)
    else:
        label = "t"
        p = 2 * stats.t.sf(np.abs(stat), df_resid)
        crit = stats.t.ppf(1 - alpha / 2, df_resid)
    out = pd.DataFrame(
        {
            "coef": coef,
            "se": se,
            label: stat,
            "p": p,
            "ci_low": coef - crit * se,
            "ci_high": coef + crit * se,
        },
        index=pd.Index(list(names), name="term"),
    )
    out["stars"] = [stars(v) for v in out["p"]]
    return out


def format_table(table: pd.DataFrame, float_format: str = "{:.4f}") -> str:
    """Render a DataFrame as a fixed-width text table (numbers right-aligned, index first)."""
    return text_table(table, float_format)


@dataclass
class Summary:
    """A titled block of key facts plus one or more tables, printed as plain text."""

    title: str
    facts: Mapping[str, object] = field(default_factory=dict)
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    notes: Sequence[str] = ()

    def as_text(self) -> str:
        width = 78
        lines = ["=" * width, self.title, "=" * width]
        items = list(self.facts.items())
        for i in range(0, len(items), 2):
            pair = items[i : i + 2]
            cells = [f"{k}: {_fmt_fact(v)}" for k, v in pair]
            lines.append("".join(c.ljust(width // 2) for c in cells).rstrip())
        for name, table in self.tables.items():
            lines.append("")
            if name:
                lines.append(name)
            lines.append(format_table(table))
        if self.notes:
            lines.append("")
            lines.extend(f"Note: {n}" for n in self.notes)
        lines.append("=" * width)
        return "\n".join(lines)

    def as_html(self) -> str:
        """The same block as HTML (title, a facts table, each table, notes): Jupyter's rendering."""
        esc = html.escape
        parts = [f"<div><h4>{esc(self.title)}</h4>"]
        if self.facts:
            cells = "".join(f"<tr><th style='text-align:left'>{esc(str(k))}</th><td>{esc(_fmt_fact(v))}</td></tr>"
                            for k, v in self.facts.items())
            parts.append(f"<table>{cells}</table>")
        for name, table in self.tables.items():
            if name:
                parts.append(f"<p><b>{esc(name)}</b></p>")
            parts.append(table.to_html(float_format=lambda v: f"{v:.4f}", na_rep=""))
        parts += [f"<p>Note: {esc(str(n))}</p>" for n in self.notes]
        parts.append("</div>")
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        return self.as_html()

    def __str__(self) -> str:
        return self.as_text()

    __repr__ = __str__


class EstimationResults:
    """The result protocol of every estimator, on the statsmodels model.

    A result provides ``params`` and ``bse`` (Series with the same index), ``nobs``,
    ``summary()`` (a :class:`Summary`: ``str()`` is the text layout) and ``to_frame()`` (the
    coefficient table of :func:`coef_table`: coef, se, z|t, p, ci_low, ci_high, stars). This
    mixin adds ``tvalues``, ``pvalues``, ``conf_int(alpha)`` and ``_repr_html_`` (Jupyter), all
    computed from ``params`` and ``bse`` with the estimator's own rule: normal (z) inference
    unless :meth:`_inference_df` gives the degrees of freedom of a t distribution (a scalar, or
    one value per parameter).
    """

    def _inference_df(self):
        return None

    def _inference_table(self, alpha: float = 0.05) -> pd.DataFrame:
        params = self.params
        bse = self.bse.reindex(params.index)
        return coef_table(params.index, params.to_numpy(dtype=float), bse.to_numpy(dtype=float),
                          df_resid=self._inference_df(), alpha=alpha)

    @property
    def tvalues(self) -> pd.Series:
        """coef / se (z or t statistics)."""
        table = self._inference_table()
        return table["t" if "t" in table.columns else "z"].rename(None)

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values of coef = 0."""
        return self._inference_table()["p"].rename(None)

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """Confidence intervals, columns 0 (lower) and 1 (upper) as in statsmodels."""
        table = self._inference_table(alpha)
        out = pd.DataFrame({0: table["ci_low"].to_numpy(), 1: table["ci_high"].to_numpy()}, index=self.params.index)
        return out

    def _repr_html_(self) -> str:
        return self.summary().as_html()


class TableResults(EstimationResults):
    """A result whose coefficient table (``self.table``, columns ``coef`` and ``se``) is the
    source of ``params`` and ``bse``; ``N`` is the papers' name for ``nobs``."""

    @property
    def params(self) -> pd.Series:
        return self.table["coef"]

    @property
    def bse(self) -> pd.Series:
        return self.table["se"]

    @property
    def N(self) -> int:  # noqa: N802 - the papers' notation
        return self.nobs


def _fmt_fact(v: object) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{v:.4f}" if np.isfinite(v) else "nan"
    return str(v)
