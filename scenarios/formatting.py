"""Number formats of the scenario reports (compare, sweep and their Markdown write-ups).

Shared by :mod:`.compare` and :mod:`.report` (report used to import these from compare inside
functions, compare imported report: a cycle). Tables themselves are rendered by the project's one
formatter, :func:`ruralabm.analysis.estimators.tables.markdown_table`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

PERCENT = {"poverty_1_9", "poverty_national", "poverty_3_1", "participation", "exit_share", "vulnerability"}
YUAN = {"income_pc", "consumption_pc"}


def fmt_value(metric: str, v: float, diff: bool = False) -> str:
    if v is None or v is pd.NA or not np.isfinite(v):
        return "n/a"
    sign = "+" if diff and v > 0 else ""
    if metric in PERCENT:
        digits = 1 if abs(100 * v) >= 0.95 or v == 0 else 2
        return f"{sign}{100 * v:.{digits}f}{' pp' if diff else '%'}"
    if metric in YUAN:
        return f"{sign}{v:,.0f}"
    if metric == "median_exit_date":
        return f"{sign}{v:.2f}" + (" y" if diff else "")
    return f"{sign}{v:.3f}"


def fmt_interval(metric: str, lo: float, hi: float, diff: bool = False) -> str:
    if lo is None or lo is pd.NA or not np.isfinite(lo):
        return ""
    a, b = fmt_value(metric, lo, diff), fmt_value(metric, hi, diff)
    for unit in (" pp", "%", " y"):
        a = a.removesuffix(unit)
    return f"[{a}, {b}]"
