"""Panel buffers: one preallocated (years x units) array per recorded variable.

Recording a year is one copy per column into row ``t``; the tidy DataFrame is built only when
asked for, so a long run does not grow DataFrames year by year. The buffers are allocated empty:
the kernel maps each page on its first write, which costs several times the copy itself.
``prepare`` has a background thread map a row's pages (by writing zeros) while the year is
simulated, so that recording it is a plain copy, which that thread then shares.

The block is an anonymous ``mmap`` in 4 kB pages, not numpy's transparent huge pages: on the
2-core CI VMs the first write to a fresh 2 MB page is slow (likely because the host takes back the
guest's free memory; not verified). Ten years of 100,000
households on the shipped default ran in 0.98-2.11 s (median 1.67) with huge pages against
0.91-1.13 s (median 1.06) in 4 kB pages, 6 fresh processes each, interleaved
(docs/architecture.md).
"""
from __future__ import annotations

import mmap

import numpy as np

from .state import ArrayState


class PanelRecorder:
    def __init__(self, state: ArrayState, n_years: int, columns: list[str] | None = None):
        self.columns = list(columns if columns is not None else state.names)
        self.n_years = n_years
        self.n = state.n
        self.buffers = _allocate({c: getattr(state, c).dtype for c in self.columns}, (n_years, state.n))
        self.years = np.zeros(n_years, dtype=np.int16)
        self.recorded = 0
        self._preparing = None
        self._executor = None

    def prepare(self, t: int, executor) -> None:
        """Map row ``t`` of every buffer in ``executor`` (a ``concurrent.futures`` executor); the
        row is not recorded yet, so nothing reads it meanwhile. ``record`` waits for it, and
        copies half of the columns in the same executor."""
        if self._preparing is None and self.recorded <= t < self.n_years:
            self._preparing = executor.submit(self._touch, t)
            self._executor = executor

    def _touch(self, t: int) -> None:
        for buffer in self.buffers.values():
            buffer[t].fill(0)

    def record(self, t: int, year: int, state: ArrayState) -> None:
        executor, self._executor = self._executor, None
        if self._preparing is not None:
            self._preparing.result()
            self._preparing = None
        if executor is None:
            self._copy(self.columns, t, state)
        else:  # the thread that mapped the row copies half of it
            helper = executor.submit(self._copy, self.columns[1::2], t, state)
            self._copy(self.columns[::2], t, state)
            helper.result()
        self.years[t] = year
        self.recorded = max(self.recorded, t + 1)

    def _copy(self, columns: list[str], t: int, state: ArrayState) -> None:
        for c in columns:
            self.buffers[c][t] = getattr(state, c)

    def year_state(self, t: int) -> dict[str, np.ndarray]:
        return {c: self.buffers[c][t] for c in self.columns}

    def flat(self, column: str) -> np.ndarray:
        """A column over all recorded years, year-major (a view, no copy)."""
        return self.buffers[column][: self.recorded].reshape(-1)

    @property
    def nbytes(self) -> int:
        return sum(b.nbytes for b in self.buffers.values())


def _allocate(dtypes: dict[str, np.dtype], shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """One empty (years x units) array per column, all carved from a single anonymous mapping in
    4 kB pages (see the module's note)."""
    align = 64
    sizes = {c: int(np.prod(shape)) * np.dtype(t).itemsize for c, t in dtypes.items()}
    offsets, total = {}, 0
    for c, size in sizes.items():
        offsets[c] = total
        total += -(-size // align) * align
    block = mmap.mmap(-1, max(total, 1))
    if hasattr(mmap, "MADV_NOHUGEPAGE"):
        block.madvise(mmap.MADV_NOHUGEPAGE)
    data = np.frombuffer(block, dtype=np.uint8)
    return {c: np.ndarray(shape, dtype=t, buffer=data, offset=offsets[c]) for c, t in dtypes.items()}
