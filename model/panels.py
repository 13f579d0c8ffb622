"""Writing a run's panels to Parquet, optionally while it runs.

:class:`PanelStream` is a context manager on a model: while it is open, each year the model
records is turned into one row group of ``households.parquet`` by a worker thread (derived
outcomes, Arrow, Parquet encoding), so on a machine with a second core the writing overlaps the
simulation of the following years. On close it writes the remaining years and the small panels
(counties, county exits, organisations). ``RuralModel.write_panels`` is the same with nothing to
overlap. Every file reads back (``pd.read_parquet``) as the DataFrame of the matching panel method.
"""
from __future__ import annotations

import itertools
import queue
import threading
from pathlib import Path

from .enums import REGIONS
from .parquet import write_columns, write_row_groups

FILES = ("households.parquet", "counties.parquet", "county_exits.parquet", "organisations.parquet")
_DONE = None


class PanelStream:
    def __init__(self, model, out_dir):
        self.model = model
        self.out = Path(out_dir)
        self.files = list(FILES)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="ruralabm-panel-writer", daemon=True)

    def __enter__(self) -> "PanelStream":
        self.out.mkdir(parents=True, exist_ok=True)
        for t in range(self.model._recorder("households").recorded):  # years recorded already
            self._queue.put(t)
        self.model._year_listeners.append(self._queue.put)
        self._thread.start()
        return self

    def _groups(self):
        while (t := self._queue.get()) is not _DONE:
            yield self.model._household_year_group(t)

    def _work(self) -> None:
        model, path = self.model, self.out / "households.parquet"
        try:
            groups = self._groups()
            first = next(groups, None)
            if first is None:  # nothing recorded: the empty panel, as household_panel() gives it
                write_columns(path, model._household_columns(), categorical={"region": REGIONS},
                              attrs=model._household_attrs())
            else:  # one row group per year
                write_row_groups(path, itertools.chain([first], groups), categorical={"region": REGIONS},
                                 attrs=model._household_attrs(), prefetch=False)
        except BaseException as exc:  # handed to the main thread on close
            self._error = exc

    def __exit__(self, exc_type, exc, tb) -> bool:
        self.model._year_listeners.remove(self._queue.put)
        self._queue.put(_DONE)
        self._thread.join()
        if exc_type is not None:
            return False
        if self._error is not None:
            raise self._error
        m = self.model
        m.county_panel().to_parquet(self.out / "counties.parquet", index=False)
        m.county_exits().to_parquet(self.out / "county_exits.parquet", index=False)
        m.organisations_panel().to_parquet(self.out / "organisations.parquet", index=False)
        return False
