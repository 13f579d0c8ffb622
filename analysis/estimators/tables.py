"""The one table formatter of the project: GitHub Markdown and fixed-width text tables from a
DataFrame, used by the estimators' summaries, the compare, sweep and validation reports and the
calibration report.

It sits in the lowest layer that all of them may import (``analysis.estimators``) and imports
nothing of ``ruralabm``. Cell formatting is shared by both layouts (:func:`format_cell`):

* ``floatfmt=None``: every cell as ``str(v)`` (for tables whose cells are already formatted text);
* ``floatfmt`` a format spec (``".4f"``) or a ``str.format`` template (``"{:.4f}"``): floats in
  that format, non-finite floats and ``None`` as empty cells, integers and text as ``str``;
* ``bools=("yes", "no")``: booleans as those words (otherwise ``str``).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

__all__ = ["format_cell", "markdown_table", "text_table"]


def _format_float(v: float, floatfmt: str) -> str:
    return floatfmt.format(v) if "{" in floatfmt else format(v, floatfmt)


def format_cell(v: object, floatfmt: str | None = None, bools: Sequence[str] | None = None) -> str:
    """One table cell as text (see the module docstring for the rules)."""
    if bools is not None and isinstance(v, (bool, np.bool_)):
        return bools[0] if v else bools[1]
    if floatfmt is None:
        return str(v)
    if isinstance(v, (float, np.floating)):
        return "" if not np.isfinite(v) else _format_float(v, floatfmt)
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return "" if v is None else str(v)


def markdown_table(df: pd.DataFrame, floatfmt: str | None = None, *, bools: Sequence[str] | None = None,
                   pipe: str | None = None) -> str:
    """A GitHub Markdown table of ``df``'s columns (the index is not shown; reset it to show it).

    ``pipe``: replacement for ``|`` inside cells (``"/"`` keeps free text from breaking the table).
    """
    cols = list(df.columns)

    def cell(v):
        s = format_cell(v, floatfmt, bools)
        return s.replace("|", pipe) if pipe is not None else s

    lines = ["| " + " | ".join(map(str, cols)) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, r in df.iterrows():
        lines.append("| " + " | ".join(cell(r[c]) for c in cols) + " |")
    return "\n".join(lines)


def text_table(df: pd.DataFrame, floatfmt: str | None = "{:.4f}", *, index: bool = True, align: str = "right",
               bools: Sequence[str] | None = None) -> str:
    """A fixed-width plain-text table.

    ``index=True`` (the estimators' coefficient tables): the index (titled by its name) as a
    left-aligned first column, a rule under the header as wide as the header.
    ``index=False``: only the columns, with a rule of dashes under each column.
    ``align``: ``"right"`` (numbers) or ``"left"`` for the columns' cells and titles.
    """
    cols = [str(c) for c in df.columns]
    rows = [(str(idx), [format_cell(v, floatfmt, bools) for v in row.values]) for idx, row in df.iterrows()]
    widths = [max([len(c)] + [len(r[1][j]) for r in rows]) for j, c in enumerate(cols)]
    pad = (lambda s, w: s.rjust(w)) if align == "right" else (lambda s, w: s.ljust(w))
    if not index:
        lines = ["  ".join(pad(c, w) for c, w in zip(cols, widths)), "  ".join("-" * w for w in widths)]
        lines += ["  ".join(pad(c, w) for c, w in zip(cells, widths)) for _, cells in rows]
        return "\n".join(lines)
    index_width = max([len(str(df.index.name or ""))] + [len(r[0]) for r in rows]) if rows else 8
    header = str(df.index.name or "").ljust(index_width) + "  " + "  ".join(pad(c, w) for c, w in zip(cols, widths))
    lines = [header, "-" * len(header)]
    for name, cells in rows:
        lines.append(name.ljust(index_width) + "  " + "  ".join(pad(c, w) for c, w in zip(cells, widths)))
    return "\n".join(lines)
