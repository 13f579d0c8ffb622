"""Row-backed Mesa agents: each agent reads and writes its own row of the model's arrays."""
from __future__ import annotations

import itertools
import weakref

import mesa
import numpy as np


class _AgentIdCounters(weakref.WeakKeyDictionary):
    """Per-model agent id counters that do not keep finished models alive.

    Mesa 3 keys its counters (``mesa.Agent._ids``) by model in a plain ``defaultdict``, so every
    model that ever created an agent stays referenced for the life of the process (~70 MB per
    40,000-household run), which exhausted memory in long-lived sweep and calibration workers.
    Ids are still unique and sequential within each model, as in Mesa.
    """

    def __getitem__(self, model):
        try:
            return super().__getitem__(model)
        except KeyError:
            counter = itertools.count(1)
            self[model] = counter
            return counter


class RowAgent(mesa.Agent):
    """A Mesa agent whose state is row ``row`` of a struct-of-arrays held by the model.

    Attribute access for any state variable goes to the array, so per-agent code and the
    vectorised processes see (and change) the same numbers.
    """

    _state_attr = ""  # name of the ArrayState on model.world
    _ids = _AgentIdCounters()

    def __init__(self, model, row: int):
        super().__init__(model)
        self.row = int(row)
        self.idx = np.array([self.row])

    @property
    def _state(self):
        return getattr(self.model.world, self._state_attr)

    def __getattr__(self, name):
        # Only reached when normal lookup fails: state variables live in the arrays.
        if name.startswith("_") or name in ("model", "row", "idx", "unique_id", "pos"):
            raise AttributeError(name)
        state = getattr(self.model.world, self._state_attr)
        if name in state._spec:
            return getattr(state, name)[self.row].item()
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __setattr__(self, name, value):
        state = None
        if not name.startswith("_") and name not in ("model", "row", "idx", "unique_id", "pos"):
            model = self.__dict__.get("model")
            if model is not None:
                state = getattr(model.world, self._state_attr)
        if state is not None and name in state._spec:
            getattr(state, name)[self.row] = value
        else:
            super().__setattr__(name, value)

    def state(self) -> dict:
        """All state variables of this agent as a dict."""
        return self._state.row(self.row)

    def run_phase(self, fn) -> None:
        """Run one scheduled process for this agent only (the per-agent stepping path)."""
        fn(self.model.world, self.idx)
