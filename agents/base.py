"""Row-backed Mesa agents: each agent reads and writes its own row of the model's arrays."""
from __future__ import annotations

import gc
import itertools
import weakref
from functools import cached_property

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

    @cached_property
    def idx(self) -> np.ndarray:
        """This agent's row as a one-element index array (what the processes take)."""
        return np.array([self.row])

    @classmethod
    def create_rows(cls, model, rows) -> list:
        """Create one agent per row in bulk, registered with ``model`` as ``Agent.__init__`` would.

        Equivalent to ``[cls(model, r) for r in rows]`` (same sequential ids, same attributes, same
        registration in ``model._agents``, ``model.agents`` and ``model.agents_by_type``), without
        the per-agent Python overhead: ~1.5 us per agent instead of ~60 us. Subclasses that need
        more per-agent state than ``row`` must use the ordinary constructor.
        """
        rows = [int(r) for r in rows]
        if not rows:
            return []
        counter = cls._ids[model]
        first = next(counter)
        cls._ids[model] = itertools.count(first + len(rows))  # the rows take ids first .. first + n - 1
        # Allocating 100,000 objects triggers the cyclic garbage collector dozens of times, which
        # would cost more than the allocations; none of this can be garbage yet.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            new = object.__new__
            agents = []
            append = agents.append
            for uid, row in enumerate(rows, start=first):
                agent = new(cls)
                agent.__dict__.update(model=model, unique_id=uid, pos=None, row=row)
                append(agent)
            # Model.register_agent, for all of them at once (the AgentSets hold weak references).
            model._agents.update(dict.fromkeys(agents))
            by_type = model._agents_by_type.get(cls)
            if by_type is None:
                model._agents_by_type[cls] = by_type = mesa.agent.AgentSet([], random=model.random)
            for agent_set in (by_type, model._all_agents):
                weak = agent_set._agents
                ref, remove = weakref.ref, weak._remove
                weak.data.update({ref(agent, remove): None for agent in agents})
        finally:
            if gc_was_enabled:
                gc.enable()
        return agents

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
