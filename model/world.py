"""The world the yearly processes act on: state arrays, parameters, the year's draws and prices."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .draws import YearDraws
from .params import Params
from .state import CountyState, HouseholdState, OrganisationState, VillageState


@dataclass
class World:
    params: Params
    seed: int
    households: HouseholdState
    villages: VillageState
    counties: CountyState
    organisations: OrganisationState
    year: int = 0
    draws: YearDraws | None = None
    # log price of each product relative to normal (AR(1) state) and this year's price index
    log_price: np.ndarray = field(default_factory=lambda: np.zeros(4))
    price: np.ndarray = field(default_factory=lambda: np.ones(4))
    # per-household scratch for the year (applications, last year's income per capita)
    applied_org: np.ndarray | None = None
    application_score: np.ndarray | None = None
    income_pc_last: np.ndarray | None = None
    headcount_last: np.ndarray | None = None

    @property
    def policy_active(self) -> bool:
        return self.year >= self.params.calendar.policy_start_year
