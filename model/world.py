"""The world the yearly processes act on: state arrays, parameters, the year's draws and prices.

Every array a process reads or writes is a declared field of :class:`World` (persistent state)
or of :class:`YearScratch` (per-year hand-offs between processes). Both use slots, so a process
that writes a misspelt or undeclared attribute raises ``AttributeError`` instead of silently
attaching a new array. :func:`build_world` makes a complete world; nothing is attached later.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .draws import YearDraws
from .enums import PRODUCTS
from .params import Params
from .recorder import PanelRecorder
from .state import CountyState, HouseholdState, OrganisationState, VillageState


@dataclass(slots=True)
class YearScratch:
    """Per-household values that live within one year: written by one process, read by a later
    one in the same year (never carried to the next year's decisions)."""

    applied_org: np.ndarray        # int32: organisation applied to, -1 none (decide_participation -> accept_applicants)
    application_score: np.ndarray  # probit index of the application (decide_participation -> accept_applicants)
    labour_lost: np.ndarray        # adult-equivalent workers lost to illness (health_shocks -> produce)
    sales: np.ndarray              # yuan sold through the organisation (produce -> settle_cooperatives, record_enterprise_outcomes)
    disaster_value: np.ndarray     # yuan of output lost to disaster at spot prices (produce -> settle_cooperatives)
    land_offer: np.ndarray         # mu offered for rent to households, mu asked for, and mu let to the
    land_want: np.ndarray          # household's organisation, in full precision (within land_market,
    land_let: np.ndarray           # between its two household parts)
    poor_share: np.ndarray         # residents a household stands for x the share of them who are poor (county_campaign)

    @classmethod
    def empty(cls, n: int) -> "YearScratch":
        return cls(applied_org=np.full(n, -1, dtype=np.int32), application_score=np.zeros(n),
                   labour_lost=np.zeros(n), sales=np.zeros(n), disaster_value=np.zeros(n),
                   land_offer=np.zeros(n), land_want=np.zeros(n), land_let=np.zeros(n), poor_share=np.zeros(n))


@dataclass(slots=True)
class Recorders:
    """Panel buffers the year-end ``record_outcomes`` process writes to."""

    households: PanelRecorder
    counties: PanelRecorder
    organisations: PanelRecorder


@dataclass(slots=True)
class World:
    params: Params
    seed: int
    households: HouseholdState
    villages: VillageState
    counties: CountyState
    organisations: OrganisationState
    scratch: YearScratch
    recorders: Recorders
    # households per county (fixed at construction; for county training slots per household)
    county_households: np.ndarray
    # which active enterprise contracts each (county, product), -1 none (process enterprise_index)
    enterprise_for: np.ndarray
    # last year's total income and income per capita (before year 1: the expected normal income)
    income_last: np.ndarray | None = None
    income_pc_last: np.ndarray | None = None
    # last year's county poverty headcounts (None before the first record)
    headcount_last: np.ndarray | None = None
    year: int = 0
    draws: YearDraws | None = None
    # log price of each product relative to normal (AR(1) state) and this year's price index
    log_price: np.ndarray = None
    price: np.ndarray = None
    # poverty register (processes/registration.py, rule 'assessment'): year each household entered
    # the register (0 never or exited), last year of support continued after exit (0 none)
    register_since: np.ndarray = None
    support_until: np.ndarray = None
    # price multiplier of each (county, product) from contract and cooperative demand (process
    # local_prices, linkage.enabled); ones otherwise
    local_price: np.ndarray = None
    # the model's household blocks (model/parallel.py), for the element-wise parts of world-level
    # processes; None: all households at once
    blocks: object = None

    def __post_init__(self):
        if self.log_price is None:
            self.log_price = np.zeros(len(PRODUCTS))
        if self.price is None:
            self.price = np.ones(len(PRODUCTS))

    @property
    def policy_active(self) -> bool:
        return self.year >= self.params.calendar.policy_start_year

    def over_households(self, fn) -> None:
        """``fn(world, idx)`` over every household: a household-level part of a world-level
        process (element-wise, writes only rows ``idx``), in the model's blocks when it has them."""
        if self.blocks is None:
            fn(self, slice(None))
        else:
            self.blocks.run(fn, self)

    @property
    def record_index(self) -> int:
        """Row of this year in the panel buffers."""
        return self.year - self.params.calendar.start_year


def build_world(params: Params, seed: int, households: HouseholdState, villages: VillageState,
                counties: CountyState, organisations: OrganisationState) -> World:
    """A complete world with empty scratch, panel buffers for the calendar and no income history."""
    c = params.calendar
    n_years = c.end_year - c.start_year + 1
    recorders = Recorders(households=PanelRecorder(households, n_years), counties=PanelRecorder(counties, n_years),
                          organisations=PanelRecorder(organisations, n_years))
    return World(params=params, seed=seed, households=households, villages=villages, counties=counties,
                 organisations=organisations, scratch=YearScratch.empty(households.n), recorders=recorders,
                 county_households=np.bincount(households.county_id, minlength=counties.n),
                 enterprise_for=np.full((counties.n, len(PRODUCTS)), -1, dtype=np.int64),
                 register_since=np.zeros(households.n, dtype=np.int16),
                 support_until=np.zeros(households.n, dtype=np.int16),
                 local_price=np.ones((counties.n, len(PRODUCTS))),
                 # the calendar's first year until the first step (expected income at set-up reads it)
                 year=c.start_year)
