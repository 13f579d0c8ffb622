"""The county agent: budget, subsidy targeting, infrastructure, industrial structure, exit."""
from __future__ import annotations

import numpy as np

from .base import RowAgent


class County(RowAgent):
    _state_attr = "counties"

    def household_ids(self) -> np.ndarray:
        return np.flatnonzero(self.model.world.households.county_id == self.row)
