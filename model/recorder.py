"""Panel buffers: one preallocated (years x units) array per recorded variable.

Recording a year is one copy per column into row ``t``; the tidy DataFrame is built only when
asked for, so a long run does not grow DataFrames year by year.
"""
from __future__ import annotations

import numpy as np

from .state import ArrayState


class PanelRecorder:
    def __init__(self, state: ArrayState, n_years: int, columns: list[str] | None = None):
        self.columns = list(columns if columns is not None else state.names)
        self.n_years = n_years
        self.n = state.n
        self.buffers = {c: np.empty((n_years, state.n), dtype=getattr(state, c).dtype) for c in self.columns}
        self.years = np.zeros(n_years, dtype=np.int16)
        self.recorded = 0

    def record(self, t: int, year: int, state: ArrayState) -> None:
        for c in self.columns:
            self.buffers[c][t] = getattr(state, c)
        self.years[t] = year
        self.recorded = max(self.recorded, t + 1)

    def year_state(self, t: int) -> dict[str, np.ndarray]:
        return {c: self.buffers[c][t] for c in self.columns}

    def flat(self, column: str) -> np.ndarray:
        """A column over all recorded years, year-major (a view, no copy)."""
        return self.buffers[column][: self.recorded].reshape(-1)

    @property
    def nbytes(self) -> int:
        return sum(b.nbytes for b in self.buffers.values())
