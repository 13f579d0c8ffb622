"""Cooperatives and leading enterprises: the two organisation types of rural integration."""
from __future__ import annotations

import numpy as np

from .base import RowAgent


class Organisation(RowAgent):
    _state_attr = "organisations"

    def member_ids(self) -> np.ndarray:
        """Household ids of the current members (cooperative) or contract farmers (enterprise)."""
        hh = self.model.world.households
        return np.flatnonzero((hh.org_id == self.row) & (hh.participating == 1))


class Cooperative(Organisation):
    """A farmer cooperative: collective marketing, cheaper inputs, training, a risk-pooling
    fund, and surplus returned to members by transactions (at least 60%)."""


class LeadingEnterprise(Organisation):
    """A leading agribusiness enterprise contracting farmers at a contract price; it may
    renege when the spot price falls below the contract price."""
