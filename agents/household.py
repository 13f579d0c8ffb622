"""The household agent: a farm family holding the five livelihood capitals."""
from __future__ import annotations

from .base import RowAgent

CAPITALS = {
    "human": ("labour", "twork", "health", "edu", "skills"),
    "natural": ("land_area", "land_quality"),
    "physical": ("machine", "productive_assets", "housing"),
    "financial": ("savings", "debt"),
    "social": ("network_ties", "trust", "membership_years", "participating"),
}


class Household(RowAgent):
    """One household; ``household.savings``, ``household.health`` ... read and write its row."""

    _state_attr = "households"

    @property
    def household_id(self) -> int:
        return self.row

    def capitals(self) -> dict[str, dict[str, float]]:
        """The five livelihood capitals, grouped (units in model/state.py)."""
        s = self.state()
        return {cap: {v: s[v] for v in names} for cap, names in CAPITALS.items()}

    @property
    def organisation(self):
        """The Cooperative or LeadingEnterprise agent this household belongs to, or None."""
        if self.org_id < 0:
            return None
        for agents in (self.model.cooperatives, self.model.enterprises):
            for agent in agents:
                if agent.row == self.org_id:
                    return agent
        return None
