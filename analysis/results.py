"""Shared pieces of the estimators' result objects: the coefficient table every econometrician
recognises (coef, SE, z or t, p, 95% CI, stars) and a plain-text layout for ``summary()``.

Every estimator in :mod:`analysis` returns an object that carries its own numbers; this module
only formats them, so the layout is identical across PSM, DID, CMP, VEP, OLS and Cox.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats


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
    """Render a DataFrame as a fixed-width text table (numbers right-aligned)."""
    cols = [str(c) for c in table.columns]
    rows = []
    for idx, row in table.iterrows():
        cells = []
        for v in row.values:
            if isinstance(v, (float, np.floating)):
                cells.append("" if not np.isfinite(v) else float_format.format(v))
            elif isinstance(v, (int, np.integer)):
                cells.append(str(int(v)))
            else:
                cells.append(str(v))
        rows.append((str(idx), cells))
    index_width = max([len(str(table.index.name or ""))] + [len(r[0]) for r in rows]) if rows else 8
    widths = [
        max([len(c)] + [len(r[1][j]) for r in rows]) for j, c in enumerate(cols)
    ]
    header = str(table.index.name or "").ljust(index_width) + "  " + "  ".join(
        c.rjust(w) for c, w in zip(cols, widths)
    )
    lines = [header, "-" * len(header)]
    for name, cells in rows:
        lines.append(name.ljust(index_width) + "  " + "  ".join(c.rjust(w) for c, w in zip(cells, widths)))
    return "\n".join(lines)


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

    def __str__(self) -> str:
        return self.as_text()

    __repr__ = __str__


def _fmt_fact(v: object) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{v:.4f}" if np.isfinite(v) else "nan"
    return str(v)
